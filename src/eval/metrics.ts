import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import type { Qrels, RankedHit, Run } from './types.js';

/**
 * Which definitions to use.
 * - `st`: sentence-transformers' `SparseInformationRetrievalEvaluator` (binary gains, queries
 *   without a relevant document dropped, MAP@k over min(k, |relevant|), ties kept in run order).
 * - `trec`: trec_eval with `-c` (graded gains for nDCG as `ndcg_cut`, every qrels query counted,
 *   `map_cut`/`recall`/`P`/`success` cut at k, run re-sorted by score then docno descending).
 */
export type MetricConventions = 'st' | 'trec';

/** The cutoffs each metric is reported at. */
export interface MetricCutoffs {
  accuracyAtK: readonly number[];
  precisionRecallAtK: readonly number[];
  mrrAtK: readonly number[];
  ndcgAtK: readonly number[];
  mapAtK: readonly number[];
}

/** ST's defaults, with recall/precision@100 added because BEIR reports R@100. */
export const DEFAULT_CUTOFFS: MetricCutoffs = {
  accuracyAtK: [1, 3, 5, 10],
  precisionRecallAtK: [1, 3, 5, 10, 100],
  mrrAtK: [10],
  ndcgAtK: [10],
  mapAtK: [100],
};

export interface ScoreRunOptions {
  /** Definitions to use. Default 'st'. */
  conventions?: MetricConventions;
  /** Cutoffs; missing lists fall back to DEFAULT_CUTOFFS. */
  cutoffs?: Partial<MetricCutoffs>;
  /** Smallest grade that counts as relevant (trec_eval's `-l`). Default 1; 0 makes every qrels row relevant. */
  relevanceThreshold?: number;
  /**
   * trec only: evaluate every query of the qrels, a query missing from the run scoring 0
   * (trec_eval `-c`). When false, only queries present in both. Default true.
   */
  complete?: boolean;
  /** trec only: keep at most this many hits per query after sorting (trec_eval `-M`). Default: all. */
  maxHitsPerQuery?: number;
  /** Evaluate queries in this order (default: the qrels' order). Ids without qrels are skipped. */
  queryIds?: readonly string[];
}

export interface RunScores {
  /** Flat `<metric>@<k>` → value, averaged over `queriesEvaluated` queries (0 when there are none). */
  metrics: Record<string, number>;
  /** `ndcg@<largest ndcg cutoff>`, as sentence-transformers picks its primary metric. */
  primaryMetric: string;
  queriesEvaluated: number;
  /** The same metrics per evaluated query, in evaluation order. */
  perQuery: Map<string, Record<string, number>>;
}

/** Scores a run against qrels. Pure: no I/O, no retrieval. */
export function scoreRun(run: Run, qrels: Qrels, options: ScoreRunOptions = {}): RunScores {
  const conventions = options.conventions ?? 'st';
  if (conventions !== 'st' && conventions !== 'trec') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `conventions must be 'st' or 'trec', got '${String(conventions)}'`);
  }
  const cutoffs = resolveCutoffs(options.cutoffs);
  const threshold = options.relevanceThreshold ?? 1;
  const complete = options.complete ?? true;
  const maxHits = options.maxHitsPerQuery;
  if (maxHits !== undefined && (!Number.isInteger(maxHits) || maxHits < 1)) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `maxHitsPerQuery must be a positive integer, got ${maxHits}`);
  }

  const perQuery = new Map<string, Record<string, number>>();
  const ids = options.queryIds ?? [...qrels.keys()];
  for (const qid of ids) {
    const judged = qrels.get(qid);
    if (judged === undefined || perQuery.has(qid)) continue;
    const relevant = new Set<string>();
    for (const [doc, grade] of judged) if (grade >= threshold) relevant.add(doc);
    const hits = run.get(qid);
    if (conventions === 'st') {
      if (relevant.size === 0) continue;
      perQuery.set(qid, stQueryMetrics(stableByScore(hits ?? []), relevant, cutoffs));
    } else {
      if (hits === undefined && !complete) continue;
      let ranked = trecOrder(hits ?? []);
      if (maxHits !== undefined) ranked = ranked.slice(0, maxHits);
      perQuery.set(qid, trecQueryMetrics(ranked, relevant, judged, cutoffs));
    }
  }

  const names = metricNames(cutoffs, conventions);
  const metrics: Record<string, number> = {};
  for (const name of names) {
    let sum = 0;
    for (const m of perQuery.values()) sum += m[name]!;
    metrics[name] = perQuery.size === 0 ? 0 : sum / perQuery.size;
  }
  return { metrics, primaryMetric: `ndcg@${Math.max(...cutoffs.ndcgAtK)}`, queriesEvaluated: perQuery.size, perQuery };
}

