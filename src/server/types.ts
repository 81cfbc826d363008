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
  /** Index file (`SparseIndex.save`) or index directory (`SegmentedIndex`, searched as of its last commit); enables /search. Default: none. */
  index?: string;
  /** Interface to listen on. Default `'127.0.0.1'` (loopback only). */
  host?: string;
  /** TCP port; 0 picks a free one (read it back from `url`). Default 8080. */
  port?: number;
  /** Encode worker threads, each with its own model copy. Default 1. */
  workers?: number;
  /** onnxruntime threads per worker. Default: max(1, floor(CPUs / workers)). */
  threadsPerWorker?: number;
  /**
   * Whether the workers' idle onnxruntime threads spin between operators (`SparseEncoder`'s
   * `spinning`). false where other processes share the cores. Default true.
   */
  spinning?: boolean;
  /**
   * Extra `Host` values to accept (`name` or `name:port`). On a loopback address the server answers
   * only Hosts that name it (`127.0.0.1:<port>`, `localhost:<port>`, `[::1]:<port>`) plus these, so
   * a web page cannot reach it through a DNS-rebinding name; elsewhere any Host is accepted unless
   * this list is given. Requests from a browser page (`Origin`) whose host is not accepted get 403.
   * Default: none.
   */
  allowedHosts?: readonly string[];
  /** A request whose encoding runs longer than this has its worker killed and replaced (503 ERR_WORKER_TIMEOUT). Default 120,000. */
  jobTimeoutMs?: number;
  /** On close(), how long requests in flight may take to finish before their workers are stopped. Default 30,000. */
  shutdownGraceMs?: number;
  /** Search worker threads, each with the index opened on its own (memory: one copy each). Default 1. */
  searchWorkers?: number;
  /** Most query non-zeros in one /search request, all its vectors together. Default 262,144. */
  maxQueryTerms?: number;
  /** Milliseconds a client may take to send the request headers. Default 10,000. */
  headersTimeoutMs?: number;
  /** Milliseconds a client may take to send the whole request, body included. Default 30,000. */
  requestTimeoutMs?: number;
  /** Milliseconds an idle keep-alive connection is kept. Default 5,000. */
  keepAliveTimeoutMs?: number;
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
  /**
   * Dynamic batching: concurrent encode requests of the same kind share onnxruntime runs of at most
   * this many padded tokens (texts × longest), grouped by length; an idle server never waits to
   * fill a batch. 0 turns it off (each request runs on its own). Default 512 (TEI's 16,384 is for GPUs; on CPU longer runs are slower per text: BENCHMARKS.md).
   */
  maxBatchTokens?: number;
  /** Most inputs in one TEI request (`/embed_sparse`, `/tokenize`, `/decode`); more is 422. Default 32 (TEI's). */
  maxClientBatchSize?: number;
  /** TEI routes: whether inputs over the model's length are truncated when a request does not say (`truncate`). Default true (TEI's). */
  autoTruncate?: boolean;
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
