/**
 * IEEE 754 half precision, which Node 20 has no typed array for. Encoding rounds to nearest even;
 * decoding goes through a 65,536-entry table built once.
 */
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

export function toHalf(value: number): number {
  F32[0] = value;
  const x = U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → infinity
  if (e <= 0) {
    if (e < -10) return sign; // underflow → zero
    mant |= 0x800000; // subnormal: shift in the implicit bit
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

let table: Float32Array | undefined;

/** The float value of every half-precision bit pattern. */
export function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    let v: number;
    if (e === 0) v = m * 2 ** -24;
    else if (e === 0x1f) v = m === 0 ? Infinity : NaN;
    else v = (1 + m / 1024) * 2 ** (e - 15);
    table[h] = sign * v;
  }
  return table;
}

export function fromHalf(h: number): number {
  return halfTable()[h & 0xffff]!;
}