/** DEFAULT_CUTOFFS overridden by `partial`, validated (ERR_INVALID_ARGUMENT). */
export function resolveCutoffs(partial: Partial<MetricCutoffs> | undefined): MetricCutoffs {
  const out = { ...DEFAULT_CUTOFFS, ...(partial ?? {}) };
  for (const [key, list] of Object.entries(out)) {
    if (!Array.isArray(list) || list.length === 0 || list.some((k) => !Number.isInteger(k) || k < 1)) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `cutoffs.${key} must be a non-empty list of positive integers`);
    }
  }
  return out;
}

/** Metric keys in the order sentence-transformers returns them. */
export function metricNames(cutoffs: MetricCutoffs, conventions: MetricConventions): string[] {
  const names = [
    ...cutoffs.accuracyAtK.map((k) => `accuracy@${k}`),
    ...cutoffs.precisionRecallAtK.map((k) => `precision@${k}`),
    ...cutoffs.precisionRecallAtK.map((k) => `recall@${k}`),
    ...cutoffs.ndcgAtK.map((k) => `ndcg@${k}`),
    ...cutoffs.mrrAtK.map((k) => `mrr@${k}`),
    ...cutoffs.mapAtK.map((k) => `map@${k}`),
  ];
  if (conventions === 'trec') names.push('recip_rank', 'map');
  return [...new Set(names)];
}

/** ST sorts with Python's stable `sorted(key=score, reverse=True)`: equal scores keep the given order. */
function stableByScore(hits: readonly RankedHit[]): RankedHit[] {
  return hits
    .map((h, i) => ({ h, i }))
    .sort((a, b) => b.h.score - a.h.score || a.i - b.i)
    .map((x) => x.h);
}

