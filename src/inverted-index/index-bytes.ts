/**
 * The index file's bytes, without any I/O (portable: no Node built-in, so an index can be searched
 * in a browser or a worker from an ArrayBuffer); reading and writing files is file-format.ts's.
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
import { SparseEncoderError } from '../errors.js';

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** The file's first 8 bytes. */
export const MAGIC: Uint8Array = latin1('SPIDX\0\r\n');
/** The file's last 8 bytes. */
export const END_MAGIC: Uint8Array = latin1('SPIDXEND');
export const FORMAT_VERSION = 1;
export const PREAMBLE = 32;
export const FOOTER = 16;
export const ALIGN = 64;

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

export interface OpenedFile {
  header: FileHeader;
  bytes: Uint8Array;
  section(name: string, dtype: SectionDtype, expectedLength?: number): SectionArray;
  has(name: string): boolean;
}

export const ELEMENT: Record<SectionDtype, number> = { u8: 1, u16: 2, u32: 4, f32: 4 };

export function dtypeOf(a: SectionArray): SectionDtype {
  if (a instanceof Uint8Array) return 'u8';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Uint32Array) return 'u32';
  return 'f32';
}

export const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Index files are little-endian and their sections are viewed in place. */
export function assertLittleEndian(): void {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) {
    throw new SparseEncoderError('ERR_INDEX_FORMAT', 'index files are little-endian; this platform is big-endian');
  }
}

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (the zlib/PNG polynomial), continuing from `crc`: zlib's `crc32` where Node has it, this elsewhere. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (CRC_TABLE === undefined) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  const t = CRC_TABLE;
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type FrameError = 'ERR_INDEX_CORRUPT' | 'ERR_INDEX_TRUNCATED' | 'ERR_INDEX_FORMAT' | 'ERR_INDEX_VERSION';
export type Fail = (code: FrameError, msg: string) => never;

export function failer(path: string): Fail {
  return (code, msg) => {
    throw new SparseEncoderError(code, `${path}: ${msg}`, { details: { path } });
  };
}

const u32At = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Checks what frames the sections, for a file of `size` bytes: magic, version and declared
 * length in `pre` (its first min(size, 32) bytes), then the end marker of `footer()` (its last 16).
 */
export function checkFrame(pre: Uint8Array, size: number, footer: () => Uint8Array, fail: Fail): void {
  const magicLen = Math.min(pre.length, MAGIC.length);
  if (!equalBytes(pre.subarray(0, magicLen), MAGIC.subarray(0, magicLen))) fail('ERR_INDEX_FORMAT', 'not a sparse-encoder index (bad magic bytes)');
  if (pre.length < PREAMBLE) fail('ERR_INDEX_TRUNCATED', `file is truncated (${pre.length} bytes, shorter than the ${PREAMBLE}-byte preamble)`);
  const version = u32At(pre, 8);
  if (version > FORMAT_VERSION) {
    fail('ERR_INDEX_VERSION', `index format version ${version} is newer than this library supports (${FORMAT_VERSION}); upgrade sparse-encoder`);
  }
  if (version < 1) fail('ERR_INDEX_CORRUPT', `invalid format version ${version}`);
  const declared = Number(new DataView(pre.buffer, pre.byteOffset, pre.byteLength).getBigUint64(16, true));
  if (size < declared) fail('ERR_INDEX_TRUNCATED', `file is truncated: ${size} bytes of ${declared}`);
  if (size > declared) fail('ERR_INDEX_CORRUPT', `file has ${size - declared} unexpected trailing bytes (expected ${declared})`);
  if (size < PREAMBLE + FOOTER) fail('ERR_INDEX_CORRUPT', 'file is too short for its footer');
  if (!equalBytes(footer().subarray(8), END_MAGIC)) fail('ERR_INDEX_CORRUPT', 'bad end marker');
}

/** The header's byte length from the preamble, checked against the file. */
export function headerLength(pre: Uint8Array, size: number, fail: Fail): number {
  const headerLen = u32At(pre, 12);
  if (PREAMBLE + headerLen > size - FOOTER) fail('ERR_INDEX_CORRUPT', 'header length exceeds the file');
  return headerLen;
}

export function parseHeader(json: Uint8Array, fail: Fail): FileHeader {
  let header: FileHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json)) as FileHeader;
  } catch {
    return fail('ERR_INDEX_CORRUPT', 'header is not valid JSON');
  }
  if (header === null || header.format !== 'sparse-encoder-index' || typeof header.sections !== 'object' || header.sections === null) {
    fail('ERR_INDEX_FORMAT', 'header does not describe a sparse-encoder index');
  }
  return header;
}

/**
 * Validates an index file's bytes: magic (else ERR_INDEX_FORMAT), version (ERR_INDEX_VERSION),
 * length (ERR_INDEX_TRUNCATED), checksum and structure (ERR_INDEX_CORRUPT); sections are then
 * viewed in place (`bytes` must start 8-byte aligned). `checksum` computes the CRC-32 (zlib's on Node).
 */
export function parseIndexBytes(bytes: Uint8Array, path: string, verifyChecksum = true, checksum: (b: Uint8Array) => number = crc32): OpenedFile {
  assertLittleEndian();
  const fail = failer(path);
  const n = bytes.length;
  checkFrame(bytes.subarray(0, PREAMBLE), n, () => bytes.subarray(n - FOOTER), fail);
  if (verifyChecksum) {
    const want = u32At(bytes, n - FOOTER);
    const got = checksum(bytes.subarray(0, n - FOOTER)) >>> 0;
    if (want !== got) fail('ERR_INDEX_CORRUPT', `checksum mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`);
  }
  const headerLen = headerLength(bytes, n, fail);
  const header = parseHeader(bytes.subarray(PREAMBLE, PREAMBLE + headerLen), fail);
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

export function view(buffer: ArrayBufferLike, at: number, count: number, dtype: SectionDtype): SectionArray {
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
export function checkSection(
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

