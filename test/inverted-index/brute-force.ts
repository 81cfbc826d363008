import assert from 'node:assert/strict';
import { dot, type SparseVector } from '../../src/sparse/vector.js';

export interface RefDoc {
  id: string;
  vector: SparseVector;
}

/**
 * The reference: score every document with the merge-based `dot` (float64), keep those sharing a
 * term with the query, sort by score then insertion order.
 */
export function bruteForce(docs: RefDoc[], q: SparseVector, k: number, skip?: Set<string>): Array<{ id: string; score: number }> {
  const qset = new Set(q.indices);
  const scored: Array<{ id: string; score: number; ord: number }> = [];
  docs.forEach((d, ord) => {
    if (skip?.has(d.id)) return;
    let shares = false;
    for (let i = 0; i < d.vector.indices.length; i++) {
      if (qset.has(d.vector.indices[i]!) && d.vector.values[i] !== 0) {
        const j = q.indices.indexOf(d.vector.indices[i]!);
        if (q.values[j] !== 0) shares = true;
      }
    }
    if (shares) scored.push({ id: d.id, score: dot(d.vector, q), ord });
  });
  scored.sort((a, b) => b.score - a.score || a.ord - b.ord);
  return scored.slice(0, k).map(({ id, score }) => ({ id, score }));
}

/**
 * Same length; at every rank the scores agree within `tol` (relative); ids agree except where
 * the reference has a near-tie there (scores within tol), which summation order may flip.
 */
export function assertSameRanking(got: Array<{ id: string; score: number }>, want: Array<{ id: string; score: number }>, tol = 1e-9, label = ''): void {
  assert.equal(got.length, want.length, `${label}: ${got.length} hits, expected ${want.length}`);
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
  for (let i = 0; i < want.length; i++) {
    assert.ok(close(got[i]!.score, want[i]!.score), `${label} rank ${i}: score ${got[i]!.score} vs ${want[i]!.score}`);
    if (got[i]!.id !== want[i]!.id) {
      const tied = want.some((w, j) => j !== i && w.id === got[i]!.id && close(w.score, want[i]!.score));
      assert.ok(tied, `${label} rank ${i}: id ${got[i]!.id} vs ${want[i]!.id} (score ${want[i]!.score})`);
    }
  }
}
