import type { ErrorCode } from '../errors.js';
import type { SimilarityFnName } from '../encoder/sparse-encoder.js';
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
}

export type EncodeMode = 'query' | 'document' | 'plain';

export type JobRequest =
  | { op: 'encode'; texts: string[]; task: EncodeMode; maxActiveDims?: number; tokens: boolean }
  | { op: 'similarity'; queries: string[]; documents: string[] };

/** One encoded vector: fresh (transferable) arrays, and its decoded tokens when asked for. */
export interface WireVector {
  indices: Uint32Array;
  values: Float32Array;
  tokens?: Array<[token: string, weight: number]>;
}

export type JobResult = { op: 'encode'; vectors: WireVector[]; dim: number } | { op: 'similarity'; matrix: number[][] };

export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type ToWorker =
  | { type: 'job'; id: number; job: JobRequest }
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

/** A search over the index in a search worker thread. */
export type ToSearchWorker =
  | { type: 'search'; id: number; vectors: Array<{ indices: Uint32Array; values: Float32Array }>; k: number; exact: boolean; fields: boolean }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export type FromSearchWorker =
  | { type: 'ready'; size: number; dim: number; info: IndexInfo }
  | { type: 'load-failed'; error: WireError }
  | { type: 'result'; id: number; results: Array<{ hits: SearchHit[] }> }
  | { type: 'failed'; id: number; error: WireError };
