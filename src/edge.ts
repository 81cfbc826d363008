/**
 * The package entry for edge workers and other runtimes without a file system or native code
 * (`sparse-encoder/edge`, and `sparse-encoder` itself under the `workerd` export condition): an
 * inference-free model's query side, from its files in memory, with no ONNX Runtime; a sparse index
 * from an index file's bytes (`SparseIndex.fromBytes`; building, saving and opening files need
 * Node); and the sparse vector helpers. Imports no Node built-in (test/architecture.test.ts follows
 * its import graph).
 */
export { StaticQueryEncoder, type StaticQueryFiles } from './encoder/static-query-encoder.js';
export { SparseEncoderError, isSparseEncoderError } from './errors.js';
export { cosine, dot, fromPairs, intersection, topKByMagnitude, type SparseVector } from './sparse/vector.js';
export { SparseIndex } from './inverted-index/sparse-index.js';
export type { SearchHit, SearchOptions } from './inverted-index/types.js';
