import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { loadBeirDataset, type BeirDataset, type LoadBeirOptions } from './beir.js';
import { Bm25Model, type Bm25Options } from './bm25.js';
import {
  resolveCutoffs,
  scoreRun,
  sparsityMetrics,
  SparsityAccumulator,
  type MetricConventions,
  type MetricCutoffs,
  type SparsityFigures,
} from './metrics.js';
import { SparseRetriever, type RetrievalProgress, type Retriever, type SparseTextEncoder, type VectorSearcher } from './retriever.js';
import { FusionRetriever, type FusionMethod } from './fusion.js';
import { documentText, type Run } from './types.js';

export type EvaluationProgress = RetrievalProgress | { phase: 'fit'; done: number; total: number };

/** A model to evaluate: a sparse encoder (documents are `title + ' ' + text`), or 'bm25' to fit BM25 on the corpus. */
export type EvaluatedModel = SparseTextEncoder | 'bm25';

export interface HybridOptions {
  /** The two (or more) models whose rankings are fused, e.g. `['bm25', spladeEncoder]`. */
  models: readonly EvaluatedModel[];
  /** Default `{ method: 'rrf', k: 60 }`. */
  fusion?: FusionMethod;
  /** Hits taken from each model before fusing. Default max(k, 1000). */
  depth?: number;
}

export interface EvaluateRetrievalOptions {
  /** A loaded BEIR dataset, or where to load one. */
  dataset: BeirDataset | LoadBeirOptions;
  /** What to evaluate; give exactly one of `model`, `hybrid`, `retriever`, `run`. */
  model?: EvaluatedModel;
  /** Hybrid search: several models over their own indexes, rankings fused. */
  hybrid?: HybridOptions;
  /** A ready retriever; sparsity figures are then not reported. */
  retriever?: Retriever;
  /** An existing run (as read by readTrecRun): scored as trec_eval would score it. */
  run?: Run;
  /** BM25 settings wherever 'bm25' is used. Defaults: k1 0.9, b 0.4, english analyzer, Lucene lengths. */
  bm25?: Bm25Options;
  /** Default 'st'. */
  conventions?: MetricConventions;
  /** Default DEFAULT_CUTOFFS. */
  cutoffs?: Partial<MetricCutoffs>;
  /** Smallest relevant grade. Default 1. */
  relevanceThreshold?: number;
  /** Hits retrieved per query. Default: the largest cutoff ('st'), at least 1000 ('trec', as Anserini runs). */
  k?: number;
  /** Texts per encoder call. Default 32. */
  batchSize?: number;
  /** Index for each encoded corpus. Default: a SparseIndex searched exactly (`buildIndexSearcher`). */
  buildSearcher?: (docs: Array<{ id: string; vector: SparseVector }>) => Promise<VectorSearcher>;
  onProgress?: (event: EvaluationProgress) => void;
}

export interface EvaluationResult {
  /** `<metric>@<k>` (lower case) and, when a single model encoded the data, the sparsity figures. */
  metrics: Record<string, number>;
  /** Key of the headline metric: `ndcg@<largest ndcg cutoff>`. */
  primaryMetric: string;
  queriesEvaluated: number;
  corpusSize: number;
  /** The rankings the metrics were computed from (write them with writeTrecRun). */
  run: Run;
  sparsity?: SparsityFigures;
  /** The fitted model when 'bm25' was evaluated (save it next to its index). */
  bm25?: Bm25Model;
}

