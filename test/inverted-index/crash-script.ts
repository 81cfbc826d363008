import type { IndexDocument } from '../../src/inverted-index/types.js';
import { randomDocs } from './random-docs.js';

export interface CrashPhase {
  phase: number;
  deletes: string[];
  adds: IndexDocument[];
  merge: boolean;
}

/** The crash tests' script: commit p applies phases 1..p. Deterministic. */
export function crashPhases(count = 6): CrashPhase[] {
  const out: CrashPhase[] = [];
  for (let p = 1; p <= count; p++) {
    const from = (p - 1) * 500;
    const deletes: string[] = [];
    if (p > 1) for (let i = (p - 2) * 500; i < from; i += p) deletes.push(`d${i}`);
    out.push({ phase: p, deletes, adds: randomDocs(from, 500), merge: p % 3 === 0 });
  }
  return out;
}

/** Live documents, in insertion order, after commit `p`. */
export function liveAfter(p: number): IndexDocument[] {
  const live = new Map<string, IndexDocument>();
  for (const ph of crashPhases().slice(0, p)) {
    for (const id of ph.deletes) live.delete(id);
    for (const d of ph.adds) live.set(d.id, d);
  }
  return [...live.values()];
}
