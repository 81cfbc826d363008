/**
 * The package entry for browsers (`sparse-encoder/web`, and `sparse-encoder` itself under the
 * `browser` export condition): everything that runs without Node. `SparseEncoder.fromFiles` with
 * `backend: 'wasm'` (onnxruntime-web) loads any supported model from its files in memory;
 * `StaticQueryEncoder` runs an inference-free model's query side without ONNX Runtime;
 * `SparseIndex.fromBytes` searches an index file's bytes. Node-only pieces (the Hub client and its
 * cache, files, onnxruntime-node, the Rust tokenizer) sit behind package.json `imports` and refuse
 * with ERR_NOT_SUPPORTED here. Imports no Node built-in (test/architecture.test.ts follows its graph).
 */
export { SparseEncoder } from './encoder/sparse-encoder.js';
export type { BlobLike, EncodeOptions, EncodeTask, ExplainedTerm, ExplainedText, Explanation, FileLike, LoadProgressEvent, LongDocuments, ModelFileSource, ModelInfo, RuntimeBackend, SentenceTransformersCompat, SparseEncoderLoadOptions } from './encoder/sparse-encoder.js';
export { StaticQueryEncoder, type StaticQueryFiles } from './encoder/static-query-encoder.js';
export { SparseEncoderError, isSparseEncoderError } from './errors.js';
export { SparseIndex } from './inverted-index/sparse-index.js';
export type { SearchHit, SearchOptions } from './inverted-index/types.js';
export { cosine, dot, fromPairs, intersection, topKByMagnitude, type SparseVector } from './sparse/vector.js';
