import { SparseEncoderError } from '../errors.js';
import { joinPath } from '../files/model-fs.js';
import { optionalNumber, optionalString, readJsonObject } from './json.js';

export type SpladePoolingStrategy = 'max' | 'sum';
export type SpladeActivation = 'relu' | 'log1p_relu';

/** `SpladePooling/config.json`. The dimension key (`word_embedding_dimension` in 5.x,
 * `embedding_dimension` in 6.x) is null in saved files and not needed: it is the MLM's vocab size. */
export interface SpladePoolingConfig {
  readonly pooling: SpladePoolingStrategy;
  readonly activation: SpladeActivation;
  /** The saved dimension, if a forward pass had set it (checked against the vocabulary size). */
  readonly dimension?: number;
}

export async function readSpladePoolingConfig(folder: string): Promise<SpladePoolingConfig> {
  const path = joinPath(folder, 'config.json');
  const raw = (await readJsonObject(path)) ?? {};
  const pooling = optionalString(raw, 'pooling_strategy', path) ?? 'max';
  const activation = optionalString(raw, 'activation_function', path) ?? 'relu';
  if (pooling !== 'max' && pooling !== 'sum') {
    throw new SparseEncoderError('ERR_UNSUPPORTED_MODULE', `${path}: SpladePooling pooling_strategy "${pooling}" is not max or sum`, { details: { path } });
  }
  if (activation !== 'relu' && activation !== 'log1p_relu') {
    throw new SparseEncoderError('ERR_UNSUPPORTED_MODULE', `${path}: SpladePooling activation_function "${activation}" is not relu or log1p_relu`, { details: { path } });
  }
  const dimension = optionalNumber(raw, 'embedding_dimension', path) ?? optionalNumber(raw, 'word_embedding_dimension', path);
  return dimension === undefined ? { pooling, activation } : { pooling, activation, dimension };
}
