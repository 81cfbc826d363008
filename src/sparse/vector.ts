import { SparseEncoderError } from '../errors.js';

/**
 * A sparse vector over a vocabulary: `indices` strictly ascending, `values` aligned with them.
 * Zeros are never stored. `dim` is the vocabulary size (the dense length).
 */
export interface SparseVector {
  readonly indices: Uint32Array;
  readonly values: Float32Array;
  readonly dim: number;
}

export function emptyVector(dim: number): SparseVector {
  return { indices: new Uint32Array(0), values: new Float32Array(0), dim };
}

/** Builds a vector from a dense array, dropping exact zeros. */
export function fromDense(dense: ArrayLike<number>): SparseVector {
  let nnz = 0;
  for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) nnz++;
  const indices = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  let j = 0;
  for (let i = 0; i < dense.length; i++) {
    const v = dense[i]!;
    if (v !== 0) {
      indices[j] = i;
      values[j++] = v;
    }
  }
  return { indices, values, dim: dense.length };
}

export function toDense(v: SparseVector): Float32Array {
  const out = new Float32Array(v.dim);
  for (let i = 0; i < v.indices.length; i++) out[v.indices[i]!] = v.values[i]!;
  return out;
}

/**
 * Builds a vector from unsorted (index, value) pairs, as read from JSON. Sorts, rejects
 * duplicates and out-of-range indices, drops zeros.
 */
export function fromPairs(indices: ArrayLike<number>, values: ArrayLike<number>, dim: number): SparseVector {
  if (indices.length !== values.length) {
    throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `sparse vector has ${indices.length} indices but ${values.length} values`);
  }
  const order = Array.from({ length: indices.length }, (_, i) => i);
  order.sort((a, b) => indices[a]! - indices[b]!);
  const outI: number[] = [];
  const outV: number[] = [];
  let prev = -1;
  for (const k of order) {
    const idx = indices[k]!;
    const val = values[k]!;
    if (!Number.isInteger(idx) || idx < 0 || idx >= dim) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `sparse vector index ${idx} is outside [0, ${dim})`);
    }
    if (idx === prev) throw new SparseEncoderError('ERR_INVALID_INPUT', `sparse vector index ${idx} appears twice`);
    // Stored as float32: a finite double beyond its range (JSON's 1e308) would become Infinity there.
    const f = typeof val === 'number' ? Math.fround(val) : NaN;
    if (!Number.isFinite(f)) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `sparse vector value at index ${idx} is not a finite float32 number (got ${String(val).slice(0, 40)})`);
    }
    prev = idx;
    // A value that rounds to zero in float32 (a subnormal double) is no entry.
    if (f !== 0) {
      outI.push(idx);
      outV.push(f);
    }
  }
  return { indices: Uint32Array.from(outI), values: Float32Array.from(outV), dim };
}

/** Dot product by merging the two sorted index lists. Accumulates in float64. */
export function dot(a: SparseVector, b: SparseVector): number {
  const ai = a.indices, bi = b.indices, av = a.values, bv = b.values;
  let i = 0, j = 0, s = 0;
  while (i < ai.length && j < bi.length) {
    const x = ai[i]!, y = bi[j]!;
    if (x === y) s += av[i++]! * bv[j++]!;
    else if (x < y) i++;
    else j++;
  }
  return s;
}

export function norm(v: SparseVector): number {
  let s = 0;
  for (let i = 0; i < v.values.length; i++) s += v.values[i]! * v.values[i]!;
  return Math.sqrt(s);
}

/** Cosine similarity; an all-zero vector gives 0, not NaN (as sentence-transformers). */
export function cosine(a: SparseVector, b: SparseVector): number {
  const n = norm(a) * norm(b);
  return n === 0 ? 0 : dot(a, b) / n;
}

/** Indices present in both vectors, with the element-wise product of their values. */
export function intersection(a: SparseVector, b: SparseVector): SparseVector {
  const outI: number[] = [];
  const outV: number[] = [];
  let i = 0, j = 0;
  while (i < a.indices.length && j < b.indices.length) {
    const x = a.indices[i]!, y = b.indices[j]!;
    if (x === y) {
      const p = a.values[i]! * b.values[j]!;
      if (p !== 0) {
        outI.push(x);
        outV.push(p);
      }
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return { indices: Uint32Array.from(outI), values: Float32Array.from(outV), dim: a.dim };
}

/** A caller's `maxActiveDims`: a positive integer, or ERR_INVALID_ARGUMENT. */
export function checkMaxActiveDims(k: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `maxActiveDims must be a positive integer, got ${k}`);
  }
}

/**
 * Keeps the `k` entries of largest magnitude (as sentence-transformers' `max_active_dims`).
 * Ties at the cut are broken by lower index first so the result is deterministic.
 */
export function topKByMagnitude(v: SparseVector, k: number): SparseVector {
  if (!Number.isInteger(k) || k < 0) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `maxActiveDims must be a non-negative integer, got ${k}`);
  }
  if (v.indices.length <= k) return v;
  const order = Array.from({ length: v.indices.length }, (_, i) => i);
  order.sort((x, y) => Math.abs(v.values[y]!) - Math.abs(v.values[x]!) || x - y);
  const keep = order.slice(0, k).sort((x, y) => x - y);
  return {
    indices: Uint32Array.from(keep, (i) => v.indices[i]!),
    values: Float32Array.from(keep, (i) => v.values[i]!),
    dim: v.dim,
  };
}

/** Entries sorted by descending value (ties: lower index first), optionally only the first `topK`. */
export function topEntries(v: SparseVector, topK?: number): Array<[index: number, value: number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < v.indices.length; i++) pairs.push([v.indices[i]!, v.values[i]!]);
  pairs.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
  return topK === undefined ? pairs : pairs.slice(0, topK);
}

/**
 * The elementwise maximum (`'max'`) or sum (`'sum'`, added in the order given, rounded to float32
 * at each step as a float32 tensor sum would be) of vectors of one dimension; absent entries are 0.
 */
export function mergeVectors(vectors: readonly SparseVector[], rule: 'max' | 'sum'): SparseVector {
  if (vectors.length === 0) throw new Error('mergeVectors: no vectors');
  if (vectors.length === 1) return vectors[0]!;
  const dim = vectors[0]!.dim;
  const acc = new Map<number, number>();
  for (const v of vectors) {
    if (v.dim !== dim) throw new Error(`mergeVectors: dimensions ${dim} and ${v.dim}`);
    for (let j = 0; j < v.indices.length; j++) {
      const i = v.indices[j]!;
      const x = v.values[j]!;
      const prev = acc.get(i);
      acc.set(i, prev === undefined ? x : rule === 'max' ? Math.max(prev, x) : Math.fround(prev + x));
    }
  }
  const indices = Uint32Array.from(acc.keys()).sort();
  const values = Float32Array.from(indices, (i) => acc.get(i)!);
  return { indices, values, dim };
}
