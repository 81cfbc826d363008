import { SparseEncoderError } from '../errors.js';
import { joinPath } from '../files/model-fs.js';
import { readJsonObject, type JsonObject } from './json.js';

export type PoolingMode = 'mean' | 'cls' | 'max' | 'mean_sqrt_len' | 'weightedmean' | 'lasttoken';

const MODE_KEYS: ReadonlyArray<[string, PoolingMode]> = [
  ['pooling_mode_cls_token', 'cls'],
  ['pooling_mode_mean_tokens', 'mean'],
  ['pooling_mode_max_tokens', 'max'],
  ['pooling_mode_mean_sqrt_len_tokens', 'mean_sqrt_len'],
  ['pooling_mode_weightedmean_tokens', 'weightedmean'],
  ['pooling_mode_lasttoken', 'lasttoken'],
];

/** `Pooling/config.json`: the pooling modes switched on (5.x booleans or a 6.x `pooling_mode` string). */
export async function readPoolingModes(folder: string): Promise<PoolingMode[]> {
  const path = joinPath(folder, 'config.json');
  const raw: JsonObject = (await readJsonObject(path)) ?? {};
  const modes: PoolingMode[] = [];
  for (const [key, mode] of MODE_KEYS) if (raw[key] === true) modes.push(mode);
  const single = raw['pooling_mode'];
  if (typeof single === 'string') {
    const m = single === 'mean_tokens' ? 'mean' : single === 'cls_token' ? 'cls' : single === 'max_tokens' ? 'max' : single;
    if (!MODE_KEYS.some(([, x]) => x === m)) {
      throw new SparseEncoderError('ERR_UNSUPPORTED_MODULE', `${path}: unknown pooling_mode "${single}"`, { details: { path } });
    }
    if (!modes.includes(m as PoolingMode)) modes.push(m as PoolingMode);
  }
  if (modes.length === 0) modes.push('mean');
  return modes;
}
