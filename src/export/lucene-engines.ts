import { SparseEncoderError } from '../errors.js';
import { NDJSON_FRAME, batchRecords, checkRecord, withFields } from './batcher.js';
import type { BatchOptions, ExportBatch, ExportQuery, ExportRecord, ExportWarning, RecordSource, TokenOf } from './types.js';
import { describeRecord, float32Weight, indexEntries, reportChanges, tokenTerms, type TokenTerms } from './weights.js';

/*
 * OpenSearch and Elasticsearch: both index `{token: weight}` objects into Lucene FeatureFields and
 * ingest through `_bulk` NDJSON.
 *
 * Sources:
 * - _bulk: "action_and_meta_data\n optional_source\n ... The final line of data must end with a
 *   newline character \n" — https://www.elastic.co/guide/en/elasticsearch/reference/7.1/docs-bulk.html
 *   (OpenSearch keeps the same API).
 * - OpenSearch raw vectors: a `rank_features` field holding `{"hi": 4.338913, ...}` and the query
 *   `{"neural_sparse": {"<field>": {"query_tokens": {"<token>": <weight>}}}}` —
 *   https://docs.opensearch.org/docs/vector-search/ai-search/neural-sparse-with-raw-vectors and
 *   https://docs.opensearch.org/latest/query-dsl/specialized/neural-sparse/index
 * - Elasticsearch: `sparse_vector` field, "strictly positive values. ... negative values will be
 *   rejected" — https://www.elastic.co/guide/en/elasticsearch/reference/8.11/sparse-vector.html;
 *   query `{"sparse_vector": {"field": "ml.tokens", "query_vector": {"token1": 0.5}}}` —
 *   https://elastic.co/docs/reference/query-languages/query-dsl/query-dsl-sparse-vector-query
 * - Both store weights as Lucene FeatureField values, which must be finite and at least
 *   Float.MIN_NORMAL ("featureValue must be a positive normal float"); such entries are dropped
 *   and reported as `weights-dropped`.
 * - Dots: Elasticsearch refused feature names containing `.` ("[sparse_vector] fields do not
 *   support dots in feature names", SparseVectorFieldMapper from 8.11) until elastic/elasticsearch
 *   PR #111981 (2024) removed the check; Elastic's own ELSER output replaces `.` with `__` for this
 *   reason (elastic/elasticsearch PR #94389). We do the same by default so the output loads on every
 *   8.x cluster, and apply the same rewrite to queries so both sides agree. OpenSearch's
 *   RankFeaturesFieldMapper has no such check, so tokens go through unchanged there by default
 *   (`dotReplacement` is available for both).
 * - Query weights: OpenSearch's `neural_sparse` (neural-search `NeuralSparseQueryBuilder.doToQuery`)
 *   builds one `FeatureField.newLinearQuery(field, token, weight)` per token, and Lucene's
 *   `FeatureField.newLinearQuery` throws "weight must be in (0, 64]" (`MAX_WEIGHT = Long.SIZE`).
 *   A query with one weight above 64 is rejected whole, so we clamp such weights to 64 (reported as
 *   `weights-clamped`) or, on request, scale the whole query down (`query-rescaled`; ranking kept).
 *   Elasticsearch's `sparse_vector` query boosts a term query per token instead (no cap).
 * - Stored precision: FeatureField indexes `Float.floatToIntBits(value) >>> 15` as the term
 *   frequency, i.e. sign, exponent and 8 mantissa bits (9 significant bits); values are truncated,
 *   so a stored weight is up to 2^-8 (~0.39%) below ours. {@link luceneStoredWeight} reproduces it.
 * - Elasticsearch pruning: indices created on 8.19+/9.1+ default their `sparse_vector` fields to
 *   `index_options: {prune: true, pruning_config: {tokens_freq_ratio_threshold: 5,
 *   tokens_weight_threshold: 0.4}}`, and a `sparse_vector` query without `prune` uses them
 *   (https://elastic.co/docs/reference/elasticsearch/mapping-reference/sparse-vector), dropping
 *   query tokens and changing scores. Our query bodies say `"prune": false` (query parameter since
 *   8.15) unless asked to leave pruning to the index.
 * - OpenSearch 3.3+ `sparse_vector` fields (SEISMIC ANN, `index.sparse: true`) take token *ids*
 *   as keys ("tokens in the form of Integers", docs `neural-sparse-ann-configuration.md`) and
 *   accept `method_parameters` `{k, top_n, heap_factor}` in the query; see {@link OpenSearchFieldType}.
 */

/** Lucene's `FeatureField.MAX_WEIGHT` (`Long.SIZE`): the largest weight a linear feature query takes. */
export const OPENSEARCH_MAX_QUERY_WEIGHT = 64;

