import { SparseEncoderError } from '../errors.js';
import { fromPairs, type SparseVector } from '../sparse/vector.js';
import { approximateSettings, checkApproximate, type ApproximateSettings } from '../inverted-index/search-settings.js';
import type { EncodeMode, WindowSettings } from './protocol.js';

/** Request size limits, resolved from the server options. */
export interface RequestLimits {
  maxTexts: number;
  maxTextLength: number;
  maxK: number;
}

export interface EncodeRequest {
  texts: string[];
  task: EncodeMode;
  maxActiveDims?: number;
  tokens: boolean;
  /** `longDocuments: "window"`: encode long texts in token windows. */
  window?: WindowSettings;
  /** Each vector with its terms explained (tokens, input vs expansion, producing position). */
  explain: boolean;
}

export interface ExplainRequest {
  query: string;
  documents: string[];
  maxActiveDims?: number;
}

/** Exactly one of `texts` (encoded as queries) and `vectors` is set. */
export interface SearchRequest {
  texts?: string[];
  vectors?: SparseVector[];
  k: number;
  exact: boolean;
  fields: boolean;
  /** Approximate settings (exact: false only); absent: the index's defaults. */
  approximate: ApproximateSettings;
  /** Each hit with its score broken down by shared term. */
  explain: boolean;
}

export interface SimilarityRequest {
  queries: string[];
  documents: string[];
}

const TASKS: readonly EncodeMode[] = ['query', 'document', 'plain'];

/**
 * `POST /encode`: `{texts: string[]} | {text: string}`, `task` (default `plain`), `maxActiveDims`,
 * `tokens`, `longDocuments` (`truncate` default, or `window` with `windowTokens` and `stride`).
 */
export function parseEncodeRequest(body: unknown, limits: RequestLimits): EncodeRequest {
  const o = asObject(body, ['text', 'texts', 'task', 'maxActiveDims', 'tokens', 'longDocuments', 'windowTokens', 'stride', 'explain']);
  const texts = textsOf(o, 'text', 'texts', limits);
  const task = o['task'] ?? 'plain';
  if (typeof task !== 'string' || !TASKS.includes(task as EncodeMode)) {
    throw invalid(`task must be one of ${TASKS.map((t) => `'${t}'`).join(', ')}, got ${describe(task)}`, 'task');
  }
  const out: EncodeRequest = { texts, task: task as EncodeMode, tokens: booleanField(o, 'tokens', false), explain: booleanField(o, 'explain', false) };
  const k = maxActiveDimsOf(o);
  if (k !== undefined) out.maxActiveDims = k;
  const long = o['longDocuments'] ?? 'truncate';
  if (long !== 'truncate' && long !== 'window') throw invalid(`longDocuments must be 'truncate' or 'window', got ${describe(long)}`, 'longDocuments');
  const window: WindowSettings = {};
  for (const [key, min] of [['windowTokens', 1], ['stride', 0]] as const) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    if (long !== 'window') throw invalid(`${key} needs longDocuments 'window'`, key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalid(`${key} must be an integer of at least ${min}, got ${describe(v)}`, key);
    window[key] = v;
  }
  if (long === 'window') out.window = window;
  if (out.explain && long === 'window') throw invalid("explain does not combine with longDocuments 'window'", 'explain');
  return out;
}

/** `POST /explain`: `query`, and `document` or `documents` (optional), `maxActiveDims`. */
export function parseExplainRequest(body: unknown, limits: RequestLimits): ExplainRequest {
  const o = asObject(body, ['query', 'document', 'documents', 'maxActiveDims']);
  const query = o['query'];
  if (typeof query !== 'string') throw invalid(`"query" must be a string, got ${describe(query)}`, 'query');
  if (query.length > limits.maxTextLength) throw new SparseEncoderError('ERR_OVERSIZE_REQUEST', `"query" has ${query.length} characters, more than ${limits.maxTextLength}`, { details: { field: 'query' } });
  const documents = o['document'] === undefined && o['documents'] === undefined ? [] : textsOf(o, 'document', 'documents', limits);
  const out: ExplainRequest = { query, documents };
  const k = maxActiveDimsOf(o);
  if (k !== undefined) out.maxActiveDims = k;
  return out;
}

function maxActiveDimsOf(o: Record<string, unknown>): number | undefined {
  const k = o['maxActiveDims'];
  if (k === undefined || k === null) return undefined;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `maxActiveDims must be a positive integer, got ${describe(k)}`, { details: { field: 'maxActiveDims' } });
  }
  return k;
}

/**
 * `POST /search`: one of `query`, `queries`, `vector`, `vectors`; `k` (default 10), `exact`
 * (default true), `fields` (default true); with `exact: false`, optionally `approximateAlgorithm`,
 * `heapFactor`, `queryTermCut`, `summaryFactor` (SearchOptions; default: the index's).
 */
