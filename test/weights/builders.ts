/**
 * Small writers used only by the tests to build checkpoints by hand (safetensors, stored/deflated
 * zips, pickles). They follow the published formats, not our readers.
 */
import { deflateRawSync } from 'node:zlib';

export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** A safetensors file: u64 LE header length, JSON header, data. `headerOverride` lets tests corrupt it. */
export function safetensorsBytes(tensors: Record<string, RawTensor>, headerOverride?: (h: Record<string, unknown>) => void): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.byteLength] };
    off += t.bytes.byteLength;
  }
  headerOverride?.(header);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.byteLength + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let p = 8 + json.byteLength;
  for (const t of Object.values(tensors)) {
    out.set(t.bytes, p);
    p += t.bytes.byteLength;
  }
  return out;
}

export function f32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A zip archive (PKWARE APPNOTE 4.3.7 / 4.3.12 / 4.3.16), entries stored or deflated. With `zip64`
 * every size and offset goes through the zip64 records (4.3.14, 4.3.15, 4.5.3), as for files over 4 GiB.
 */
export function zipBytes(entries: Array<{ name: string; data: Uint8Array; deflated?: { body: Uint8Array; size: number } }>, zipMethod: 0 | 8 = 0, zip64 = false): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    // `deflated`: an entry given already compressed, declaring `size` bytes (for zip-bomb tests).
    const e = entry.deflated === undefined ? entry : { ...entry, data: { byteLength: entry.deflated.size } as Uint8Array };
    const method = entry.deflated === undefined ? zipMethod : 8;
    const name = Buffer.from(e.name, 'utf8');
    const body = entry.deflated !== undefined ? entry.deflated.body : method === 8 ? deflateRawSync(e.data) : e.data;
    const crc = entry.deflated === undefined ? crc32(e.data) : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.byteLength, 18);
    local.writeUInt32LE(e.data.byteLength, 22);
    local.writeUInt16LE(name.byteLength, 26);
    parts.push(local, name, body);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(zip64 ? 0xffffffff : body.byteLength, 20);
    cd.writeUInt32LE(zip64 ? 0xffffffff : e.data.byteLength, 24);
    cd.writeUInt16LE(name.byteLength, 28);
    cd.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    if (zip64) {
      const extra = Buffer.alloc(28);
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(e.data.byteLength), 4);
      extra.writeBigUInt64LE(BigInt(body.byteLength), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
      cd.writeUInt16LE(extra.byteLength, 30);
      central.push(cd, name, extra);
    } else {
      central.push(cd, name);
    }
    offset += 30 + name.byteLength + body.byteLength;
  }
  const cdSize = central.reduce((a, b) => a + b.byteLength, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cdSize, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  if (!zip64) return Buffer.concat([...parts, ...central, eocd]);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(entries.length), 24);
  record.writeBigUInt64LE(BigInt(entries.length), 32);
  record.writeBigUInt64LE(BigInt(cdSize), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cdSize), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...parts, ...central, record, locator, eocd]);
}

/**
 * Reads every entry of a stored-only zip through its central directory (torch writes sizes only
 * there and in data descriptors, not in local headers). Independent of src/weights/zip.ts.
 */
export function storedZipEntries(bytes: Uint8Array): Array<{ name: string; data: Uint8Array }> {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = b.readUInt16LE(eocd + 10);
  let p = b.readUInt32LE(eocd + 16);
  const out: Array<{ name: string; data: Uint8Array }> = [];
  for (let i = 0; i < count; i++) {
    const size = b.readUInt32LE(p + 20);
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    const local = b.readUInt32LE(p + 42);
    const name = b.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const start = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    out.push({ name, data: b.subarray(start, start + size) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Pickle opcodes (CPython Lib/pickletools.py), emitted one by one by the tests. */
export class PickleWriter {
  private readonly bytes: number[] = [];
  op(code: number, ...operand: number[]): this {
    this.bytes.push(code, ...operand);
    return this;
  }
  proto(n: number): this {
    return this.op(0x80, n);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'utf8'));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return b.byteLength < 256 ? this.op(0x8c, b.byteLength, ...b) : this.op(0x58, ...u32(b.byteLength), ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    return this.op(0x4a, ...u32(n >>> 0));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  reduce(): this {
    return this.op(0x52);
  }
  /**
   * The argument tuple of `torch._utils._rebuild_tensor_v2` and its REDUCE, after the caller has
   * pushed the callable: (persistent storage id, offset, size, stride, requires_grad=False,
   * OrderedDict() backward hooks), as torch.save writes a tensor.
   */
  rebuildTensorArgs(storageType: string, key: string, numel: number, offset: number, size: readonly number[], stride: readonly number[]): this {
    this.mark();
    this.mark().str('storage').global('torch', storageType).str(key).str('cpu').int(numel).tuple().op(0x51); // BINPERSID
    this.int(offset);
    this.mark();
    size.forEach((s) => this.int(s));
    this.tuple();
    this.mark();
    stride.forEach((s) => this.int(s));
    this.tuple();
    this.op(0x89); // NEWFALSE
    this.global('collections', 'OrderedDict').op(0x29).reduce(); // OrderedDict()
    return this.tuple().reduce();
  }
  stop(): Uint8Array {
    this.bytes.push(0x2e);
    return Uint8Array.from(this.bytes);
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