/**
 * The weight Lucene stores for `v` in a FeatureField (OpenSearch `rank_features`, Elasticsearch
 * `sparse_vector`): the float32 value with its low 15 bits cleared (FeatureField keeps
 * `floatToIntBits(v) >>> 15`). Useful to predict an engine's scores from ours.
 */
export function luceneStoredWeight(v: number): number {
  const f = new Float32Array([v]);
  const bits = new Uint32Array(f.buffer);
  bits[0] = (bits[0]! >>> 15) << 15;
  return f[0]!;
}

/**
 * The OpenSearch field that holds the vectors:
 * - `rank_features` (every version): `{token: weight}`, exact scoring by `neural_sparse`.
 * - `sparse_vector` (3.3+, with `index.sparse: true`): `{"<token id>": weight}`, approximate
 *   (SEISMIC) search once a segment has `approximate_threshold` documents.
 */
export type OpenSearchFieldType = 'rank_features' | 'sparse_vector';

/** `method_parameters` of a `neural_sparse` query on a `sparse_vector` field (OpenSearch 3.3+). */
export interface SeismicQueryParameters {
  /** Hits to return per shard. */
  k?: number;
  /** Query tokens kept (highest weights). */
  top_n?: number;
  /** Cluster-skipping slack; higher is more accurate and slower. */
  heap_factor?: number;
}

/** Options of {@link openSearchDocument} and {@link openSearchQuery}. */
export interface OpenSearchDocumentOptions {
  /** The `rank_features` field that holds `{token: weight}`. Default `'sparse'`. */
  field?: string;
  /** Index → token, for records without decoded `tokens`. Default: none (then every record needs `tokens`). */
  tokenOf?: TokenOf;
  /** Called when weights are dropped, tokens renamed or keys merged. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
  /**
   * What replaces `.` in tokens; `null` keeps tokens unchanged. OpenSearch's rank_features mapper
   * has no dot rule, so the default is `null`; set it if a cluster refuses dotted feature names.
   * Use the same value for documents and queries.
   */
  dotReplacement?: string | null;
  /**
   * The field's type: `sparse_vector` writes token ids (`"2075"`) instead of tokens, so needs
   * neither `tokenOf` nor dot handling. Default `'rank_features'`.
   */
  fieldType?: OpenSearchFieldType;
}

/** What {@link openSearchQuery} returns (the `_search` request body). */
export interface OpenSearchQueryBody {
  query: { neural_sparse: Record<string, { query_tokens: Record<string, number>; method_parameters?: SeismicQueryParameters }> };
}

/** What {@link elasticsearchQuery} returns (the `_search` request body). */
export interface ElasticsearchQueryBody {
  query: { sparse_vector: { field: string; query_vector: Record<string, number>; prune?: boolean; pruning_config?: ElasticsearchPruningConfig } };
}

/** Options of {@link openSearchQuery}. */
export interface OpenSearchQueryOptions extends OpenSearchDocumentOptions {
  /**
   * What to do with query weights above 64 (which OpenSearch refuses): `'clamp'` lowers each to 64
   * (`weights-clamped`), `'rescale'` multiplies the whole query by 64 / max (`query-rescaled`; the
   * ranking is the same, scores are scaled). Default `'clamp'`.
   */
  overWeight?: 'clamp' | 'rescale';
  /** `sparse_vector` fields only: the SEISMIC query parameters. Default: none (the engine's defaults). */
  methodParameters?: SeismicQueryParameters;
}

/** Elasticsearch token pruning (`pruning_config` of the `sparse_vector` query and field). */
export interface ElasticsearchPruningConfig {
  tokens_freq_ratio_threshold?: number;
  tokens_weight_threshold?: number;
  only_score_pruned_tokens?: boolean;
}

/** Options of {@link elasticsearchQuery}. */
export interface ElasticsearchQueryOptions extends ElasticsearchDocumentOptions {
  /**
   * Query-time pruning: `false` scores every query token (the exact dot product, as our index and
   * the Python reference); `'index'` leaves `prune` out so the field's `index_options` decide
   * (pruned by default on 8.19+/9.1+ indices); `true` or a config prunes. Default `false`.
   */
  prune?: boolean | 'index' | ElasticsearchPruningConfig;
}

/** Options of {@link elasticsearchDocument} and {@link elasticsearchQuery}. */
export interface ElasticsearchDocumentOptions extends Omit<OpenSearchDocumentOptions, 'fieldType'> {
  /**
   * What replaces `.` in tokens (Elasticsearch before PR #111981 rejects dotted feature names).
   * `null` keeps tokens unchanged (for clusters that accept dots). Use the same value for
   * documents and queries. Default `'__'`, as ELSER does.
   */
  dotReplacement?: string | null;
}

