/**
 * Up-casting of stored floating-point formats to float32. Every weight is computed in float32
 * (ORACLE.md "bfloat16 weights": the reference runs bf16 checkpoints upcast to float32).
 */

/** The floating dtypes we read, by their safetensors names. */
export type FloatDtype = 'F64' | 'F32' | 'F16' | 'BF16';

/** Bytes per element of each safetensors dtype we know about (float or not). */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Integer and boolean dtypes: buffers such as `position_ids`, never float weights. */
export const NON_FLOAT_DTYPES: ReadonlySet<string> = new Set(['I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL']);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** bfloat16 is the upper half of a float32 bit pattern: the conversion is exact. */
export function bf16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

/** One IEEE 754 half-precision bit pattern to its (exact) float value. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// Every half value is exactly representable in float32, so a 64K lookup table is exact.
let halfTable: Float32Array | undefined;
function getHalfTable(): Float32Array {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

export function f16ToFloat32(bits: Uint16Array): Float32Array {
  const table = getHalfTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/**
 * Decodes `count` little-endian elements of `dtype` starting at `bytes[0]` into float32.
 * F32 at a 4-byte-aligned address on a little-endian host is returned as a view (no copy);
 * everything else is copied.
 */
export function decodeFloats(bytes: Uint8Array, dtype: FloatDtype, count: number): Float32Array {
  const size = count * DTYPE_BYTES[dtype]!;
  const b = bytes.subarray(0, size);
  switch (dtype) {
    case 'F32':
      if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, count);
      return readWithView(b, count, 4, (dv, o) => dv.getFloat32(o, true));
    case 'F64':
      return readWithView(b, count, 8, (dv, o) => dv.getFloat64(o, true));
    case 'F16':
      return f16ToFloat32(readU16(b, count));
    case 'BF16':
      return bf16ToFloat32(readU16(b, count));
  }
}

function readU16(b: Uint8Array, count: number): Uint16Array {
  if (LITTLE_ENDIAN && b.byteOffset % 2 === 0) return new Uint16Array(b.buffer, b.byteOffset, count);
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = b[2 * i]! | (b[2 * i + 1]! << 8);
  return out;
}

function readWithView(b: Uint8Array, count: number, width: number, get: (dv: DataView, o: number) => number): Float32Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = get(dv, i * width);
  return out;
}
