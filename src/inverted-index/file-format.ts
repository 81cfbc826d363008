/**
 * Reading and writing index files (Node): atomic saves, whole reads and positional reads. The
 * byte layout and its checks are index-bytes.ts's (portable).
 */
import { open, readdir, rename, unlink, readFile, stat, type FileHandle } from 'node:fs/promises';
import { readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { dirname, basename, join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { openRegularFile, processAlive } from '../files/local-files.js';
import {
  END_MAGIC, ELEMENT, FOOTER, FORMAT_VERSION, MAGIC, PREAMBLE, align, assertLittleEndian, checkFrame, checkSection, dtypeOf, failer, headerLength, parseHeader,
  parseIndexBytes, view, type FileHeader, type OpenedFile, type SectionArray, type SectionDtype, type SectionEntry,
} from './index-bytes.js';

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
  pre.set(MAGIC, 0);
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
    footer.set(END_MAGIC, 8);
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
  return parseIndexBytes(bytes, path, options.verifyChecksum ?? true, (b) => crc32(b));
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
