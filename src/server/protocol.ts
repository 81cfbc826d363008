import type { ErrorCode } from '../errors.js';
import type { SimilarityFnName } from '../encoder/sparse-encoder.js';

/**
 * Messages between the server's main thread and its encode workers. Everything here crosses a
 * structured clone, so it is plain data (typed arrays are transferred, not copied).
 */

/** What a worker needs to load its own SparseEncoder (passed as `workerData`). */
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

export type ToWorker = { type: 'job'; id: number; job: JobRequest } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: ServedModelInfo }
  | { type: 'load-failed'; error: WireError }
  | { type: 'result'; id: number; result: JobResult }
  | { type: 'failed'; id: number; error: WireError };