/** trec_eval's order: score descending, then docno descending (strcmp), whatever the file's ranks say. */
export function trecOrder(hits: readonly RankedHit[]): RankedHit[] {
  return [...hits].sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function stQueryMetrics(ranked: readonly RankedHit[], relevant: ReadonlySet<string>, c: MetricCutoffs): Record<string, number> {
  const isRel = ranked.map((h) => relevant.has(h.id));
  const out: Record<string, number> = {};
  for (const k of c.accuracyAtK) out[`accuracy@${k}`] = hitsAt(isRel, k) > 0 ? 1 : 0;
  for (const k of c.precisionRecallAtK) {
    const hits = hitsAt(isRel, k);
    out[`precision@${k}`] = hits / k;
    out[`recall@${k}`] = hits / relevant.size;
  }
  for (const k of c.ndcgAtK) {
    let dcg = 0;
    for (let i = 0; i < Math.min(k, isRel.length); i++) if (isRel[i]) dcg += 1 / Math.log2(i + 2);
    let idcg = 0;
    for (let i = 0; i < Math.min(k, relevant.size); i++) idcg += 1 / Math.log2(i + 2);
    out[`ndcg@${k}`] = dcg / idcg;
  }
  for (const k of c.mrrAtK) out[`mrr@${k}`] = reciprocalRank(isRel, k);
  for (const k of c.mapAtK) out[`map@${k}`] = sumPrecisions(isRel, k) / Math.min(k, relevant.size);
  return out;
}

function trecQueryMetrics(
  ranked: readonly RankedHit[],
  relevant: ReadonlySet<string>,
  judged: ReadonlyMap<string, number>,
  c: MetricCutoffs,
): Record<string, number> {
  const isRel = ranked.map((h) => relevant.has(h.id));
  const numRel = relevant.size;
  const out: Record<string, number> = {};
  for (const k of c.accuracyAtK) out[`accuracy@${k}`] = hitsAt(isRel, k) > 0 ? 1 : 0;
  for (const k of c.precisionRecallAtK) {
    const hits = hitsAt(isRel, k);
    out[`precision@${k}`] = hits / k;
    out[`recall@${k}`] = numRel === 0 ? 0 : hits / numRel;
  }
  // ndcg_cut: gain = grade (grades <= 0 gain nothing); ideal = the best judged grades.
  const ideal = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  for (const k of c.ndcgAtK) {
    let dcg = 0;
    for (let i = 0; i < Math.min(k, ranked.length); i++) {
      const g = judged.get(ranked[i]!.id) ?? 0;
      if (g > 0) dcg += g / Math.log2(i + 2);
    }
    let idcg = 0;
    for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += ideal[i]! / Math.log2(i + 2);
    out[`ndcg@${k}`] = idcg > 0 ? dcg / idcg : 0;
  }
  for (const k of c.mrrAtK) out[`mrr@${k}`] = reciprocalRank(isRel, k);
  for (const k of c.mapAtK) out[`map@${k}`] = numRel === 0 ? 0 : sumPrecisions(isRel, k) / numRel;
  out['recip_rank'] = reciprocalRank(isRel, isRel.length);
  out['map'] = numRel === 0 ? 0 : sumPrecisions(isRel, isRel.length) / numRel;
  return out;
}

function hitsAt(isRel: readonly boolean[], k: number): number {
  let n = 0;
  for (let i = 0; i < Math.min(k, isRel.length); i++) if (isRel[i]) n++;
  return n;
}

function reciprocalRank(isRel: readonly boolean[], k: number): number {
  for (let i = 0; i < Math.min(k, isRel.length); i++) if (isRel[i]) return 1 / (i + 1);
  return 0;
}

function sumPrecisions(isRel: readonly boolean[], k: number): number {
  let found = 0, sum = 0;
  for (let i = 0; i < Math.min(k, isRel.length); i++) {
    if (isRel[i]) sum += ++found / (i + 1);
  }
  return sum;
}

/** The sparsity figures sentence-transformers reports next to the retrieval metrics. */
export interface SparsityFigures {
  /** Mean non-zeros per query vector. */
  queryActiveDims: number;
  /** 1 - queryActiveDims / dim. */
  querySparsityRatio: number;
  corpusActiveDims: number;
  corpusSparsityRatio: number;
  /** Expected multiply-adds of a query-document dot product: Σ_j P(q_j ≠ 0) · P(d_j ≠ 0). */
  avgFlops: number;
}

/**
 * Accumulates per-dimension non-zero counts for queries and documents, in batches.
 * Like sentence-transformers, means and FLOPS are rounded to float32 (its tensors are float32);
 * they are computed in float64 first, so the corpus mean does not depend on batch sizes (ST's does,
 * by float32 rounding only).
 */
export class SparsityAccumulator {
  private readonly queryCounts: Float64Array;
  private readonly docCounts: Float64Array;
  private queries = 0;
  private docs = 0;
  private queryNnz = 0;
  private docNnz = 0;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `dim must be a positive integer, got ${dim}`);
    this.queryCounts = new Float64Array(dim);
    this.docCounts = new Float64Array(dim);
  }

  addQueries(vectors: Iterable<SparseVector>): void {
    for (const v of vectors) {
      this.queries++;
      this.queryNnz += countInto(this.queryCounts, v, this.dim);
    }
  }

  addDocuments(vectors: Iterable<SparseVector>): void {
    for (const v of vectors) {
      this.docs++;
      this.docNnz += countInto(this.docCounts, v, this.dim);
    }
  }

  result(): SparsityFigures {
    const q = this.queries === 0 ? 0 : Math.fround(this.queryNnz / this.queries);
    const d = this.docs === 0 ? 0 : Math.fround(this.docNnz / this.docs);
    let flops = 0;
    if (this.queries > 0 && this.docs > 0) {
      for (let j = 0; j < this.dim; j++) flops += (this.queryCounts[j]! / this.queries) * (this.docCounts[j]! / this.docs);
    }
    return {
      queryActiveDims: q,
      querySparsityRatio: 1 - q / this.dim,
      corpusActiveDims: d,
      corpusSparsityRatio: 1 - d / this.dim,
      avgFlops: Math.fround(flops),
    };
  }
}

function countInto(counts: Float64Array, v: SparseVector, dim: number): number {
  if (v.dim !== dim) throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `vector has dim ${v.dim}, expected ${dim}`);
  let nnz = 0;
  for (let i = 0; i < v.indices.length; i++) {
    if (v.values[i] !== 0) {
      counts[v.indices[i]!]++;
      nnz++;
    }
  }
  return nnz;
}

/** Flat keys for the sparsity figures, as in the CLI's JSON output. */
export function sparsityMetrics(s: SparsityFigures): Record<string, number> {
  return {
    query_active_dims: s.queryActiveDims,
    query_sparsity_ratio: s.querySparsityRatio,
    corpus_active_dims: s.corpusActiveDims,
    corpus_sparsity_ratio: s.corpusSparsityRatio,
    avg_flops: s.avgFlops,
  };
}

/**
 * Renames flat metrics to sentence-transformers' keys (`<name>_dot_ndcg@10`, `<name>_query_active_dims`),
 * for comparing with numbers printed by the Python evaluator.
 */
export function toSentenceTransformersKeys(metrics: Record<string, number>, name: string, similarity = 'dot'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) {
    const sparsity = key.includes('active_dims') || key.includes('sparsity_ratio') || key === 'avg_flops';
    out[sparsity ? `${name}_${key}` : `${name}_${similarity}_${key}`] = value;
  }
  return out;
}
