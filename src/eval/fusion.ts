import { SparseEncoderError } from '../errors.js';
import { checkK, type Retriever, type RetrieverSearchOptions } from './retriever.js';
import type { EvalQuery, RankedHit, Run } from './types.js';

export interface RrfOptions {
  /** The rank constant of Cormack et al. (2009). Default 60. */
  k?: number;
  /** Per-run weights multiplying 1 / (k + rank). Default all 1. */
  weights?: readonly number[];
}

/**
 * Reciprocal rank fusion: score(d) = Σ_runs weight / (k + rank(d)), ranks 1-based, a document
 * missing from a run contributes nothing there. Ties: the document seen first (run order, then rank) wins.
 */
export function reciprocalRankFusion(runs: readonly Run[], options: RrfOptions = {}): Run {
  const k = options.k ?? 60;
  if (!Number.isFinite(k) || k < 0) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `RRF k must be a finite number >= 0, got ${k}`);
  const weights = checkWeights(options.weights ?? runs.map(() => 1), runs.length);
  return fuse(runs, (hits, r) => hits.map((h, i) => weights[r]! / (k + i + 1)));
}

export interface WeightedFusionOptions {
  /** One weight per run. Default equal weights summing to 1. */
  weights?: readonly number[];
  /**
   * Per-query score normalisation before weighting: 'min-max' maps each run's scores to [0, 1]
   * (a run with one distinct score maps it to 1); 'none' uses raw scores. Default 'min-max'.
   */
  normalization?: 'min-max' | 'none';
}

/** Weighted score fusion: score(d) = Σ_runs weight · norm(score_run(d)), 0 where a run lacks d. */
export function weightedScoreFusion(runs: readonly Run[], options: WeightedFusionOptions = {}): Run {
  const weights = checkWeights(options.weights ?? runs.map(() => 1 / runs.length), runs.length);
  const normalization = options.normalization ?? 'min-max';
  if (normalization !== 'min-max' && normalization !== 'none') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `normalization must be 'min-max' or 'none', got '${String(normalization)}'`);
  }
  return fuse(runs, (hits, r) => {
    if (normalization === 'none' || hits.length === 0) return hits.map((h) => weights[r]! * h.score);
    let min = Infinity, max = -Infinity;
    for (const h of hits) {
      min = Math.min(min, h.score);
      max = Math.max(max, h.score);
    }
    return hits.map((h) => weights[r]! * (max > min ? (h.score - min) / (max - min) : 1));
  });
}

function fuse(runs: readonly Run[], contributions: (hits: readonly RankedHit[], run: number) => number[]): Run {
  if (runs.length === 0) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'fusion needs at least one run');
  const queryIds: string[] = [];
  const seenQuery = new Set<string>();
  for (const run of runs) for (const q of run.keys()) if (!seenQuery.has(q)) (seenQuery.add(q), queryIds.push(q));
  const out: Run = new Map();
  for (const qid of queryIds) {
    const scores = new Map<string, { score: number; first: number }>();
    runs.forEach((run, r) => {
      const hits = run.get(qid) ?? [];
      const add = contributions(hits, r);
      hits.forEach((h, i) => {
        const cur = scores.get(h.id);
        if (cur) cur.score += add[i]!;
        else scores.set(h.id, { score: add[i]!, first: scores.size });
      });
    });
    out.set(
      qid,
      [...scores.entries()].sort((a, b) => b[1].score - a[1].score || a[1].first - b[1].first).map(([id, s]) => ({ id, score: s.score })),
    );
  }
  return out;
}

function checkWeights(weights: readonly number[], n: number): readonly number[] {
  if (weights.length !== n) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `expected ${n} fusion weights, got ${weights.length}`);
  if (weights.some((w) => typeof w !== 'number' || !Number.isFinite(w))) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'fusion weights must be finite numbers');
  }
  return weights;
}

export type FusionMethod = { method: 'rrf'; k?: number; weights?: readonly number[] } | ({ method: 'weighted' } & WeightedFusionOptions);

export interface FusionRetrieverOptions {
  retrievers: readonly Retriever[];
  /** Default `{ method: 'rrf', k: 60 }`. */
  fusion?: FusionMethod;
  /** Hits taken from each retriever before fusing. Default max(k, 1000). */
  depth?: number;
}

/** Hybrid search: runs every retriever, fuses their rankings, keeps the top k. */
export class FusionRetriever implements Retriever {
  readonly name: string;
  private readonly retrievers: readonly Retriever[];
  private readonly fusion: FusionMethod;
  private readonly depth: number | undefined;

  constructor(options: FusionRetrieverOptions) {
    if (options.retrievers.length < 2) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'fusion needs at least two retrievers');
    this.retrievers = options.retrievers;
    this.fusion = options.fusion ?? { method: 'rrf' };
    if (this.fusion.method !== 'rrf' && this.fusion.method !== 'weighted') {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `fusion method must be 'rrf' or 'weighted', got '${String((this.fusion as { method: unknown }).method)}'`);
    }
    this.depth = options.depth === undefined ? undefined : checkK(options.depth);
    this.name = `${this.fusion.method}(${this.retrievers.map((r) => r.name).join(', ')})`;
  }

  async search(queries: readonly EvalQuery[], options: RetrieverSearchOptions): Promise<Run> {
    const k = checkK(options.k);
    const depth = this.depth ?? Math.max(k, 1000);
    const runs: Run[] = [];
    for (const r of this.retrievers) runs.push(await r.search(queries, { ...options, k: depth }));
    const fused = this.fusion.method === 'rrf' ? reciprocalRankFusion(runs, this.fusion) : weightedScoreFusion(runs, this.fusion);
    for (const [qid, hits] of fused) fused.set(qid, hits.slice(0, k));
    return fused;
  }
}