/** Retrieves (unless given a run) and scores a BEIR dataset's queries. */
export async function evaluateRetrieval(options: EvaluateRetrievalOptions): Promise<EvaluationResult> {
  const given = [options.model, options.hybrid, options.retriever, options.run].filter((x) => x !== undefined).length;
  if (given !== 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'give exactly one of model, hybrid, retriever, run');
  if (options.hybrid !== undefined && options.hybrid.models.length < 2) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'hybrid needs at least two models');
  }
  const dataset = 'corpus' in options.dataset ? options.dataset : await loadBeirDataset(options.dataset);
  const conventions = options.conventions ?? 'st';
  const cutoffs: MetricCutoffs = resolveCutoffs(options.cutoffs);
  const maxCutoff = Math.max(...Object.values(cutoffs).flat());
  const k = options.k ?? (conventions === 'trec' ? Math.max(maxCutoff, 1000) : maxCutoff);

  // A table of zeros would look like a result: no judged query, or an empty run, is an error.
  const threshold = options.relevanceThreshold ?? 1;
  const queryIds = new Set(dataset.queries.map((q) => q.id));
  const judged = [...dataset.qrels].filter(([qid, docs]) => queryIds.has(qid) && [...docs.values()].some((g) => g >= threshold)).length;
  if (judged === 0) {
    throw new SparseEncoderError(
      'ERR_DATASET_MISSING',
      `no query has a relevant judgement (grade >= ${threshold}) in the qrels: they are empty or name no query of queries.jsonl`,
      { details: { queries: dataset.queries.length, qrels: dataset.qrels.size } },
    );
  }
  if (options.run !== undefined && ![...options.run.values()].some((hits) => hits.length > 0)) {
    throw new SparseEncoderError('ERR_INVALID_INPUT', 'the run has no hits for any query: nothing to score');
  }
  let run = options.run;
  let sparsity: SparsityFigures | undefined;
  let bm25: Bm25Model | undefined;
  if (run === undefined) {
    let retriever = options.retriever;
    let accumulator: SparsityAccumulator | undefined;
    const owned: SparseRetriever[] = [];
    try {
      const models = options.model !== undefined ? [options.model] : options.hybrid?.models ?? [];
      for (const model of models) {
        let encoder: SparseTextEncoder;
        if (model === 'bm25') {
          // One BM25 fit serves every 'bm25' entry.
          bm25 ??= await fitBm25(dataset, options);
          encoder = bm25;
        } else {
          encoder = model;
        }
        owned.push(
          await SparseRetriever.create({
            encoder,
            name: model === 'bm25' ? 'bm25' : 'model',
            documents: dataset.corpus.map((d) => ({ id: d.id, text: documentText(d) })),
            documentCount: dataset.corpus.length,
            ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
            ...(options.buildSearcher === undefined ? {} : { buildSearcher: options.buildSearcher }),
            ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
            // Sparsity figures describe one model; a fusion of several has none.
            ...(options.model === undefined
              ? {}
              : {
                  onVectors: (kind: 'query' | 'document', vectors: readonly SparseVector[]) => {
                    if (vectors.length === 0) return;
                    accumulator ??= new SparsityAccumulator(vectors[0]!.dim);
                    if (kind === 'query') accumulator.addQueries(vectors);
                    else accumulator.addDocuments(vectors);
                  },
                }),
          }),
        );
      }
      if (options.model !== undefined) retriever = owned[0];
      if (options.hybrid !== undefined) {
        retriever = new FusionRetriever({
          retrievers: owned,
          ...(options.hybrid.fusion === undefined ? {} : { fusion: options.hybrid.fusion }),
          ...(options.hybrid.depth === undefined ? {} : { depth: options.hybrid.depth }),
        });
      }
      // Like sentence-transformers, 'st' encodes only the queries it will score (they count in the sparsity figures).
      const queries =
        conventions === 'st'
          ? dataset.queries.filter((q) => [...(dataset.qrels.get(q.id)?.values() ?? [])].some((g) => g >= threshold))
          : dataset.queries;
      run = await retriever!.search(queries, {
        k,
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      });
    } finally {
      for (const r of owned) r.dispose();
    }
    sparsity = accumulator?.result();
  }

  const scores = scoreRun(run, dataset.qrels, {
    conventions,
    cutoffs,
    queryIds: dataset.queries.map((q) => q.id),
    ...(options.relevanceThreshold === undefined ? {} : { relevanceThreshold: options.relevanceThreshold }),
  });
  const metrics = sparsity ? { ...scores.metrics, ...sparsityMetrics(sparsity) } : scores.metrics;
  return {
    metrics,
    primaryMetric: scores.primaryMetric,
    queriesEvaluated: scores.queriesEvaluated,
    corpusSize: dataset.corpus.length,
    run,
    ...(sparsity ? { sparsity } : {}),
    ...(bm25 ? { bm25 } : {}),
  };
}

async function fitBm25(dataset: BeirDataset, options: EvaluateRetrievalOptions): Promise<Bm25Model> {
  const total = dataset.corpus.length;
  return Bm25Model.fit(dataset.corpus.map(documentText), {
    ...(options.bm25 ?? {}),
    onProgress: (e) => options.onProgress?.({ phase: 'fit', done: e.done, total }),
  });
}
