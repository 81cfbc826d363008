// The platform seam (package.json imports): zlib under Node, a refusal elsewhere.
import { inflateRaw } from '#inflate';
import { SparseEncoderError } from '../errors.js';

/**
 * A minimal zip reader for `torch.save` archives: central directory, stored and deflated
 * entries, zip64 sizes/offsets. No encryption, no multi-disk archives.
 */

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

export interface ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /**
   * The entry's bytes: a view into the archive when stored, a fresh buffer when deflated. An
   * entry that declares (or inflates to) more than `maxBytes`, or a deflated one that would grow
   * more than {@link MAX_INFLATE_RATIO} times, is refused before anything is allocated for it.
   */
  read(entry: ZipEntry, maxBytes?: number): Uint8Array;
}

/**
 * torch.save stores entries uncompressed; a deflated checkpoint is re-zipped by hand, and float
 * weights deflate by a few percent only. A ratio this high is a zip bomb, not a model.
 */
export const MAX_INFLATE_RATIO = 64;

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;

export function openZip(bytes: Uint8Array, source: string): ZipArchive {
  const corrupt = (msg: string): SparseEncoderError =>
    new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${source}: not a readable zip archive: ${msg}`, { details: { path: source } });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.byteLength;
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const u64 = (o: number): number => {
    const v = dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`64-bit field at ${o} is too large`);
    return Number(v);
  };
  const need = (o: number, n: number, what: string): void => {
    if (o < 0 || o + n > len) throw corrupt(`${what} at offset ${o} runs past the end of the file (${len} bytes)`);
  };

  // The end-of-central-directory record is within the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let o = len - 22; o >= Math.max(0, len - 22 - 65535); o--) {
    if (u32(o) === SIG_EOCD) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) throw corrupt('end of central directory not found');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(loc) !== SIG_ZIP64_LOCATOR) throw corrupt('zip64 locator missing');
    const z = u64(loc + 8);
    need(z, 56, 'zip64 end of central directory');
    if (u32(z) !== SIG_ZIP64_EOCD) throw corrupt('zip64 end of central directory signature mismatch');
    count = u64(z + 32);
    cdSize = u64(z + 40);
    cdOffset = u64(z + 48);
  }
  need(cdOffset, cdSize, 'central directory');

  const entries = new Map<string, ZipEntry>();
  const utf8 = new TextDecoder('utf-8');
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    need(p, 46, 'central directory entry');
    if (u32(p) !== SIG_CENTRAL) throw corrupt(`bad central directory entry signature at ${p}`);
    const method = u16(p + 10);
    let compressedSize = u32(p + 20);
    let uncompressedSize = u32(p + 24);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    let localHeaderOffset = u32(p + 42);
    need(p + 46, nameLen + extraLen, 'entry name');
    const name = utf8.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: only the fields whose 32-bit value is saturated are present, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = u16(e);
      const size = u16(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (uncompressedSize === 0xffffffff) (uncompressedSize = u64(q)), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(q)), (q += 8);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(q);
      }
      e += 4 + size;
    }
    entries.set(name, { name, method, compressedSize, uncompressedSize, localHeaderOffset });
    p = extraEnd + commentLen;
  }

  return {
    entries,
    read(entry: ZipEntry, maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
      if (entry.uncompressedSize > maxBytes) throw corrupt(`${entry.name} declares ${entry.uncompressedSize} bytes, more than the ${maxBytes} it may hold`);
      const h = entry.localHeaderOffset;
      need(h, 30, `local header of ${entry.name}`);
      if (u32(h) !== SIG_LOCAL) throw corrupt(`bad local header signature for ${entry.name}`);
      const start = h + 30 + u16(h + 26) + u16(h + 28);
      need(start, entry.compressedSize, `data of ${entry.name}`);
      const raw = bytes.subarray(start, start + entry.compressedSize);
      if (entry.method === 0) return raw;
      if (entry.method === 8) {
        if (entry.uncompressedSize > MAX_INFLATE_RATIO * Math.max(entry.compressedSize, 1024)) {
          throw corrupt(`${entry.name} would inflate ${entry.compressedSize} bytes to ${entry.uncompressedSize}: refused as a zip bomb`);
        }
        let out: Uint8Array;
        try {
          // Never more than the declared size: a lying header cannot make us inflate further.
          out = inflateRaw(raw, Math.max(1, entry.uncompressedSize));
        } catch (err) {
          if (err instanceof SparseEncoderError) throw err;
          throw corrupt(`cannot inflate ${entry.name}: ${(err as Error).message}`);
        }
        if (out.byteLength !== entry.uncompressedSize) throw corrupt(`${entry.name} inflates to ${out.byteLength} bytes, expected ${entry.uncompressedSize}`);
        return out;
      }
      throw corrupt(`${entry.name} uses compression method ${entry.method} (only stored and deflate are supported)`);
    },
  };
}