/** Options of {@link openSearchBulk}. */
export interface OpenSearchExportOptions extends BatchOptions, OpenSearchDocumentOptions {
  /** `_index` of each action line. Default: none (send the body to `/<index>/_bulk`). */
  index?: string;
  /** Bulk action: `index` replaces an existing document, `create` fails on one. Default `'index'`. */
  action?: 'index' | 'create';
}

/** Options of {@link elasticsearchBulk}. */
export interface ElasticsearchExportOptions extends Omit<OpenSearchExportOptions, 'fieldType'>, ElasticsearchDocumentOptions {}

const DEFAULT_FIELD = 'sparse';

/** The source document of one record: `fields` plus `{[field]: {token: weight}}` (OpenSearch `rank_features`). */
export function openSearchDocument(record: ExportRecord, options: OpenSearchDocumentOptions = {}): Record<string, unknown> {
  const what = describeRecord(undefined, record?.id);
  checkRecord(record, what);
  return luceneDocument(record, options, openSearchRename(options), what);
}

/** The source document of one record for an Elasticsearch `sparse_vector` field. */
export function elasticsearchDocument(record: ExportRecord, options: ElasticsearchDocumentOptions = {}): Record<string, unknown> {
  const what = describeRecord(undefined, record?.id);
  checkRecord(record, what);
  return luceneDocument(record, options, dotRename(options.dotReplacement), what);
}

/** `_bulk` NDJSON bodies for OpenSearch (action line + document line per record, final newline). */
export async function* openSearchBulk(records: RecordSource, options: OpenSearchExportOptions = {}): AsyncGenerator<ExportBatch> {
  yield* bulk(records, options, openSearchRename(options));
}

/** `_bulk` NDJSON bodies for Elasticsearch (action line + document line per record, final newline). */
export async function* elasticsearchBulk(records: RecordSource, options: ElasticsearchExportOptions = {}): AsyncGenerator<ExportBatch> {
  yield* bulk(records, options, dotRename(options.dotReplacement));
}

/**
 * `{"query": {"neural_sparse": {"<field>": {"query_tokens": {token: weight}}}}}` for `_search`;
 * weights above 64 are clamped or the query rescaled (see {@link OpenSearchQueryOptions.overWeight}).
 */
export function openSearchQuery(query: ExportQuery, options: OpenSearchQueryOptions = {}): OpenSearchQueryBody {
  const field = fieldName(options.field);
  const overWeight = options.overWeight ?? 'clamp';
  if (overWeight !== 'clamp' && overWeight !== 'rescale') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `overWeight must be 'clamp' or 'rescale', got ${String(overWeight)}`);
  const terms = queryTerms(query, options, openSearchRename(options));
  capWeights(terms, overWeight, options.onWarning);
  const clause: OpenSearchQueryBody['query']['neural_sparse'][string] = { query_tokens: terms };
  if (options.methodParameters !== undefined) {
    if ((options.fieldType ?? 'rank_features') !== 'sparse_vector') {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', "methodParameters apply to fieldType 'sparse_vector' only");
    }
    clause.method_parameters = seismicParameters(options.methodParameters);
  }
  return { query: { neural_sparse: { [field]: clause } } };
}

/**
 * `{"query": {"sparse_vector": {"field": "<field>", "query_vector": {token: weight}, "prune": false}}}`
 * for `_search` (see {@link ElasticsearchQueryOptions.prune}).
 */
export function elasticsearchQuery(query: ExportQuery, options: ElasticsearchQueryOptions = {}): ElasticsearchQueryBody {
  const field = fieldName(options.field);
  const terms = queryTerms(query, options, dotRename(options.dotReplacement));
  const clause: ElasticsearchQueryBody['query']['sparse_vector'] = { field, query_vector: terms };
  const prune = options.prune ?? false;
  if (typeof prune === 'boolean') clause.prune = prune;
  else if (prune !== 'index') {
    if (prune === null || typeof prune !== 'object') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', "prune must be true, false, 'index' or a pruning config");
    clause.prune = true;
    clause.pruning_config = { ...prune };
  }
  return { query: { sparse_vector: clause } };
}

/** Clamps weights above OpenSearch's cap, or scales every weight by cap / max. */
function capWeights(terms: Record<string, number>, mode: 'clamp' | 'rescale', onWarning: ((w: ExportWarning) => void) | undefined): void {
  let over = 0;
  let max = 0;
  for (const w of Object.values(terms)) {
    if (w > OPENSEARCH_MAX_QUERY_WEIGHT) over++;
    if (w > max) max = w;
  }
  if (over === 0) return;
  const factor = OPENSEARCH_MAX_QUERY_WEIGHT / max;
  for (const key of Object.keys(terms)) {
    const w = terms[key]!;
    // Rounding w * factor to float32 can land a hair above the cap; min() keeps it at 64.
    const next = mode === 'clamp' ? Math.min(w, OPENSEARCH_MAX_QUERY_WEIGHT) : float32Weight(w * factor);
    terms[key] = Math.min(next, OPENSEARCH_MAX_QUERY_WEIGHT);
  }
  onWarning?.({ type: mode === 'clamp' ? 'weights-clamped' : 'query-rescaled', id: undefined, count: mode === 'clamp' ? over : Object.keys(terms).length });
}

