// Loaders for the real SPLADE samples in ../shared/data/splade-samples (see its SOURCE.md).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromPairs, type SparseVector } from '../src/sparse/vector.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const SAMPLES = join(repoRoot(), '..', 'shared', 'data', 'splade-samples');

export function loadVocab(): string[] {
  const lines = readFileSync(join(SAMPLES, 'bert-base-uncased-vocab.txt'), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface NamedVector {
  id: string;
  vector: SparseVector;
}

/**
 * Reads a `{"_id"|"id": ..., "vector": {token: weight}}` JSONL file, dividing weights by `scale`
 * (Anserini stores round(scale × weight) integers).
 */
export function loadTokenVectors(relPath: string, scale: number, vocab: string[]): NamedVector[] {
  const ids = new Map(vocab.map((t, i) => [t, i]));
  const out: NamedVector[] = [];
  for (const line of readFileSync(join(SAMPLES, relPath), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as { _id?: string | number; id?: string | number; vector: Record<string, number> };
    const idx: number[] = [];
    const val: number[] = [];
    for (const [tok, w] of Object.entries(r.vector)) {
      const t = ids.get(tok);
      if (t === undefined) throw new Error(`${relPath}: token '${tok}' not in the vocabulary`);
      idx.push(t);
      val.push(w / scale);
    }
    out.push({ id: String(r._id ?? r.id), vector: fromPairs(idx, val, vocab.length) });
  }
  return out;
}
