// Portable: no Node built-in.
import { SparseEncoderError } from '../errors.js';
import type { StateDict } from './types.js';

/**
 * NaN or ±Inf in a weight makes every vector it touches NaN (and NaN is no JSON): such a
 * checkpoint is refused at load, naming the tensor and the first bad position.
 */
export function refuseNonFinite(dict: StateDict, source: string): void {
  const seen = new Set<Float32Array>();
  for (const [name, t] of dict) {
    if (seen.has(t.data)) continue; // tied weights share one array
    seen.add(t.data);
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      // v - v is 0 for finite v and NaN for NaN and ±Inf.
      if (v - v !== 0) {
        throw new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${source}: tensor "${name}" holds ${v} at flat position ${i}; weights must be finite`, {
          details: { path: source, tensor: name, index: i },
        });
      }
    }
  }
}
