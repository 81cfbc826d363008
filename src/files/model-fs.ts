import { SparseEncoderError } from '../errors.js';
// The platform seam for model files (package.json imports): Node's file system under the `node`
// condition (Deno and Bun too), none elsewhere (browsers, workers), where models come in memory.
import * as disk from '#node-files';

/**
 * Where model files are read from: the file system (Node), or files handed over in memory
 * (`mountFiles`: a browser's fetches, a dropped folder, a worker's bundle) under `mem://<n>/`.
 * Paths are strings either way, so the loaders read both the same way. Portable: no Node built-in.
 */

import { MAX_CONFIG_BYTES } from './limits.js';
import { joinInside } from './paths.js';

export { MAX_CONFIG_BYTES } from './limits.js';

const MEMORY = 'mem://';
const mounts = new Map<string, Map<string, Uint8Array>>();
let nextMount = 1;

/** Files in memory, `{ 'config.json': bytes | text, '1_SpladePooling/config.json': ... }`, as a folder path `mem://<n>`; `release` forgets them. */
export function mountFiles(files: Iterable<[string, Uint8Array | string]> | Record<string, Uint8Array | string>): { root: string; release(): void } {
  const root = `${MEMORY}${nextMount++}`;
  const map = new Map<string, Uint8Array>();
  const entries = Symbol.iterator in Object(files) ? (files as Iterable<[string, Uint8Array | string]>) : Object.entries(files as Record<string, Uint8Array | string>);
  for (const [name, body] of entries) {
    const rel = normalizeRelative(name);
    if (rel === undefined || rel === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `model file name ${JSON.stringify(name)} is not a path inside the model folder`);
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `model file ${JSON.stringify(name)} must be bytes or text`);
    map.set(rel, typeof body === 'string' ? new TextEncoder().encode(body) : body);
  }
  mounts.set(root, map);
  return { root, release: () => void mounts.delete(root) };
}

/** A posix path relative to the root, normalised; undefined when absolute or leading out. */
function normalizeRelative(rel: string): string | undefined {
  return joinInside('', rel);
}

/** The mount and the file's relative path, for a `mem://` path. */
function inMemory(path: string): { files: Map<string, Uint8Array>; rel: string } | undefined {
  if (!path.startsWith(MEMORY)) return undefined;
  const slash = path.indexOf('/', MEMORY.length);
  const root = slash < 0 ? path : path.slice(0, slash);
  const files = mounts.get(root);
  if (files === undefined) throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `${path}: these in-memory files were released`, { details: { path } });
  return { files, rel: slash < 0 ? '' : normalizeRelative(path.slice(slash + 1)) ?? '' };
}

/** `base` joined with `parts` (posix separators for in-memory paths, the platform's for files). */
export function joinPath(base: string, ...parts: string[]): string {
  if (!base.startsWith(MEMORY)) return disk.join(base, ...parts);
  const slash = base.indexOf('/', MEMORY.length);
  const root = slash < 0 ? base : base.slice(0, slash);
  const rel = normalizeRelative([slash < 0 ? '' : base.slice(slash + 1), ...parts].filter((p) => p !== '').join('/')) ?? '';
  return rel === '' ? root : `${root}/${rel}`;
}

/** The folder of `path`. */
export function dirnamePath(path: string): string {
  if (!path.startsWith(MEMORY)) return disk.dirname(path);
  const i = path.lastIndexOf('/');
  return i < MEMORY.length ? path : path.slice(0, i);
}

/** An absolute form of a folder path (files), unchanged in memory. */
export function resolvePath(path: string): string {
  return path.startsWith(MEMORY) ? path : disk.resolve(path);
}

/** Whether anything is at `path` (a file of any kind; reading it then checks it is a regular file). */
export async function exists(path: string): Promise<boolean> {
  const m = inMemory(path);
  if (m !== undefined) return m.files.has(m.rel);
  return disk.exists(path);
}

/** Whether `path` is a regular file. */
export async function isFile(path: string): Promise<boolean> {
  const m = inMemory(path);
  if (m !== undefined) return m.files.has(m.rel);
  return disk.isFile(path);
}

function memoryFile(path: string, m: { files: Map<string, Uint8Array>; rel: string }, what: string, maxBytes: number): Uint8Array {
  const bytes = m.files.get(m.rel);
  if (bytes === undefined) throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `${what} ${path} does not exist`, { details: { path } });
  if (bytes.length > maxBytes) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${what} ${path} has ${bytes.length} bytes, more than the ${maxBytes} such a file may have`, { details: { path, bytes: bytes.length, limit: maxBytes } });
  }
  return bytes;
}

/** A regular file of at most `maxBytes` (ERR_FILE_NOT_FOUND, ERR_INVALID_CONFIG naming it otherwise). */
export async function readFile(path: string, what: string, maxBytes = MAX_CONFIG_BYTES): Promise<Uint8Array> {
  const m = inMemory(path);
  if (m !== undefined) return memoryFile(path, m, what, maxBytes);
  return disk.readFile(path, what, maxBytes);
}

/** A file's text (UTF-8). */
export async function readText(path: string, what: string, maxBytes = MAX_CONFIG_BYTES): Promise<string> {
  return new TextDecoder().decode(await readFile(path, what, maxBytes));
}

/** A weights file, whole, in bytes whose buffer starts at the file's first byte (typed views can be aligned). */
export async function readWeights(path: string, what: string): Promise<Uint8Array> {
  const m = inMemory(path);
  if (m === undefined) return disk.readWeights(path, what);
  const bytes = memoryFile(path, m, what, Number.MAX_SAFE_INTEGER);
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/** The first `n` bytes of a file (or fewer, if it is shorter). */
export async function readHead(path: string, what: string, n: number): Promise<Uint8Array> {
  const m = inMemory(path);
  if (m !== undefined) return memoryFile(path, m, what, Number.MAX_SAFE_INTEGER).subarray(0, n);
  return disk.readHead(path, what, n);
}

/**
 * Checks a model folder before anything in it is read (files: no symlink out of it, no FIFO or
 * device; see local-files.ts). Files in memory have nothing to check.
 */
export async function assertModelTree(folder: string): Promise<void> {
  if (!folder.startsWith(MEMORY)) await disk.assertModelTree(folder);
}
