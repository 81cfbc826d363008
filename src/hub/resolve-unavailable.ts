/**
 * `#hub` outside Node (browsers, workers: package.json imports, condition `default`): no Hub client
 * and no cache here yet; models load from their files in memory (`SparseEncoder.fromFiles`).
 */
import { SparseEncoderError } from '../errors.js';
import type { ResolvedModel, ResolveModelOptions } from './types.js';

export function resolveModel(idOrPath: string, _options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  return Promise.reject(
    new SparseEncoderError('ERR_NOT_SUPPORTED', `cannot load ${JSON.stringify(idOrPath)}: this runtime has no file system and no Hub client yet; fetch the model's files and use SparseEncoder.fromFiles`),
  );
}
