import type { SparseVector } from '../sparse/vector.js';

/** The search engines we write ingest and query formats for. */
export type ExportFormat = 'opensearch' | 'elasticsearch' | 'qdrant' | 'vespa' | 'milvus' | 'pgvector';

/** `{token: weight}` as `sparse-encoder encode --tokens` writes it (raw vocabulary strings). */
export type TokenWeights = Readonly<Record<string, number>>;

/** Vocabulary lookup for token-keyed engines: dimension index → token string (`##ing`, `.`). */
export type TokenOf = (index: number) => string;

/** One document to export. */
export interface ExportRecord {
  /** The document id (string or integer). */
  id: string | number;
  /** The document's sparse vector. Index-keyed engines (Qdrant, Milvus) always read this. */
  vector: SparseVector;
  /**
   * Already decoded token weights. When present, token-keyed engines (OpenSearch, Elasticsearch,
   * Vespa) use these instead of `vector` + `tokenOf`. Default: none.
   */
  tokens?: TokenWeights;
  /** Extra document fields (source fields, Qdrant payload, Vespa fields, Milvus columns). Default: none. */
  fields?: Readonly<Record<string, unknown>>;
}

/** A query to turn into an engine's query body: a vector, or already decoded token weights. */
export interface ExportQuery {
  vector: SparseVector;
  /** Used instead of `vector` + `tokenOf` by token-keyed engines. Default: none. */
  tokens?: TokenWeights;
}

/**
 * Something the exporter changed so the engine would accept the data; reported, never silent.
 * - `weights-dropped`: entries the engine rejects (see each engine's rules) were left out.
 * - `tokens-renamed`: tokens containing `.` were rewritten (Elasticsearch `dotReplacement`).
 * - `tokens-merged`: several entries ended up under one key; the largest weight was kept.
 * - `weights-clamped`: query weights above the engine's cap (OpenSearch: 64) were lowered to it.
 * - `query-rescaled`: the whole query was multiplied by one factor so its largest weight is the cap
 *   (the ranking is unchanged; scores are divided by that factor).
 * - `empty-vector`: a document has no entries left (Milvus before 2.4.12 rejects such rows).
 * - `hnsw-unindexable`: more non-zeros than pgvector's HNSW index takes (1,000); exact scans still work.
 */
export interface ExportWarning {
  type: 'weights-dropped' | 'tokens-renamed' | 'tokens-merged' | 'weights-clamped' | 'query-rescaled' | 'empty-vector' | 'hnsw-unindexable';
  /** The document id, or undefined for a query. */
  id: string | number | undefined;
  /** How many entries of this document were affected. */
  count: number;
}

/** One request body's worth of documents. */
export interface ExportBatch {
  /** The request body, ready to send (NDJSON bodies end with a newline). */
  body: string;
  /** The Content-Type to send it with. */
  contentType: 'application/x-ndjson' | 'application/json' | 'text/plain';
  /** Documents in this batch. */
  documents: number;
  /** UTF-8 size of `body` in bytes. */
  bytes: number;
}

/** Batching options shared by every bulk exporter. */
export interface BatchOptions {
  /** Most documents per batch. Default 500. */
  maxDocuments?: number;
  /**
   * Most UTF-8 bytes per batch body. Default 5 MiB (5242880). A document larger than this on its
   * own is emitted alone in its own batch (documents are never split).
   */
  maxBytes?: number;
  /** Called for every change made to fit the engine's rules. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** Records as an array, any iterable, or an async iterable (read lazily, in order). */
export type RecordSource = Iterable<ExportRecord> | AsyncIterable<ExportRecord>;
