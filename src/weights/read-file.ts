import { constants } from 'node:buffer';
import { SparseEncoderError } from '../errors.js';
import { openRegularFile } from '../files/local-files.js';
import { parseSafetensors } from './safetensors.js';
import type { StateDict } from './types.js';

// fs.readFile stops at 2 GiB; reading in chunks into one buffer reaches the Buffer limit (4 GiB on Node 20).
const CHUNK = 1 << 30;

/** Reads a whole weights file into one buffer (its own ArrayBuffer at offset 0, so views can be aligned). */
export async function readWeightsFile(path: string, what: string): Promise<Buffer> {
  // A regular file (not a FIFO or a device), opened without blocking.
  const { fh, size } = await openRegularFile(path, what, Number.MAX_SAFE_INTEGER);
  try {
    if (size > constants.MAX_LENGTH) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${path} is ${size} bytes, more than one buffer can hold (${constants.MAX_LENGTH}); use a sharded checkpoint`, {
        details: { path, size },
      });
    }
    const buf = Buffer.allocUnsafeSlow(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, done, Math.min(CHUNK, size - done), done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    // A file that shrank while being read: keep what is there; the format checks report the truncation.
    return done === size ? buf : buf.subarray(0, done);
  } finally {
    await fh.close();
  }
}

/**
 * Reads a `.safetensors` file. Float tensors (F32, F16, BF16, F64) come back as float32;
 * integer and boolean tensors (e.g. `position_ids` buffers) are skipped: they are not weights.
 * F32 data at an aligned offset is a view into the file buffer, not a copy.
 */
export async function readSafetensors(path: string): Promise<StateDict> {
  return parseSafetensors(await readWeightsFile(path, 'safetensors file'), { source: path });
}
