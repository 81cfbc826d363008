import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { lstat, open, readdir, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import type { Stats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { SparseEncoderError } from '../errors.js';

/**
 * Reading files we did not write (model folders, configs, token files) without trusting them:
 * only regular files, of a bounded size, opened non-blocking so a FIFO cannot hang the open,
 * and, for model folders, no symlink that leads outside the folder (or, for a Hugging Face cache
 * snapshot, outside its repo's `blobs/`).
 */

import { MAX_CONFIG_BYTES } from './limits.js';

export { MAX_CONFIG_BYTES } from './limits.js';
export { joinInside } from './paths.js';

/** What a non-regular file is, for messages. */
function kindOf(st: Stats): string {
  return st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a file';
}

function notRegular(path: string, what: string, st: Stats): SparseEncoderError {
  return new SparseEncoderError('ERR_INVALID_CONFIG', `${what} ${path} is ${kindOf(st)}, not a regular file`, { details: { path } });
}

/** A failed open as a coded error: ERR_FILE_NOT_FOUND for a missing file, else ERR_INVALID_CONFIG with the errno. */
function openFailure(err: unknown, path: string, what: string): SparseEncoderError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new SparseEncoderError('ERR_FILE_NOT_FOUND', `${what} ${path} does not exist`, { cause: err, details: { path } });
  return new SparseEncoderError('ERR_INVALID_CONFIG', `cannot open ${what} ${path} (${code ?? (err as Error).message})`, { cause: err, details: { path, errno: code } });
}

/** Throws unless `st` is a regular file of at most `maxBytes`. */
function checkRegular(st: Stats, path: string, what: string, maxBytes: number): void {
  if (!st.isFile()) throw notRegular(path, what, st);
  if (st.size > maxBytes) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${what} ${path} has ${st.size} bytes, more than the ${maxBytes} such a file may have`, {
      details: { path, bytes: st.size, limit: maxBytes },
    });
  }
}

/** Opens `path` for reading if it is a regular file of at most `maxBytes`; throws a coded error otherwise. */
export async function openRegularFile(path: string, what: string, maxBytes: number): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw openFailure(err, path, what);
  }
  try {
    const st = await fh.stat();
    checkRegular(st, path, what, maxBytes);
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** The whole of a regular file of at most `maxBytes` (see {@link openRegularFile}). */
export async function readRegularFile(path: string, what: string, maxBytes = MAX_CONFIG_BYTES): Promise<Buffer> {
  const { fh, size } = await openRegularFile(path, what, maxBytes);
  try {
    const buf = Buffer.alloc(size);
    let n = 0;
    while (n < size) {
      const { bytesRead } = await fh.read(buf, n, size - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return n === size ? buf : buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/**
 * The synchronous {@link readRegularFile}, for the few readers that cannot wait (settings read
 * at call time). Errors as there; `ENOENT` becomes ERR_FILE_NOT_FOUND.
 */
export function readRegularFileSync(path: string, what: string, maxBytes = MAX_CONFIG_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw openFailure(err, path, what);
  }
  try {
    const st = fstatSync(fd);
    checkRegular(st, path, what, maxBytes);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return n === buf.length ? buf : buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Checks that `path` is a regular file of bounded size, for readers we cannot hand a file handle (native code). */
export async function assertRegularFile(path: string, what: string, maxBytes = MAX_CONFIG_BYTES): Promise<number> {
  const { fh, size } = await openRegularFile(path, what, maxBytes);
  await fh.close();
  return size;
}


function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

/** How deep under a model folder files are read: root, module folders, a Router's module folders. */
const MODEL_TREE_DEPTH = 3;
const MODEL_TREE_ENTRIES = 20_000;

/**
 * Checks a model folder before anything in it is read: every symlink within the few levels a
 * model uses must lead inside the folder (for a cache snapshot `…/models--x/snapshots/<commit>`,
 * inside `…/models--x`, where the blobs are), and nothing there may be a FIFO, socket or device.
 */
export async function assertModelTree(folder: string): Promise<void> {
  const root = await realpath(folder);
  const snapshot = /[\\/]models--[^\\/]+[\\/]snapshots[\\/][^\\/]+$/.test(root);
  const allowed = snapshot ? dirname(dirname(root)) : root;
  let seen = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const name of await readdir(dir)) {
      if (++seen > MODEL_TREE_ENTRIES) {
        throw new SparseEncoderError('ERR_INVALID_CONFIG', `${folder} holds more than ${MODEL_TREE_ENTRIES} files near its top: not a model folder`, { details: { path: folder } });
      }
      const path = join(dir, name);
      const st = await lstat(path);
      let target = path;
      let kind = st;
      if (st.isSymbolicLink()) {
        try {
          target = await realpath(path);
        } catch {
          continue; // a dangling link is reported by whoever needs the file
        }
        if (!isInside(target, allowed)) {
          throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path} is a symlink to ${target}, outside the model folder ${snapshot ? allowed : root}`, {
            details: { path, target },
          });
        }
        kind = await lstat(target);
      }
      if (kind.isDirectory()) {
        // A link to a folder inside the tree is walked from its real place when met there.
        if (depth < MODEL_TREE_DEPTH && !st.isSymbolicLink()) await walk(path, depth + 1);
      } else if (!kind.isFile()) {
        throw notRegular(path, 'model file', kind);
      }
    }
  };
  await walk(root, 1);
}

/** Whether a process id names a live process (EPERM: alive, but someone else's). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// fs.readFile stops at 2 GiB; reading in chunks into one buffer reaches the Buffer limit (4 GiB on Node 20).
const CHUNK = 1 << 30;

/** Reads a whole (weights) file into one buffer (its own ArrayBuffer at offset 0, so views can be aligned). */
export async function readWholeFile(path: string, what: string): Promise<Buffer> {
  // A regular file (not a FIFO or a device), opened without blocking.
  const { fh, size } = await openRegularFile(path, what, Number.MAX_SAFE_INTEGER);
  try {
    if (size > bufferConstants.MAX_LENGTH) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${path} is ${size} bytes, more than one buffer can hold (${bufferConstants.MAX_LENGTH}); use a sharded checkpoint`, {
        details: { path, size },
      });
    }
    return await readInto(fh, Buffer.allocUnsafeSlow(size));
  } finally {
    await fh.close();
  }
}

/** The first `n` bytes of a regular file (or fewer, if it is shorter). */
export async function readFileHead(path: string, what: string, n: number): Promise<Uint8Array> {
  const { fh, size } = await openRegularFile(path, what, Number.MAX_SAFE_INTEGER);
  try {
    return await readInto(fh, new Uint8Array(Math.min(n, size)));
  } finally {
    await fh.close();
  }
}

/**
 * Fills `buf` from the file's start, in reads of at most CHUNK bytes. A file that shrank while
 * being read gives what is there (the format checks report the truncation).
 */
async function readInto<B extends Uint8Array>(fh: FileHandle, buf: B): Promise<B> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, Math.min(CHUNK, buf.length - done), done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === buf.length ? buf : (buf.subarray(0, done) as B);
}
