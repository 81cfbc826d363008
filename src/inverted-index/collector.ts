import { SparseEncoderError } from '../errors.js';
import type { IndexDocument } from './types.js';

/**
 * Gathers documents into one compressed-sparse-row buffer (ordinal = insertion order), validating
 * as it goes: string ids, no duplicates, one dimension, ascending in-range indices, finite
 * non-negative values (learned sparse weights are ReLU outputs; pruning bounds rely on it).
 */
export class DocumentCollector {
  readonly ids: string[] = [];
  readonly fields: Array<string | null> = [];
  private readonly seen = new Map<string, number>();
  starts: Float64Array = new Float64Array(1024);
  terms: Uint32Array = new Uint32Array(1 << 16);
  values: Float32Array = new Float32Array(1 << 16);
  nnz = 0;
  hasFields = false;

  constructor(public dim: number | undefined) {}

  /** The ordinal of a collected id. */
  ordinalOf(id: string): number | undefined {
    return this.seen.get(id);
  }

  get count(): number {
    return this.ids.length;
  }

  /** `existing` rejects ids that are already in the index being extended. */
  add(doc: IndexDocument, existing?: (id: string) => boolean): void {
    const n = this.ids.length;
    if (doc === null || typeof doc !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', `document #${n} is not an object`);
    const { id, vector } = doc;
    if (typeof id !== 'string') throw new SparseEncoderError('ERR_INVALID_INPUT', `document #${n} has no string id`);
    if (this.seen.has(id) || existing?.(id)) {
      throw new SparseEncoderError('ERR_DUPLICATE_ID', `duplicate document id '${id}'`, { details: { id } });
    }
    if (!vector || typeof vector !== 'object' || !vector.indices || !vector.values) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `document '${id}' has no sparse vector`);
    }
    if (this.dim === undefined) {
      if (!Number.isInteger(vector.dim) || vector.dim < 1) throw new SparseEncoderError('ERR_INVALID_INPUT', `document '${id}' has an invalid dim ${vector.dim}`);
      this.dim = vector.dim;
    } else if (vector.dim !== this.dim) {
      throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `document '${id}' has dim ${vector.dim}, the index has ${this.dim}`, { details: { id } });
    }
    const { indices, values } = vector;
    const len = indices.length;
    if (values.length !== len) throw new SparseEncoderError('ERR_INVALID_INPUT', `document '${id}' has ${len} indices but ${values.length} values`);
    this.reserve(this.nnz + len);
    let prev = -1;
    let w = this.nnz;
    for (let i = 0; i < len; i++) {
      const t = indices[i]!;
      const v = values[i]!;
      if (!(t > prev) || t >= this.dim || !Number.isInteger(t)) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `document '${id}': index ${t} at position ${i} is out of range or not ascending`, { details: { id } });
      }
      if (!Number.isFinite(v) || v < 0) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `document '${id}': weight ${v} at index ${t} is not a finite non-negative number`, { details: { id } });
      }
      prev = t;
      if (v === 0) continue;
      this.terms[w] = t;
      this.values[w++] = v;
    }
    this.nnz = w;
    let fields: string | null = null;
    if (doc.fields !== undefined && doc.fields !== null) {
      if (typeof doc.fields !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', `document '${id}': fields must be an object`);
      fields = JSON.stringify(doc.fields);
      this.hasFields = true;
    }
    this.seen.set(id, n);
    this.ids.push(id);
    this.fields.push(fields);
    if (this.starts.length < n + 2) {
      const s = new Float64Array(this.starts.length * 2);
      s.set(this.starts);
      this.starts = s;
    }
    this.starts[n + 1] = w;
  }

  private reserve(size: number): void {
    if (size <= this.terms.length) return;
    let cap = this.terms.length;
    while (cap < size) cap *= 2;
    const t = new Uint32Array(cap);
    t.set(this.terms.subarray(0, this.nnz));
    const v = new Float32Array(cap);
    v.set(this.values.subarray(0, this.nnz));
    this.terms = t;
    this.values = v;
  }
}
