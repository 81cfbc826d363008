import type { ErrorCode } from '../errors.js';
import type { SimilarityFnName } from '../encoder/sparse-encoder.js';
import type { ApproximateSettings } from '../inverted-index/search-settings.js';
import type { IndexInfo, SearchHit } from '../inverted-index/types.js';

/**
 * Messages between the server and its encode worker processes. Everything here crosses the IPC
 * channel with the structured-clone ("advanced") serialization, so it is plain data (typed arrays
 * included).
 */

/** What a worker needs to load its own SparseEncoder (passed as its first argument, JSON). */
export interface WorkerConfig {
  model: string;
  threads: number;
  revision?: string;
  localFilesOnly?: boolean;
  /** Model weight precision (`SparseEncoder.fromPretrained`'s `quantize`). */
  quantize?: 'none' | 'int8';
  int8VocabProjection?: boolean;
  /** `SparseEncoder.fromPretrained`'s `spinning`. */
  spinning?: boolean;
}

/** What /info reports about the model; sent by a worker once it has loaded. */
export interface ServedModelInfo {
  /** The id or path the server was started with. */
  id: string;
  /** The local folder the files were read from. */
  folder: string;
  dim: number;
  maxSeqLength: number | null;
  similarityFn: SimilarityFnName;
  prompts: Record<string, string>;
  defaultPromptName: string | null;
  /** True for Router models (e.g. inference-free SPLADE): queries and documents take different branches. */
  router: boolean;
  modules: string;
  /** Weights of the transformer graphs (`fp32`, `int8`, `int8+fp32-vocab`). */
  precision: string;
  routes: string[];
  /** Queries are a table lookup (inference-free models): no transformer run, so they skip the queue. */
  staticQueries: boolean;
}

export type EncodeMode = 'query' | 'document' | 'plain';

/** `/encode`'s `longDocuments: "window"` settings; absent fields take the encoder's defaults. */
export interface WindowSettings {
  windowTokens?: number;
  stride?: number;
}

export type JobRequest =
  | {
      op: 'encode';
      texts: string[];
      task: EncodeMode;
      maxActiveDims?: number;
      tokens: boolean;
      /** false: refuse texts over the model's length (ERR_INPUT_TOO_LONG) instead of truncating. Default true. */
      truncate?: boolean;
      promptName?: string;
      /** Present: long texts are encoded in token windows (longDocuments 'window') with these settings. */
      window?: WindowSettings;
      /** `left`: over-long texts keep their last tokens (TEI's `truncation_direction`). Default right. */
      truncationDirection?: 'left';
      /** `false`: no special tokens added to the texts (TEI's token-id inputs, decoded). Default true. */
      addSpecialTokens?: false;
    }
  | { op: 'similarity'; queries: string[]; documents: string[] }
  /** `documents` given: the query against each (POST /explain); else each of `texts` as `task` encodes it (/encode with explain). */
  | { op: 'explain'; query?: string; documents?: string[]; texts?: string[]; task?: EncodeMode; maxActiveDims?: number }
  | { op: 'tokenize'; texts: string[]; task: EncodeMode; addSpecialTokens: boolean; promptName?: string }
  | { op: 'decode'; ids: number[][]; skipSpecialTokens: boolean };

/** One token as text-embeddings-inference's /tokenize reports it (byte offsets; null for special tokens). */
export interface WireToken {
  id: number;
  text: string;
  special: boolean;
  start: number | null;
  stop: number | null;
}

/** One onnxruntime run of a job: texts, real tokens, tokens after padding. */
export interface WireBatch {
  texts: number;
  tokens: number;
  paddedTokens: number;
}

/** One encoded vector: fresh (transferable) arrays, and its decoded tokens when asked for. */
export interface WireVector {
  indices: Uint32Array;
  values: Float32Array;
  tokens?: Array<[token: string, weight: number]>;
}

export type JobResult =
  | { op: 'encode'; vectors: WireVector[]; dim: number; batches: WireBatch[] }
  | { op: 'similarity'; matrix: number[][] }
  /** SparseEncoder.explain / explainText results, vectors as plain arrays. */
  | { op: 'explain'; query?: unknown; documents?: unknown[]; texts?: unknown[] }
  | { op: 'tokenize'; tokens: WireToken[][] }
  | { op: 'decode'; texts: string[] };

export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type ToWorker =
  /**
   * One job, or several encode jobs of the same kind merged by the pool (dynamic batching): the
   * worker encodes their texts together, in runs of at most `maxBatchTokens` padded tokens, and
   * answers each job on its own.
   */
  | { type: 'jobs'; jobs: Array<{ id: number; job: JobRequest }>; maxBatchTokens?: number }
  /** The client of job `id` went away: stop it at the next slice. */
  | { type: 'cancel'; id: number }
  | { type: 'close' }
  /** Tests only: abort the process as a native crash would. */
  | { type: 'abort-for-test' };

export type FromWorker =
  | { type: 'ready'; info: ServedModelInfo }
  | { type: 'load-failed'; error: WireError }
  | { type: 'result'; id: number; result: JobResult }
  | { type: 'failed'; id: number; error: WireError };

/** One search job: query vectors and the search settings (SearchOptions); approximate settings unset: the index's. */
export interface SearchJob extends ApproximateSettings {
  vectors: Array<{ indices: Uint32Array; values: Float32Array }>;
  k: number;
  exact: boolean;
  fields: boolean;
  /** Each hit's score broken down by shared term (the stored document weights). */
  explain?: boolean;
}

/** A search hit, with `contributions` when the search asked to explain: shared terms, largest share first, summing to `score`. */
export type ExplainedHit = SearchHit & { contributions?: Array<{ index: number; query: number; document: number; contribution: number }> };

/** A search over the index in a search worker thread. */
export type ToSearchWorker =
  | ({ type: 'search'; id: number } & SearchJob)
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export type FromSearchWorker =
  | { type: 'ready'; size: number; dim: number; info: IndexInfo }
  | { type: 'load-failed'; error: WireError }
  | { type: 'result'; id: number; results: Array<{ hits: ExplainedHit[] }> }
  | { type: 'failed'; id: number; error: WireError };
