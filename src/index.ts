/**
 * The public surface of sparse-encoder. Explicit named exports only; anything not listed here is internal.
 */
export { SparseEncoderError, isSparseEncoderError, ERROR_CODES } from './errors.js';
export type { ErrorCode, SparseEncoderErrorOptions } from './errors.js';
export type { SparseVector } from './sparse/vector.js';
export { cosine, dot, emptyVector, fromDense, fromPairs, intersection, norm, toDense, topEntries, topKByMagnitude } from './sparse/vector.js';
export { resolveModel } from './hub/resolve.js';
export type { ModelBackend, ResolvedModel, ResolveModelOptions, ResolveProgressEvent } from './hub/types.js';
export { SparseEncoder } from './encoder/sparse-encoder.js';
export type {
  EncodeOptions,
  EncodeProgressEvent,
  EncodeStreamOptions,
  EncodeTask,
  ModelInfo,
  SimilarityFnName,
  SparseEncoderLoadOptions,
  SparsityStats,
  TokenizedText,
} from './encoder/sparse-encoder.js';
// eval/: datasets, metrics, BM25, fusion, evaluator
export { documentText } from './eval/types.js';
export type { CorpusDocument, EvalQuery, Qrels, RankedHit, Run } from './eval/types.js';
export { beirPaths, loadBeirDataset, readBeirCorpus, readBeirQrels, readBeirQueries } from './eval/beir.js';
export type { BeirDataset, LoadBeirOptions, QrelsRow } from './eval/beir.js';
export { readTrecQrels, readTrecRun, readTrecTopics, writeTrecRun } from './eval/trec.js';
export type { WriteTrecRunOptions } from './eval/trec.js';
export { DEFAULT_CUTOFFS, resolveCutoffs, scoreRun, SparsityAccumulator, sparsityMetrics, toSentenceTransformersKeys, trecOrder } from './eval/metrics.js';
export type { MetricConventions, MetricCutoffs, RunScores, ScoreRunOptions, SparsityFigures } from './eval/metrics.js';
export { EnglishAnalyzer, ENGLISH_STOP_WORDS, standardTokenize } from './eval/analyzer.js';
export type { Analyzer, EnglishAnalyzerOptions } from './eval/analyzer.js';
export { Bm25Model, luceneNormLength } from './eval/bm25.js';
export type { Bm25FitOptions, Bm25FitProgress, Bm25Options, Bm25State, LengthEncoding } from './eval/bm25.js';
export { BruteForceSearcher, buildIndexSearcher, SparseRetriever } from './eval/retriever.js';
export type { RetrievalProgress, Retriever, RetrieverSearchOptions, SparseRetrieverOptions, SparseTextEncoder, VectorSearcher } from './eval/retriever.js';
export { FusionRetriever, reciprocalRankFusion, weightedScoreFusion } from './eval/fusion.js';
export type { FusionMethod, FusionRetrieverOptions, RrfOptions, WeightedFusionOptions } from './eval/fusion.js';
export { evaluateRetrieval } from './eval/evaluate.js';
export type { EvaluatedModel, EvaluateRetrievalOptions, EvaluationProgress, EvaluationResult, HybridOptions } from './eval/evaluate.js';
