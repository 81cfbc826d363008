/**
 * `#native-tokenizer` where native addons do not run (browsers, workers: package.json imports,
 * condition `default`): the same `NativeEngine.create` as native-engine.ts, refusing; the
 * pure-JavaScript engine (`engine: 'js'`, the wasm backend) runs there instead.
 */
import { SparseEncoderError } from '../errors.js';
import type { NativeEngine as Native } from './native-engine.js';

export const NativeEngine: Pick<typeof Native, 'create'> = {
  create(): Native {
    throw new SparseEncoderError('ERR_NOT_SUPPORTED', 'the native tokenizer needs Node; use the wasm backend (its pure-JavaScript tokenizer) here');
  },
};
