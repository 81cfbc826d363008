// Portable: model files are read through files/model-fs.ts (disk under Node, memory elsewhere).
import { readWeights } from '../files/model-fs.js';
import { parseSafetensors } from './safetensors.js';
import type { StateDict } from './types.js';

/** Reads a whole weights file into bytes whose buffer starts at the file's first byte (so views can be aligned). */
export function readWeightsFile(path: string, what: string): Promise<Uint8Array> {
  return readWeights(path, what);
}

/**
 * Reads a `.safetensors` file. Float tensors (F32, F16, BF16, F64) come back as float32;
 * integer and boolean tensors (e.g. `position_ids` buffers) are skipped: they are not weights.
 * F32 data at an aligned offset is a view into the file buffer, not a copy.
 */
export async function readSafetensors(path: string): Promise<StateDict> {
  return parseSafetensors(await readWeightsFile(path, 'safetensors file'), { source: path });
}
