/**
 * The files of a segmented index directory, and how each is written durably:
 *
 *   manifest.json            the last commit: settings, generation, segments in insertion order
 *   seg-<8 digits>.idx       one immutable segment (the single-file index format)
 *   seg-<8 digits>.del-<gen> that segment's tombstones as of commit <gen> (a checksummed bitset)
 *   write.lock               the pid of the process allowed to write
 *
 * A commit writes new segment and tombstone files first (each: temporary name, fsync, rename),
 * then the manifest the same way, then fsyncs the directory: the manifest's rename is the commit
 * point, so a crash anywhere leaves either the previous manifest or the new one, each naming only
 * complete files. Files no manifest names (left by a crash, merged away, older tombstones) are
 * removed when a writer opens the directory and after each commit.
 */
import type { BlockSettingsJson } from './block-index.js';
import { open, readdir, rename, unlink, readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { processAlive, readRegularFile } from '../files/local-files.js';

export const MANIFEST = 'manifest.json';
export const LOCK = 'write.lock';
const MANIFEST_FORMAT = 'sparse-encoder-index-directory';
export const DIRECTORY_FORMAT_VERSION = 1;
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const SEGMENT_NAME = /^seg-\d{8}\.idx$/;
const TOMBSTONE_NAME = /^seg-\d{8}\.del-\d{8}$/;
/** Files this library may create here: anything else in the directory is never touched. */
const OURS = /^(seg-\d{8}\.(idx|del-\d{8})|\.(seg-\d{8}\.(idx|del-\d{8})|manifest\.json)\.tmp-\d+-[0-9a-z]+)$/;
const DEL_MAGIC = Buffer.from('SPDEL\0\r\n', 'latin1');

export interface ManifestSegment {
  name: string;
  documents: number;
  deleted: number;
  /** Tombstone file, or null when the segment file's own tombstones are current. */
  tombstones: string | null;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  format_version: number;
  created_by: string;
  generation: number;
  next_segment: number;
  /** `blocks`: settings of the block structure each segment gets (absent in directories written before it existed). */
  settings: { quantize: string; range_size: number; reorder: boolean | null; seed: number; dim: number | null; blocks?: BlockSettingsJson | null };
  segments: ManifestSegment[];
}

export const segmentName = (n: number): string => `seg-${String(n).padStart(8, '0')}.idx`;
export const tombstoneName = (segment: string, generation: number): string => `${segment.slice(0, -4)}.del-${String(generation).padStart(8, '0')}`;

function corrupt(path: string, msg: string): never {
  throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: ${msg}`, { details: { path } });
}

/** Reads and checks the manifest; undefined when the directory has none (a new index). */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const path = join(dir, MANIFEST);
  let raw: Buffer;
  try {
    raw = await readRegularFile(path, 'index manifest', MAX_MANIFEST_BYTES);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_FILE_NOT_FOUND') return undefined;
    throw err;
  }
  let m: Manifest;
  try {
    m = JSON.parse(raw.toString('utf8')) as Manifest;
  } catch {
    return corrupt(path, 'manifest is not valid JSON');
  }
  if (m === null || typeof m !== 'object' || m.format !== MANIFEST_FORMAT) {
    throw new SparseEncoderError('ERR_INDEX_FORMAT', `${path}: not a sparse-encoder index manifest`, { details: { path } });
  }
  if (!Number.isInteger(m.format_version) || m.format_version < 1) corrupt(path, `invalid format version ${String(m.format_version)}`);
  if (m.format_version > DIRECTORY_FORMAT_VERSION) {
    throw new SparseEncoderError('ERR_INDEX_VERSION', `${path}: index directory format ${m.format_version} is newer than this library supports (${DIRECTORY_FORMAT_VERSION}); upgrade sparse-encoder`, { details: { path } });
  }
  const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!isCount(m.generation) || !isCount(m.next_segment) || !Array.isArray(m.segments) || typeof m.settings !== 'object' || m.settings === null) {
    corrupt(path, 'manifest lacks its generation, settings or segments');
  }
  const seen = new Set<string>();
  for (const s of m.segments) {
    if (typeof s?.name !== 'string' || !SEGMENT_NAME.test(s.name) || seen.has(s.name)) corrupt(path, `invalid segment entry ${JSON.stringify(s?.name)}`);
    seen.add(s.name);
    if (!isCount(s.documents) || !isCount(s.deleted) || s.deleted > s.documents) corrupt(path, `segment ${s.name} has invalid counts`);
    if (s.tombstones !== null && (typeof s.tombstones !== 'string' || !TOMBSTONE_NAME.test(s.tombstones) || !s.tombstones.startsWith(s.name.slice(0, -4)))) {
      corrupt(path, `segment ${s.name} names an invalid tombstone file`);
    }
  }
  return m;
}

/** Test hook: called at the named points of a commit (the crash tests stop the process there). */
export type StepHook = (step: string) => void;

/** Writes `bytes` to `dir/name` durably: temporary file, fsync, rename (the directory is fsynced by the caller's commit). */
export async function writeDurably(dir: string, name: string, bytes: Uint8Array, onStep?: StepHook, stepName?: string): Promise<void> {
  const tmp = join(dir, `.${name}.tmp-${process.pid}-${Date.now().toString(36)}`);
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(tmp, 'wx', 0o644);
    // Half first, so a crash test can stop between the halves.
    const half = bytes.byteLength >>> 1;
    await fh.write(bytes, 0, half);
    if (stepName) onStep?.(`${stepName}-partial`);
    await fh.write(bytes, half, bytes.byteLength - half);
    await fh.sync();
    await fh.close();
    fh = undefined;
    if (stepName) onStep?.(`${stepName}-temp`);
    await rename(tmp, join(dir, name));
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    throw new SparseEncoderError('ERR_INDEX_WRITE', `could not write ${join(dir, name)}: ${e.message}`, { cause: err, details: { path: join(dir, name), errno: e.code } });
  }
}

export function manifestBytes(m: Manifest): Uint8Array {
  return Buffer.from(JSON.stringify(m, null, 1) + '\n', 'utf8');
}

/** A tombstone bitset: magic, u32 version, u32 documents, u32 deleted, u32 reserved, ⌈n/8⌉ bytes, u32 CRC-32 of all before. */
export function tombstoneBytes(deleted: Uint8Array): Uint8Array {
  const n = deleted.length;
  const out = Buffer.alloc(24 + Math.ceil(n / 8) + 4);
  DEL_MAGIC.copy(out, 0);
  out.writeUInt32LE(1, 8);
  out.writeUInt32LE(n, 12);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (deleted[i] === 1) {
      out[24 + (i >>> 3)]! |= 1 << (i & 7);
      count++;
    }
  }
  out.writeUInt32LE(count, 16);
  out.writeUInt32LE(crc32(out.subarray(0, out.length - 4)) >>> 0, out.length - 4);
  return out;
}

/** Reads a tombstone file into `deleted` (one byte per document), checking size, counts and checksum. */
export async function readTombstones(path: string, deleted: Uint8Array, expectedDeleted: number): Promise<void> {
  const n = deleted.length;
  const size = 24 + Math.ceil(n / 8) + 4;
  const buf = await readRegularFile(path, 'tombstone file', size).catch((err: unknown) => {
    if ((err as { code?: string }).code === 'ERR_FILE_NOT_FOUND') corrupt(path, 'tombstone file named by the manifest is missing');
    throw err;
  });
  if (buf.length !== size || !buf.subarray(0, 8).equals(DEL_MAGIC)) corrupt(path, `not a tombstone file for ${n} documents`);
  if (buf.readUInt32LE(8) !== 1 || buf.readUInt32LE(12) !== n) corrupt(path, 'tombstone file has the wrong version or document count');
  if ((crc32(buf.subarray(0, size - 4)) >>> 0) !== buf.readUInt32LE(size - 4)) corrupt(path, 'tombstone checksum mismatch');
  let count = 0;
  for (let i = 0; i < n; i++) {
    const bit = (buf[24 + (i >>> 3)]! >>> (i & 7)) & 1;
    deleted[i] = bit;
    count += bit;
  }
  if (count !== buf.readUInt32LE(16) || count !== expectedDeleted) corrupt(path, `tombstone file holds ${count} deletes, the manifest says ${expectedDeleted}`);
}

/** Removes our files that `keep` does not name (stray segments, older tombstones, dead temporaries). */
export async function removeUnreferenced(dir: string, keep: Set<string>, onStep?: StepHook): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!OURS.test(name) || keep.has(name)) continue;
    const tmpPid = /\.tmp-(\d+)-/.exec(name)?.[1];
    // Another live process's temporary file (a second writer is locked out, but be safe).
    if (tmpPid !== undefined && Number(tmpPid) !== process.pid && processAlive(Number(tmpPid))) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
      onStep?.('cleanup-one');
    } catch {
      // already gone
    }
  }
  return removed;
}

/**
 * Takes the directory's write lock: `write.lock` holds the writer's pid. A lock whose process is
 * dead (a crashed writer) is taken over; a live one refuses with ERR_INDEX_LOCKED.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.write(`${process.pid}\n`);
      await fh.close();
      return async () => {
        const owner = await readFile(path, 'utf8').catch(() => '');
        if (Number(owner.trim()) === process.pid) await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SparseEncoderError('ERR_INDEX_WRITE', `cannot create ${path}: ${(err as Error).message}`, { cause: err, details: { path } });
      }
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new SparseEncoderError('ERR_INDEX_LOCKED', `${dir} is open for writing by process ${pid}`, { details: { path, pid } });
    }
    if (pid === process.pid) throw new SparseEncoderError('ERR_INDEX_LOCKED', `${dir} is already open for writing in this process`, { details: { path, pid } });
    await unlink(path).catch(() => undefined); // the writer died: take its lock over
  }
  throw new SparseEncoderError('ERR_INDEX_LOCKED', `${dir}: could not take the write lock`, { details: { path } });
}
