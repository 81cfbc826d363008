/**
 * The public surface of sparse-encoder. Explicit named exports only; anything not listed here is internal.
 */
export { SparseEncoderError, isSparseEncoderError, ERROR_CODES } from './errors.js';
export type { ErrorCode, SparseEncoderErrorOptions } from './errors.js';
export type { SparseVector } from './sparse/vector.js';
export { cosine, dot, emptyVector, fromDense, fromPairs, intersection, norm, toDense, topEntries, topKByMagnitude } from './sparse/vector.js';
