import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA } from '../helpers/paths.js';
import { fromPairs, type SparseVector } from '../../src/sparse/vector.js';

const SAMPLES = join(DATA, 'splade-samples');
let vocab: Map<string, number> | undefined;

/** bert-base-uncased token → id (line number − 1), as SOURCE.md specifies. */
export function bertVocab(): Map<string, number> {
  if (vocab) return vocab;
  const lines = readFileSync(join(SAMPLES, 'bert-base-uncased-vocab.txt'), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  vocab = new Map(lines.map((tok, i) => [tok, i]));
  return vocab;
}

export function tokenVector(weights: Record<string, number>): SparseVector {
  const v = bertVocab();
  const idx: number[] = [];
  const val: number[] = [];
  for (const [tok, w] of Object.entries(weights)) {
    const id = v.get(tok);
    if (id === undefined) throw new Error(`token ${tok} not in vocabulary`);
    idx.push(id);
    val.push(w);
  }
  return fromPairs(idx, val, v.size);
}

export interface ToyItem {
  id: string;
  content: string;
  vector: SparseVector;
}

function readJsonl(path: string): Array<{ id: number; content: string; vector: Record<string, number> }> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** Seismic's toy set: 20 MS MARCO passages (one with an empty vector) and 5 queries. */
export function toySet(): { docs: ToyItem[]; queries: ToyItem[] } {
  const load = (name: string): ToyItem[] =>
    readJsonl(join(SAMPLES, 'seismic-toy', name)).map((r) => ({ id: String(r.id), content: r.content, vector: tokenVector(r.vector) }));
  return { docs: load('documents.jsonl'), queries: load('queries.jsonl') };
}