function seismicParameters(p: SeismicQueryParameters): SeismicQueryParameters {
  if (p === null || typeof p !== 'object') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'methodParameters must be an object {k?, top_n?, heap_factor?}');
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(p)) {
    if (key !== 'k' && key !== 'top_n' && key !== 'heap_factor') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `unknown method parameter '${key}' (k, top_n, heap_factor)`);
    const ok = key === 'heap_factor' ? typeof v === 'number' && Number.isFinite(v) && v > 0 : Number.isInteger(v) && (v as number) > 0;
    if (!ok) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `method parameter ${key} must be a positive ${key === 'heap_factor' ? 'number' : 'integer'}, got ${String(v)}`);
    out[key] = v as number;
  }
  return out;
}

function bulk(records: RecordSource, options: OpenSearchExportOptions, rename: ((t: string) => string) | undefined): AsyncGenerator<ExportBatch> {
  const action = options.action ?? 'index';
  if (action !== 'index' && action !== 'create') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `action must be 'index' or 'create', got ${String(action)}`);
  if (options.index !== undefined && (typeof options.index !== 'string' || options.index === '')) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'index must be a non-empty string');
  }
  fieldName(options.field);
  return batchRecords(
    records,
    (record, what) => {
      const meta: Record<string, unknown> = {};
      if (options.index !== undefined) meta['_index'] = options.index;
      meta['_id'] = String(record.id);
      const doc = luceneDocument(record, options, rename, what);
      return `${JSON.stringify({ [action]: meta })}\n${JSON.stringify(doc)}\n`;
    },
    NDJSON_FRAME,
    options,
  );
}

function luceneDocument(
  record: ExportRecord,
  options: OpenSearchDocumentOptions,
  rename: ((t: string) => string) | undefined,
  what: string,
): Record<string, unknown> {
  const field = fieldName(options.field);
  const doc = withFields(record.fields, [field], what);
  const t = terms(record, options, rename, what);
  reportChanges(options.onWarning, record.id, t);
  doc[field] = t.terms;
  return doc;
}

/** `{token: weight}`, or `{"<index>": weight}` for an OpenSearch `sparse_vector` field. */
function terms(source: ExportQuery, options: OpenSearchDocumentOptions, rename: ((t: string) => string) | undefined, what: string): TokenTerms {
  if (fieldType(options) === 'sparse_vector') {
    const e = indexEntries(source.vector, 'positive-normal', what);
    const out = Object.create(null) as Record<string, number>;
    for (let i = 0; i < e.indices.length; i++) out[String(e.indices[i])] = e.values[i]!;
    return { terms: out, dropped: e.dropped, renamed: 0, merged: 0 };
  }
  return tokenTerms(source, { tokenOf: options.tokenOf, rule: 'positive-normal', rename }, what);
}

function fieldType(options: OpenSearchDocumentOptions): OpenSearchFieldType {
  const t = options.fieldType ?? 'rank_features';
  if (t !== 'rank_features' && t !== 'sparse_vector') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `fieldType must be 'rank_features' or 'sparse_vector', got ${String(t)}`);
  return t;
}

/** OpenSearch keeps dots by default; token ids have none. */
function openSearchRename(options: OpenSearchDocumentOptions): ((t: string) => string) | undefined {
  return fieldType(options) === 'sparse_vector' ? undefined : dotRename(options.dotReplacement ?? null);
}

function queryTerms(query: ExportQuery, options: OpenSearchDocumentOptions, rename: ((t: string) => string) | undefined): Record<string, number> {
  if (query === null || typeof query !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', 'query must be an object {vector, tokens?}');
  const t = terms(query, options, rename, 'query');
  reportChanges(options.onWarning, undefined, t);
  return t.terms;
}

function dotRename(replacement: string | null | undefined): ((t: string) => string) | undefined {
  const r = replacement === undefined ? '__' : replacement;
  if (r === null) return undefined;
  if (typeof r !== 'string' || r.includes('.')) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'dotReplacement must be a string without dots, or null');
  return (t) => (t.includes('.') ? t.split('.').join(r) : t);
}

function fieldName(field: string | undefined): string {
  const f = field ?? DEFAULT_FIELD;
  if (typeof f !== 'string' || f === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'field must be a non-empty string');
  return f;
}
