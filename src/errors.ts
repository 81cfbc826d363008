/**
 * One error class for the whole library. Callers branch on `err.code`, never on the message.
 * Every code lives in this catalogue so that the set of failure modes is visible in one place.
 */
export const ERROR_CODES = [
  // input given by the caller
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_INPUT',
  'ERR_OVERSIZE_REQUEST',
  'ERR_INPUT_TOO_LONG',
  // model resolution (hub/)
  'ERR_MODEL_NOT_FOUND',
  'ERR_FILE_NOT_FOUND',
  'ERR_GATED_REPO',
  'ERR_UNAUTHORIZED',
  'ERR_OFFLINE_NOT_CACHED',
  'ERR_DOWNLOAD_FAILED',
  'ERR_HUB_UNAVAILABLE',
  'ERR_CACHE_NOT_WRITABLE',
  // model files (weights/, modules/, graph/)
  'ERR_INVALID_CONFIG',
  'ERR_UNSUPPORTED_ARCHITECTURE',
  'ERR_UNSUPPORTED_MODULE',
  'ERR_UNTRAINED_HEAD',
  'ERR_CORRUPT_WEIGHTS',
  'ERR_MISSING_WEIGHT',
  'ERR_UNSUPPORTED_DTYPE',
  'ERR_FORBIDDEN_PICKLE',
  'ERR_TOKENIZER',
  'ERR_SHAPE_MISMATCH',
  // runtime
  'ERR_RUNTIME',
  'ERR_NOT_SUPPORTED',
  'ERR_DISPOSED',
  // index/
  'ERR_INDEX_CORRUPT',
  'ERR_INDEX_TRUNCATED',
  'ERR_INDEX_FORMAT',
  'ERR_INDEX_VERSION',
  'ERR_INDEX_WRITE',
  'ERR_INDEX_LOCKED',
  'ERR_DUPLICATE_ID',
  'ERR_UNKNOWN_ID',
  'ERR_DIMENSION_MISMATCH',
  // export/
  'ERR_ENGINE_LIMIT',
  // eval/
  'ERR_DATASET_PARSE',
  'ERR_DATASET_UNKNOWN_ID',
  'ERR_DATASET_MISSING',
  // cli/ server/
  'ERR_USAGE',
  'ERR_OUTPUT_NOT_WRITABLE',
  'ERR_OUTPUT_CLOSED',
  'ERR_INVALID_JSON',
  'ERR_ROUTE_NOT_FOUND',
  'ERR_METHOD_NOT_ALLOWED',
  'ERR_HOST_NOT_ALLOWED',
  'ERR_ORIGIN_NOT_ALLOWED',
  'ERR_UNSUPPORTED_MEDIA_TYPE',
  'ERR_OVERLOADED',
  'ERR_UNAVAILABLE',
  'ERR_WORKER_CRASHED',
  'ERR_WORKER_TIMEOUT',
  'ERR_CANCELLED',
  'ERR_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SparseEncoderErrorOptions {
  cause?: unknown;
  /** Structured context (a path, a line number, a tensor name) for logs and for callers. */
  details?: Record<string, unknown>;
}

export class SparseEncoderError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SparseEncoderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SparseEncoderError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** True when `err` is one of ours, optionally with the given code. */
export function isSparseEncoderError(err: unknown, code?: ErrorCode): err is SparseEncoderError {
  return err instanceof SparseEncoderError && (code === undefined || err.code === code);
}
