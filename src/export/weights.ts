import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import type { ExportWarning, TokenOf, TokenWeights } from './types.js';

/**
 * Which weights an engine accepts:
 * - `positive-normal`: Lucene's FeatureField (behind OpenSearch `rank_features` and Elasticsearch
 *   `sparse_vector`) rejects non-finite values and anything below Float.MIN_NORMAL (2^-126).
 * - `non-negative`: Milvus SPARSE_FLOAT_VECTOR takes finite values >= 0.
 * - `finite`: anything JSON can carry (Qdrant, Vespa).
 */
export type WeightRule = 'positive-normal' | 'non-negative' | 'finite';

/** Float.MIN_NORMAL: the smallest weight Lucene's FeatureField accepts. */
export const LUCENE_MIN_WEIGHT = 2 ** -126;

/** Every engine here stores float32: round to float32 and print the shortest decimal that reads back the same. */
export function float32Weight(v: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f) || f === 0) return f;
  // 9 significant digits always read back; if p digits do, so do p + 1 (closer to f), so the
  // shortest p can be found by bisection (3-4 toPrecision calls instead of up to 9).
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(f.toPrecision(mid))) === f) hi = mid;
    else lo = mid + 1;
  }
  return Number(f.toPrecision(lo));
}

export function acceptsWeight(v: number, rule: WeightRule): boolean {
  if (!Number.isFinite(v)) return false;
  if (rule === 'positive-normal') return v >= LUCENE_MIN_WEIGHT;
  if (rule === 'non-negative') return v >= 0;
  return true;
}

/** Token-keyed weights of one document or query, after the engine's rules. */
export interface TokenTerms {
  /** `{token: weight}` with a null prototype (a token may be `__proto__`). */
  terms: Record<string, number>;
  dropped: number;
  renamed: number;
  merged: number;
}

export interface TokenTermOptions {
  tokenOf?: TokenOf | undefined;
  rule: WeightRule;
  /** Rewrites a token the engine cannot take as a key; returns the token itself when fine. */
  rename?: ((token: string) => string) | undefined;
}

/**
 * `{token: weight}` from decoded tokens when given, else from the vector through `tokenOf`.
 * Entries the engine rejects are dropped; keys that collide keep the largest weight (what
 * Elasticsearch does for repeated features, and OpenSearch rejects duplicates outright).
 */
export function tokenTerms(source: { vector: SparseVector; tokens?: TokenWeights | undefined }, options: TokenTermOptions, what: string): TokenTerms {
  const terms = Object.create(null) as Record<string, number>;
  const out: TokenTerms = { terms, dropped: 0, renamed: 0, merged: 0 };
  const add = (token: string, weight: unknown): void => {
    if (typeof weight !== 'number') {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: the weight of token ${JSON.stringify(token)} is not a number`);
    }
    const w = float32Weight(weight);
    if (!acceptsWeight(w, options.rule)) {
      out.dropped++;
      return;
    }
    let key = token;
    if (options.rename !== undefined) {
      key = options.rename(token);
      if (key !== token) out.renamed++;
    }
    const prev = terms[key];
    if (prev !== undefined) {
      out.merged++;
      if (w > prev) terms[key] = w;
    } else {
      terms[key] = w;
    }
  };
  if (source.tokens !== undefined) {
    if (source.tokens === null || typeof source.tokens !== 'object' || Array.isArray(source.tokens)) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: tokens must be an object {token: weight}`);
    }
    for (const [token, weight] of Object.entries(source.tokens)) add(token, weight);
    return out;
  }
  const tokenOf = options.tokenOf;
  if (tokenOf === undefined) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${what}: token-keyed formats need options.tokenOf (index → token) or decoded record.tokens`);
  }
  const { indices, values } = checkVector(source.vector, what);
  for (let i = 0; i < indices.length; i++) {
    const token = tokenOf(indices[i]!);
    if (typeof token !== 'string') {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: tokenOf(${indices[i]}) returned ${typeof token}, expected a string`);
    }
    add(token, values[i]!);
  }
  return out;
}

/** Index-keyed entries (ascending indices) of one vector, after the engine's rules. */
export interface IndexEntries {
  indices: number[];
  values: number[];
  dropped: number;
}

export function indexEntries(vector: SparseVector, rule: WeightRule, what: string): IndexEntries {
  const { indices, values } = checkVector(vector, what);
  const out: IndexEntries = { indices: [], values: [], dropped: 0 };
  for (let i = 0; i < indices.length; i++) {
    const w = float32Weight(values[i]!);
    if (!acceptsWeight(w, rule)) {
      out.dropped++;
      continue;
    }
    out.indices.push(indices[i]!);
    out.values.push(w);
  }
  return out;
}

/** Reports what a conversion changed, one event per kind. */
export function reportChanges(
  onWarning: ((w: ExportWarning) => void) | undefined,
  id: string | number | undefined,
  changes: { dropped: number; renamed?: number; merged?: number },
): void {
  if (onWarning === undefined) return;
  if (changes.dropped > 0) onWarning({ type: 'weights-dropped', id, count: changes.dropped });
  if ((changes.renamed ?? 0) > 0) onWarning({ type: 'tokens-renamed', id, count: changes.renamed! });
  if ((changes.merged ?? 0) > 0) onWarning({ type: 'tokens-merged', id, count: changes.merged! });
}

/** The SparseVector contract, checked because engines reject repeated indices (Qdrant, Milvus). */
function checkVector(vector: SparseVector, what: string): SparseVector {
  if (vector === null || typeof vector !== 'object' || !(vector.indices instanceof Uint32Array) || !(vector.values instanceof Float32Array)) {
    throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: vector must be a SparseVector (Uint32Array indices, Float32Array values)`);
  }
  const { indices, values } = vector;
  if (indices.length !== values.length) {
    throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `${what}: vector has ${indices.length} indices but ${values.length} values`);
  }
  for (let i = 1; i < indices.length; i++) {
    if (indices[i]! <= indices[i - 1]!) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: vector indices must be strictly ascending (index ${indices[i]} after ${indices[i - 1]})`);
    }
  }
  return vector;
}

/** `record 3 (id "doc-7")`: how errors name a record (0-based position in the input, when known). */
export function describeRecord(ordinal: number | undefined, id: unknown): string {
  return `record${ordinal === undefined ? '' : ` ${ordinal}`} (id ${JSON.stringify(id) ?? String(id)})`;
}
