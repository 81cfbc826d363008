import { SparseEncoderError } from '../errors.js';

/**
 * The closed set of sentence-transformers module classes we can run, keyed by the class name at
 * the end of a `modules.json` / `router_config.json` type string. Both the 5.x strings
 * (`sentence_transformers.sparse_encoder.models.SpladePooling`) and the 6.x ones
 * (`sentence_transformers.sparse_encoder.modules.splade_pooling.SpladePooling`,
 * `sentence_transformers.base.modules.transformer.Transformer`) end in the same class name.
 * Strings are only ever looked up here, never turned into code.
 */
export type ModuleKind =
  | 'MLMTransformer'
  | 'Transformer'
  | 'SpladePooling'
  | 'SparseStaticEmbedding'
  | 'Router'
  | 'Pooling'
  | 'SparseAutoEncoder';

const REGISTRY: ReadonlyMap<string, ModuleKind> = new Map<string, ModuleKind>([
  ['MLMTransformer', 'MLMTransformer'],
  ['Transformer', 'Transformer'],
  ['SpladePooling', 'SpladePooling'],
  ['SparseStaticEmbedding', 'SparseStaticEmbedding'],
  // The class was called IDF before sentence-transformers 5.0's release.
  ['IDF', 'SparseStaticEmbedding'],
  ['Router', 'Router'],
  ['Pooling', 'Pooling'],
  ['SparseAutoEncoder', 'SparseAutoEncoder'],
]);

/** Every class name the registry accepts, for error messages and docs. */
export const SUPPORTED_MODULE_CLASSES: readonly string[] = [...REGISTRY.keys()];

/**
 * Maps a module type string to its kind. Types outside the `sentence_transformers` package
 * (custom code that would need `trust_remote_code`) and unknown classes are refused with
 * ERR_UNSUPPORTED_MODULE naming the type and where it was found.
 */
export function moduleKind(type: unknown, where: string): ModuleKind {
  if (typeof type !== 'string' || type === '') {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${where}: module type must be a non-empty string, got ${JSON.stringify(type)}`, {
      details: { where },
    });
  }
  const className = type.slice(type.lastIndexOf('.') + 1);
  const kind = REGISTRY.get(className);
  if (kind === undefined || !type.startsWith('sentence_transformers.')) {
    throw new SparseEncoderError(
      'ERR_UNSUPPORTED_MODULE',
      `${where}: unsupported module type "${type}" (supported: ${SUPPORTED_MODULE_CLASSES.join(', ')} from sentence_transformers)`,
      { details: { where, type } },
    );
  }
  return kind;
}
