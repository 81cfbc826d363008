/**
 * `#native-runtime` outside Node (browsers, workers: package.json imports, condition `default`):
 * no onnxruntime-node and no temporary files; the wasm backend runs instead. Portable.
 */
import { SparseEncoderError } from '../errors.js';

export function loadNativeOrt(): Promise<unknown> {
  return Promise.reject(new SparseEncoderError('ERR_NOT_SUPPORTED', "the native backend (onnxruntime-node) needs Node; use backend: 'wasm' here"));
}

export function cpuCount(): number {
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

export function writeTempModel(): Promise<{ path: string; cleanup(): Promise<void> }> {
  return Promise.reject(new SparseEncoderError('ERR_NOT_SUPPORTED', 'temporary model files need a file system (Node)'));
}

/** The backend a model loads on when none is asked for: onnxruntime-web, the only one here. */
export const DEFAULT_BACKEND = 'wasm' as const;
