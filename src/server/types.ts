import type { ErrorCode } from '../errors.js';

/** Options of {@link startServer}. Give `model`, `index`, or both. */
export interface ServerOptions {
  /** Model folder or Hugging Face Hub id; enables /encode, /similarity and text queries in /search. Default: none. */
  model?: string;
  /** Hub branch, tag or commit of `model`. Default `'main'`. */
  revision?: string;
  /** Resolve the model from the cache only. Default: env `HF_HUB_OFFLINE`, else false. */
  localFilesOnly?: boolean;
  /** Model weight precision, as `SparseEncoder.fromPretrained`'s `quantize`. Default `'none'` (fp32). */
  quantize?: 'none' | 'int8';
  /** With `quantize: 'int8'`: whether the vocabulary projection is int8 too. Default true. */
  int8VocabProjection?: boolean;
  /** Index file (`SparseIndex.save`); enables /search. Default: none. */
  index?: string;
  /** Interface to listen on. Default `'127.0.0.1'` (loopback only). */
  host?: string;
  /** TCP port; 0 picks a free one (read it back from `url`). Default 8080. */
  port?: number;
  /** Encode worker threads, each with its own model copy. Default 1. */
  workers?: number;
  /** onnxruntime threads per worker. Default: max(1, floor(CPUs / workers)). */
  threadsPerWorker?: number;
  /** Largest request body in bytes; larger ones get 413 without being read to the end. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most texts in one request (queries + documents for /similarity). Default 256. */
  maxTextsPerRequest?: number;
  /** Longest text, in UTF-16 code units (JS string length). Default 100,000. */
  maxTextLength?: number;
  /** Most requests waiting for a worker; beyond it requests get 503 ERR_OVERLOADED. Default 1024. */
  maxQueuedJobs?: number;
  /** Largest `k` accepted by /search. Default 1000. */
  maxK?: number;
  /** Receives log events (the library never prints). Default: none. */
  onLog?: (event: ServerLogEvent) => void;
}

/** What the server reports, as data; `message` is a ready-made line. */
export type ServerLogEvent =
  | { type: 'listening'; level: 'info'; message: string; url: string }
  | { type: 'worker-ready'; level: 'info'; message: string; worker: number; ms: number }
  | { type: 'worker-exit'; level: 'error'; message: string; worker: number; failedJobs: number }
  | { type: 'worker-load-failed'; level: 'error'; message: string; worker: number; code: ErrorCode; retryInMs: number }
  | { type: 'request'; level: 'info'; message: string; method: string; path: string; status: number; ms: number }
  | { type: 'internal-error'; level: 'error'; message: string; error: unknown }
  | { type: 'closed'; level: 'info'; message: string };

/** A running server (see {@link startServer}). */
export interface SparseServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /**
   * Stops accepting connections, lets in-flight requests finish, then stops the workers and
   * releases the index. Idempotent.
   */
  close(): Promise<void>;
}
