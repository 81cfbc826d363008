import { mulberry32 } from '../../src/inverted-index/cluster.js';
import type { IndexDocument } from '../../src/inverted-index/types.js';
import { fromPairs, type SparseVector } from '../../src/sparse/vector.js';

export const RANDOM_DIM = 5000;

/** Deterministic documents `d<from>` .. `d<from + count - 1>`: 20–80 skewed terms, weights 0.1–1.1, a stored field. */
export function randomDocs(from: number, count: number, seed = 7): IndexDocument[] {
  const docs: IndexDocument[] = [];
  for (let i = from; i < from + count; i++) {
    const rand = mulberry32(seed * 1_000_003 + i);
    const idx = new Set<number>();
    const len = 20 + Math.floor(60 * rand());
    for (let j = 0; j < len; j++) idx.add(Math.floor(RANDOM_DIM * rand() ** 2));
    const indices = [...idx];
    docs.push({ id: `d${i}`, vector: fromPairs(indices, indices.map(() => 0.1 + rand()), RANDOM_DIM), fields: { n: i } });
  }
  return docs;
}

export function randomQueries(count: number, seed = 99): SparseVector[] {
  const out: SparseVector[] = [];
  for (let i = 0; i < count; i++) {
    const rand = mulberry32(seed * 7919 + i);
    const idx = new Set<number>();
    for (let j = 0; j < 12; j++) idx.add(Math.floor(RANDOM_DIM * rand() ** 2));
    const indices = [...idx];
    out.push(fromPairs(indices, indices.map(() => 0.2 + rand()), RANDOM_DIM));
  }
  return out;
}
