import { constants } from 'node:buffer';
import { open } from 'node:fs/promises';
import { SparseEncoderError } from '../errors.js';

// fs.readFile stops at 2 GiB; reading in chunks into one buffer reaches the Buffer limit (4 GiB on Node 20).
const CHUNK = 1 << 30;

/** Reads a whole weights file into one buffer (its own ArrayBuffer at offset 0, so views can be aligned). */
export async function readWeightsFile(path: string, what: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err, details: { path } });
  }
  try {
    const { size } = await fh.stat();
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
