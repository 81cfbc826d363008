/**
 * The index file: one versioned, checksummed, little-endian file whose sections are viewed in
 * place when opened (no per-posting parsing).
 *
 *   0   8  magic "SPIDX\0\r\n" (the CR/LF catch text-mode transfers)
 *   8   4  format version (u32)
 *  12   4  byte length of the JSON header (u32)
 *  16   8  total file length (u64), so truncation is told apart from corruption
 *  24   8  reserved (zero)
 *  32   …  JSON header (UTF-8), then zero padding to a multiple of 64
 *       …  sections, each starting at a multiple of 64, zero padded
 * end-16   4  CRC-32 of every byte before it (u32); 4 zero bytes; 8 bytes "SPIDXEND"
 */
import { open, readdir, rename, unlink, readFile, stat, type FileHandle } from 'node:fs/promises';
import { readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { dirname, basename, join } from 'node:path';
import { endianness } from 'node:os';
import { SparseEncoderError } from '../errors.js';
import { openRegularFile, processAlive } from '../files/local-files.js';

const MAGIC_BYTES = Buffer.from('SPIDX\0\r\n', 'latin1');
/** The file's first 8 bytes. */
export const MAGIC: Uint8Array = MAGIC_BYTES;
const END_MAGIC_BYTES = Buffer.from('SPIDXEND', 'latin1');
/** The file's last 8 bytes. */
export const END_MAGIC: Uint8Array = END_MAGIC_BYTES;
export const FORMAT_VERSION = 1;
const PREAMBLE = 32;
const FOOTER = 16;
const ALIGN = 64;

export type SectionDtype = 'u8' | 'u16' | 'u32' | 'f32';
export type SectionArray = Uint8Array | Uint16Array | Uint32Array | Float32Array;

export interface SectionEntry {
  offset: number;
  length: number;
  dtype: SectionDtype;
}

/** The JSON header; snake_case like every file-format type we own. */
export interface FileHeader {
  format: 'sparse-encoder-index';
  format_version: number;
  created_by: string;
  settings: Record<string, unknown>;
  counts: Record<string, number>;
  sections: Record<string, SectionEntry>;
}

const ELEMENT: Record<SectionDtype, number> = { u8: 1, u16: 2, u32: 4, f32: 4 };

function dtypeOf(a: SectionArray): SectionDtype {
  if (a instanceof Uint8Array) return 'u8';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Uint32Array) return 'u32';
  return 'f32';
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

function assertLittleEndian(): void {
  if (endianness() !== 'LE') {
    throw new SparseEncoderError('ERR_INDEX_FORMAT', 'index files are little-endian; this platform is big-endian');
  }
}

/** Test hooks: fail after this many bytes, as a full disk would; or call `onPartial` once half the file is written. */
export interface WriteFault {
  failAfterBytes?: number;
  onPartial?: () => void;
}

/**
 * Writes the sections atomically: a temporary file in the same directory, fsync, rename over
 * `path`, fsync of the directory. On any failure the temporary file is removed and the previous
 * file at `path` is untouched.
 */
export async function writeIndexFile(
  path: string,
  meta: { settings: Record<string, unknown>; counts: Record<string, number> },
  sections: Record<string, SectionArray>,
  fault?: WriteFault,
): Promise<number> {
  assertLittleEndian();
  const names = Object.keys(sections);
  // The header holds the section offsets, which depend on the header's own length: grow until stable.
  let headerRegion = align(PREAMBLE + 256);
  let header!: FileHeader;
  let headerBytes!: Buffer;
  let total = 0;
  for (;;) {
    let offset = headerRegion;
    const entries: Record<string, SectionEntry> = {};
    for (const name of names) {
      const a = sections[name]!;
      entries[name] = { offset, length: a.byteLength, dtype: dtypeOf(a) };
      offset = align(offset + a.byteLength);
    }
    total = offset + FOOTER;
    header = {
      format: 'sparse-encoder-index',
      format_version: FORMAT_VERSION,
      created_by: 'sparse-encoder',
      settings: meta.settings,
      counts: meta.counts,
      sections: entries,
    };
    headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    if (PREAMBLE + headerBytes.length <= headerRegion) break;
    headerRegion = align(PREAMBLE + headerBytes.length + 256);
  }
  const pre = Buffer.alloc(headerRegion);
  MAGIC_BYTES.copy(pre, 0);
  pre.writeUInt32LE(FORMAT_VERSION, 8);
  pre.writeUInt32LE(headerBytes.length, 12);
  pre.writeBigUInt64LE(BigInt(total), 16);
  headerBytes.copy(pre, PREAMBLE);

  await removeStaleTemps(path);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  let written = 0;
  let crc = 0;
  const put = async (buf: Uint8Array): Promise<void> => {
    // Node's crc32 returns 0, ignoring the running value, for an empty view of an empty buffer.
    if (buf.byteLength === 0) return;
    if (fault?.failAfterBytes !== undefined && written + buf.byteLength > fault.failAfterBytes) {
      const part = Math.max(0, fault.failAfterBytes - written);
      if (part > 0) await fh!.write(buf, 0, part);
      const err = new Error('ENOSPC: no space left on device (simulated)') as NodeJS.ErrnoException;
      err.code = 'ENOSPC';
      throw err;
    }
    // Large sections go out in slices so one write never exceeds what the OS accepts at once.
    for (let off = 0; off < buf.byteLength; off += 1 << 28) {
      const len = Math.min(1 << 28, buf.byteLength - off);
      let done = 0;
      while (done < len) {
        const { bytesWritten } = await fh!.write(buf, off + done, len - done);
        done += bytesWritten;
      }
    }
    crc = crc32(buf, crc);
    written += buf.byteLength;
    if (fault?.onPartial && !partialCalled && written >= total / 2) {
      partialCalled = true;
      fault.onPartial();
    }
  };
  let partialCalled = false;
  try {
    fh = await open(tmp, 'wx', 0o644);
    await put(pre);
    for (const name of names) {
      const a = sections[name]!;
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      await put(bytes);
      const pad = align(written) - written;
      if (pad > 0) await put(new Uint8Array(pad));
    }
    const footer = Buffer.alloc(FOOTER);
    footer.writeUInt32LE(crc >>> 0, 0);
    END_MAGIC_BYTES.copy(footer, 8);
    await put(footer);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    throw new SparseEncoderError('ERR_INDEX_WRITE', `could not write index ${path}: ${e.message}`, {
      cause: err,
      details: { path, errno: e.code },
    });
  }
  // Persist the rename itself.
  await syncDirectory(dirname(path));
  return total;
}

/** fsyncs a directory, so renames in it reach the disk; some filesystems refuse to, which is harmless. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // best effort: the renames are still ordered on the common filesystems
  }
}

export interface OpenedFile {
  header: FileHeader;
  bytes: Uint8Array;
  section(name: string, dtype: SectionDtype, expectedLength?: number): SectionArray;
  has(name: string): boolean;
}

/**
 * Reads and validates an index file: magic (else ERR_INDEX_FORMAT), version (ERR_INDEX_VERSION),
 * length (ERR_INDEX_TRUNCATED), checksum and structure (ERR_INDEX_CORRUPT).
 */
/**
 * Removes `.<name>.tmp-<pid>-*` files that saves of `path` left behind when their process died
 * (a killed save); the temp files of live processes are left alone. Best effort: a folder we
 * cannot list or write is no error here.
 */
export async function removeStaleTemps(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.tmp-`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    try {
      await unlink(join(dirname(path), name));
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

export async function readIndexFile(path: string, options: { verifyChecksum?: boolean } = {}): Promise<OpenedFile> {
  await removeStaleTemps(path);
  assertLittleEndian();
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const code = e.code === 'ENOENT' ? 'ERR_FILE_NOT_FOUND' : 'ERR_INVALID_ARGUMENT';
    throw new SparseEncoderError(code, `cannot read index ${path}: ${e.message}`, { cause: err, details: { path } });
  }
  // Typed-array views need an aligned base; readFile's buffer normally is, copy if not.
  let bytes: Uint8Array = raw;
  if (raw.byteOffset % 8 !== 0) {
    bytes = new Uint8Array(raw.byteLength);
    bytes.set(raw);
  }
  return parseIndexBytes(bytes, path, options.verifyChecksum ?? true);
}

type FrameError = 'ERR_INDEX_CORRUPT' | 'ERR_INDEX_TRUNCATED' | 'ERR_INDEX_FORMAT' | 'ERR_INDEX_VERSION';
type Fail = (code: FrameError, msg: string) => never;

function failer(path: string): Fail {
  return (code, msg) => {
    throw new SparseEncoderError(code, `${path}: ${msg}`, { details: { path } });
  };
}

/**
 * Checks what frames the sections, for a file of `size` bytes: magic, version and declared
 * length in `pre` (its first min(size, 32) bytes), then the end marker of `footer()` (its last 16).
 */
function checkFrame(pre: Buffer, size: number, footer: () => Buffer, fail: Fail): void {
  const magicLen = Math.min(pre.length, MAGIC.length);
  if (!pre.subarray(0, magicLen).equals(MAGIC_BYTES.subarray(0, magicLen))) fail('ERR_INDEX_FORMAT', 'not a sparse-encoder index (bad magic bytes)');
  if (pre.length < PREAMBLE) fail('ERR_INDEX_TRUNCATED', `file is truncated (${pre.length} bytes, shorter than the ${PREAMBLE}-byte preamble)`);
  const version = pre.readUInt32LE(8);
  if (version > FORMAT_VERSION) {
    fail('ERR_INDEX_VERSION', `index format version ${version} is newer than this library supports (${FORMAT_VERSION}); upgrade sparse-encoder`);
  }
  if (version < 1) fail('ERR_INDEX_CORRUPT', `invalid format version ${version}`);
  const declared = Number(pre.readBigUInt64LE(16));
  if (size < declared) fail('ERR_INDEX_TRUNCATED', `file is truncated: ${size} bytes of ${declared}`);
  if (size > declared) fail('ERR_INDEX_CORRUPT', `file has ${size - declared} unexpected trailing bytes (expected ${declared})`);
  if (size < PREAMBLE + FOOTER) fail('ERR_INDEX_CORRUPT', 'file is too short for its footer');
  if (!footer().subarray(8).equals(END_MAGIC_BYTES)) fail('ERR_INDEX_CORRUPT', 'bad end marker');
}

/** The header's byte length from the preamble, checked against the file. */
function headerLength(pre: Buffer, size: number, fail: Fail): number {
  const headerLen = pre.readUInt32LE(12);
  if (PREAMBLE + headerLen > size - FOOTER) fail('ERR_INDEX_CORRUPT', 'header length exceeds the file');
  return headerLen;
}

function parseHeader(json: Buffer, fail: Fail): FileHeader {
  let header: FileHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as FileHeader;
  } catch {
    return fail('ERR_INDEX_CORRUPT', 'header is not valid JSON');
  }
  if (header === null || header.format !== 'sparse-encoder-index' || typeof header.sections !== 'object' || header.sections === null) {
    fail('ERR_INDEX_FORMAT', 'header does not describe a sparse-encoder index');
  }
  return header;
}

export function parseIndexBytes(bytes: Uint8Array, path: string, verifyChecksum = true): OpenedFile {
  const fail = failer(path);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  checkFrame(buf.subarray(0, PREAMBLE), n, () => buf.subarray(n - FOOTER), fail);
  if (verifyChecksum) {
    const want = buf.readUInt32LE(n - FOOTER);
    const got = crc32(buf.subarray(0, n - FOOTER)) >>> 0;
    if (want !== got) fail('ERR_INDEX_CORRUPT', `checksum mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`);
  }
  const headerLen = headerLength(buf, n, fail);
  const header = parseHeader(buf.subarray(PREAMBLE, PREAMBLE + headerLen), fail);
  const dataEnd = n - FOOTER;
  return {
    header,
    bytes,
    has: (name) => Object.hasOwn(header.sections, name),
    section(name, dtype, expectedLength) {
      const { offset, count } = checkSection(header, headerLen, dataEnd, name, dtype, expectedLength, path);
      const at = bytes.byteOffset + offset;
      return view(bytes.buffer, at, count, dtype);
    },
  };
}

function view(buffer: ArrayBufferLike, at: number, count: number, dtype: SectionDtype): SectionArray {
  switch (dtype) {
    case 'u8':
      return new Uint8Array(buffer, at, count);
    case 'u16':
      return new Uint16Array(buffer, at, count);
    case 'u32':
      return new Uint32Array(buffer, at, count);
    case 'f32':
      return new Float32Array(buffer, at, count);
  }
}

/** A section's place in the file, checked against the header region, the data end and the expected entry count. */
function checkSection(
  header: FileHeader,
  headerLen: number,
  dataEnd: number,
  name: string,
  dtype: SectionDtype,
  expectedLength: number | undefined,
  path: string,
): { offset: number; count: number } {
  const fail = (msg: string): never => {
    throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: ${msg}`, { details: { path } });
  };
  const s = Object.hasOwn(header.sections, name) ? header.sections[name] : undefined;
  if (!s) return fail(`missing section '${name}'`);
  const size = ELEMENT[dtype];
  if (
    s.dtype !== dtype ||
    !Number.isInteger(s.offset) ||
    !Number.isInteger(s.length) ||
    s.offset % ALIGN !== 0 ||
    s.length % size !== 0 ||
    s.offset < PREAMBLE + headerLen ||
    s.offset + s.length > dataEnd
  ) {
    fail(`section '${name}' has an invalid type, offset or length`);
  }
  const count = s.length / size;
  if (expectedLength !== undefined && count !== expectedLength) fail(`section '${name}' has ${count} entries, expected ${expectedLength}`);
  return { offset: s.offset, count };
}

