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
