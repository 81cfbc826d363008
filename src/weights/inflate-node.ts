/** `#inflate` under the `node` condition: zlib's raw inflate, for deflated entries of PyTorch zip checkpoints. */
import { inflateRawSync } from 'node:zlib';

export function inflateRaw(data: Uint8Array, maxOutputLength: number): Uint8Array {
  return inflateRawSync(data, { maxOutputLength });
}