/**
 * An index file opened for positional reads: the preamble, header and footer are read and
 * checked at once (as `parseIndexBytes` does, the whole-file checksum only on request); sections
 * or parts of them are read when asked for. Reads are synchronous, as searches are.
 */
export class IndexFileReader {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly fh: FileHandle,
    readonly header: FileHeader,
    private readonly headerLen: number,
    private readonly dataEnd: number,
    readonly bytes: number,
  ) {}

  static async open(path: string, options: { verifyChecksum?: boolean } = {}): Promise<IndexFileReader> {
    assertLittleEndian();
    const { fh, size } = await openRegularFile(path, 'index file', Number.MAX_SAFE_INTEGER);
    try {
      const fail = failer(path);
      const pre = Buffer.alloc(PREAMBLE);
      const got = readSync(fh.fd, pre, 0, PREAMBLE, 0);
      const footer = Buffer.alloc(FOOTER);
      checkFrame(pre.subarray(0, got), size, () => {
        readFully(fh.fd, footer, size - FOOTER);
        return footer;
      }, fail);
      if (options.verifyChecksum) {
        let crc = 0;
        const chunk = Buffer.alloc(1 << 22);
        for (let at = 0; at < size - FOOTER; at += chunk.length) {
          const len = Math.min(chunk.length, size - FOOTER - at);
          readFully(fh.fd, chunk.subarray(0, len), at);
          crc = crc32(chunk.subarray(0, len), crc);
        }
        const want = footer.readUInt32LE(0);
        if (want !== crc >>> 0) fail('ERR_INDEX_CORRUPT', `checksum mismatch (stored ${want.toString(16)}, computed ${(crc >>> 0).toString(16)})`);
      }
      const headerLen = headerLength(pre, size, fail);
      const hb = Buffer.alloc(headerLen);
      readFully(fh.fd, hb, PREAMBLE);
      const header = parseHeader(hb, fail);
      return new IndexFileReader(path, fh.fd, fh, header, headerLen, size - FOOTER, size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  has(name: string): boolean {
    return Object.hasOwn(this.header.sections, name);
  }

  /** Entries `from .. from + count` of a section (all of it by default), into a new aligned array. */
  read(name: string, dtype: SectionDtype, expectedLength?: number, from = 0, count?: number): SectionArray {
    if (this.closed) throw new SparseEncoderError('ERR_DISPOSED', `${this.path}: the index file is closed`);
    const e = checkSection(this.header, this.headerLen, this.dataEnd, name, dtype, expectedLength, this.path);
    const n = count ?? e.count - from;
    if (from < 0 || n < 0 || from + n > e.count) {
      throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${this.path}: read of entries ${from}..${from + n} is outside section '${name}' (${e.count} entries)`, { details: { path: this.path } });
    }
    const size = ELEMENT[dtype];
    const buf = new ArrayBuffer(n * size);
    readFully(this.fd, new Uint8Array(buf), e.offset + from * size);
    return view(buf, 0, n, dtype);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.byteLength) {
    const n = readSync(fd, into, done, into.byteLength - done, position + done);
    if (n === 0) throw new SparseEncoderError('ERR_INDEX_TRUNCATED', 'index file ended early (changed while open?)');
    done += n;
  }
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
