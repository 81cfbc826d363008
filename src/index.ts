/**
 * The public surface of sparse-encoder. Explicit named exports only; anything not listed here is internal.
 */
export { SparseEncoderError, isSparseEncoderError, ERROR_CODES } from './errors.js';
export type { ErrorCode, SparseEncoderErrorOptions } from './errors.js';
export type { SparseVector } from './sparse/vector.js';
export { cosine, dot, emptyVector, fromDense, fromPairs, intersection, norm, toDense, topEntries, topKByMagnitude } from './sparse/vector.js';
export { resolveModel } from './hub/resolve.js';
export type { AbortSignalLike, FetchLike, ModelBackend, ResolvedModel, ResolveModelOptions, ResolveProgressEvent } from './hub/types.js';
export { SparseEncoder } from './encoder/sparse-encoder.js';
export { StaticQueryEncoder, type StaticQueryFiles } from './encoder/static-query-encoder.js';
export type {
  BatchStats,
  EncodeOptions,
  EncodeProgressEvent,
  EncodeStreamOptions,
  EncodeTask,
  ExplainedTerm,
  ExplainedText,
  Explanation,
  LoadProgressEvent,
  ModelInfo,
  PreparedTexts,
  Precision,
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
export { DEFAULT_CUTOFFS, scoreRun, SparsityAccumulator, sparsityMetrics, toSentenceTransformersKeys } from './eval/metrics.js';
export type { MetricConventions, MetricCutoffs, RunScores, ScoreRunOptions, SparsityFigures } from './eval/metrics.js';
export { EnglishAnalyzer, ENGLISH_STOP_WORDS, standardTokenize } from './eval/analyzer.js';
export type { Analyzer, EnglishAnalyzerOptions } from './eval/analyzer.js';
export { Bm25Model } from './eval/bm25.js';
export type { Bm25FitOptions, Bm25FitProgress, Bm25Options, Bm25State, LengthEncoding } from './eval/bm25.js';
export { SparseRetriever } from './eval/retriever.js';
export type { RetrievalProgress, Retriever, RetrieverSearchOptions, SparseRetrieverOptions, SparseTextEncoder, VectorSearcher } from './eval/retriever.js';
export { FusionRetriever, reciprocalRankFusion, weightedScoreFusion } from './eval/fusion.js';
export type { FusionMethod, FusionRetrieverOptions, RrfOptions, WeightedFusionOptions } from './eval/fusion.js';
export { evaluateRetrieval } from './eval/evaluate.js';
export type { EvaluatedModel, EvaluateRetrievalOptions, EvaluationProgress, EvaluationResult, HybridOptions } from './eval/evaluate.js';
export { SparseIndex } from './inverted-index/sparse-index.js';
export { SegmentedIndex } from './inverted-index/segmented-index.js';
export type { SegmentedIndexOptions, SegmentInfo } from './inverted-index/segmented-index.js';
export type { BlockBuildOptions, IndexBuildOptions, IndexDocument, IndexInfo, IndexOpenOptions, IndexProgressEvent, SearchHit, SearchOptions, WeightStorage } from './inverted-index/types.js';
// export/: bulk-ingest, query and schema bodies for OpenSearch, Elasticsearch, Qdrant, Vespa, Milvus, pgvector
export {
  OPENSEARCH_MAX_QUERY_WEIGHT,
  elasticsearchBulk,
  elasticsearchDocument,
  elasticsearchQuery,
  luceneStoredWeight,
  openSearchBulk,
  openSearchDocument,
  openSearchQuery,
} from './export/lucene-engines.js';
export type {
  ElasticsearchDocumentOptions,
  ElasticsearchExportOptions,
  ElasticsearchPruningConfig,
  ElasticsearchQueryBody,
  ElasticsearchQueryOptions,
  OpenSearchDocumentOptions,
  OpenSearchExportOptions,
  OpenSearchFieldType,
  OpenSearchQueryBody,
  OpenSearchQueryOptions,
  SeismicQueryParameters,
} from './export/lucene-engines.js';
export { qdrantPoint, qdrantPointId, qdrantQuery, qdrantUpsert } from './export/qdrant.js';
export type { QdrantExportOptions, QdrantPoint, QdrantPointOptions, QdrantQueryBody, QdrantQueryOptions } from './export/qdrant.js';
export { vespaDocumentId, vespaFeed, vespaPut, vespaQuery } from './export/vespa.js';
export type { VespaExportOptions, VespaPut, VespaPutOptions, VespaQueryOptions } from './export/vespa.js';
export { milvusInsert, milvusQuery, milvusRow } from './export/milvus.js';
export type { MilvusExportOptions, MilvusQueryOptions, MilvusRowOptions } from './export/milvus.js';
export { PGVECTOR_HNSW_MAX_NNZ, PGVECTOR_MAX_DIM, PGVECTOR_MAX_NNZ, pgvectorCopy, pgvectorLiteral, pgvectorQuery, pgvectorRow, pgvectorSchema } from './export/pgvector.js';
export type { PgvectorCopyOptions, PgvectorQueryOptions, PgvectorSchemaOptions } from './export/pgvector.js';
export { engineSchema, formatSchema } from './export/schemas.js';
export type { EngineSchema, EngineSchemaOptions, SeismicIndexParameters } from './export/schemas.js';
export { uuidV5, UUID_NAMESPACE_URL } from './export/uuid.js';
export type { BatchOptions, ExportBatch, ExportFormat, ExportQuery, ExportRecord, ExportWarning, RecordSource, TokenOf, TokenWeights } from './export/types.js';
// server/: the HTTP server behind `sparse-encoder serve`
export { startServer } from './server/server.js';
export type { ServerLogEvent, ServerOptions, SparseServer } from './server/types.js';