export function parseSearchRequest(body: unknown, limits: RequestLimits, dim: number): SearchRequest {
  const o = asObject(body, ['query', 'queries', 'vector', 'vectors', 'k', 'exact', 'fields', 'approximateAlgorithm', 'heapFactor', 'queryTermCut', 'summaryFactor', 'explain']);
  const given = ['query', 'queries', 'vector', 'vectors'].filter((f) => o[f] !== undefined);
  if (given.length !== 1) {
    throw invalid(`give exactly one of "query", "queries", "vector", "vectors"${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`);
  }
  const k = o['k'] ?? 10;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > limits.maxK) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `k must be an integer from 1 to ${limits.maxK}, got ${describe(k)}`, { details: { field: 'k' } });
  }
  const out: SearchRequest = { k, exact: booleanField(o, 'exact', true), fields: booleanField(o, 'fields', true), approximate: approximateOf(o), explain: booleanField(o, 'explain', false) };
  const set = Object.keys(out.approximate);
  if (out.exact && set.length > 0) throw invalid(`"${set[0]}" is an approximate setting: add "exact": false`, set[0]);
  if (given[0] === 'query' || given[0] === 'queries') {
    out.texts = textsOf(o, 'query', 'queries', limits);
  } else if (given[0] === 'vector') {
    out.vectors = [vectorOf(o['vector'], 'vector', dim)];
  } else {
    const list = o['vectors'];
    if (!Array.isArray(list)) throw invalid(`"vectors" must be an array, got ${describe(list)}`, 'vectors');
    if (list.length > limits.maxTexts) throw tooMany(list.length, limits.maxTexts, 'vectors');
    out.vectors = list.map((v, i) => vectorOf(v, `vectors[${i}]`, dim));
  }
  return out;
}

function approximateOf(o: Record<string, unknown>): ApproximateSettings {
  const out = approximateSettings(o);
  const algorithm = out.approximateAlgorithm;
  if (algorithm !== undefined && algorithm !== 'auto' && algorithm !== 'blocks' && algorithm !== 'ranges') {
    throw invalid(`approximateAlgorithm must be 'auto', 'blocks' or 'ranges', got ${describe(algorithm)}`, 'approximateAlgorithm');
  }
  checkApproximate(out);
  // A bound on the request, beyond the library's check.
  if (out.queryTermCut !== undefined && out.queryTermCut > 100_000) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `queryTermCut must be an integer from 1 to 100000, got ${out.queryTermCut}`, { details: { field: 'queryTermCut' } });
  }
  return out;
}

/** `POST /similarity`: `queries` and `documents`, both string arrays. */
export function parseSimilarityRequest(body: unknown, limits: RequestLimits): SimilarityRequest {
  const o = asObject(body, ['queries', 'documents']);
  const queries = stringList(o['queries'], 'queries', limits);
  const documents = stringList(o['documents'], 'documents', limits);
  if (queries.length + documents.length > limits.maxTexts) throw tooMany(queries.length + documents.length, limits.maxTexts, 'queries + documents');
  return { queries, documents };
}

function asObject(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid(`the request body must be a JSON object, got ${describe(body)}`);
  const o = body as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    // A misspelt option would otherwise be ignored without a word.
    if (!allowed.includes(key)) throw invalid(`unknown field "${key}" (expected ${allowed.map((a) => `"${a}"`).join(', ')})`, key);
  }
  return o;
}

/** Exactly one of a single-text field and a list field. */
function textsOf(o: Record<string, unknown>, one: string, many: string, limits: RequestLimits): string[] {
  if (o[one] !== undefined && o[many] !== undefined) throw invalid(`give "${one}" or "${many}", not both`);
  if (o[one] !== undefined) {
    const t = o[one];
    if (typeof t !== 'string') throw invalid(`"${one}" must be a string, got ${describe(t)}`, one);
    checkLength(t, one, limits);
    return [t];
  }
  if (o[many] === undefined) throw invalid(`missing "${many}" (an array of strings) or "${one}" (a string)`);
  return stringList(o[many], many, limits);
}

function stringList(v: unknown, field: string, limits: RequestLimits): string[] {
  if (!Array.isArray(v)) throw invalid(`"${field}" must be an array of strings, got ${describe(v)}`, field);
  if (v.length > limits.maxTexts) throw tooMany(v.length, limits.maxTexts, field);
  for (let i = 0; i < v.length; i++) {
    const t: unknown = v[i];
    if (typeof t !== 'string') {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${field}[${i}] is ${describe(t)}, expected a string`, { details: { field, index: i } });
    }
    checkLength(t, `${field}[${i}]`, limits);
  }
  return v as string[];
}

function checkLength(t: string, label: string, limits: RequestLimits): void {
  if (t.length > limits.maxTextLength) {
    throw new SparseEncoderError('ERR_OVERSIZE_REQUEST', `${label} has ${t.length} characters, more than the limit of ${limits.maxTextLength}`, {
      details: { field: label, length: t.length, maxTextLength: limits.maxTextLength },
    });
  }
}

function vectorOf(v: unknown, label: string, dim: number): SparseVector {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${label} must be an object {indices, values}, got ${describe(v)}`, label);
  const { indices, values } = v as Record<string, unknown>;
  if (!Array.isArray(indices) || !Array.isArray(values)) throw invalid(`${label} must have "indices" and "values" arrays`, label);
  if (!values.every((x) => typeof x === 'number')) throw invalid(`${label}.values must be numbers`, label);
  try {
    return fromPairs(indices as number[], values as number[], dim);
  } catch (err) {
    if (err instanceof SparseEncoderError) throw new SparseEncoderError('ERR_INVALID_INPUT', `${label}: ${err.message}`, { cause: err, details: { field: label } });
    throw err;
  }
}

function booleanField(o: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = o[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalid(`"${field}" must be true or false, got ${describe(v)}`, field);
  return v;
}

function tooMany(n: number, max: number, field: string): SparseEncoderError {
  return new SparseEncoderError('ERR_OVERSIZE_REQUEST', `${field}: ${n} items, more than the limit of ${max} per request`, { details: { field, count: n, max } });
}

function invalid(message: string, field?: string): SparseEncoderError {
  return new SparseEncoderError('ERR_INVALID_INPUT', message, field === undefined ? {} : { details: { field } });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' || t === 'undefined' ? `an ${t}` : `a ${t}`;
}
