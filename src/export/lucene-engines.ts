import { SparseEncoderError } from '../errors.js';
import { NDJSON_FRAME, batchRecords, checkRecord, withFields } from './batcher.js';
import type { BatchOptions, ExportBatch, ExportQuery, ExportRecord, ExportWarning, RecordSource, TokenOf } from './types.js';
import { describeRecord, reportChanges, tokenTerms, type TokenTerms } from './weights.js';

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
 */

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
}

/** Options of {@link elasticsearchDocument} and {@link elasticsearchQuery}. */
export interface ElasticsearchDocumentOptions extends OpenSearchDocumentOptions {
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
export interface ElasticsearchExportOptions extends OpenSearchExportOptions, ElasticsearchDocumentOptions {}

const DEFAULT_FIELD = 'sparse';

/** The source document of one record: `fields` plus `{[field]: {token: weight}}` (OpenSearch `rank_features`). */
export function openSearchDocument(record: ExportRecord, options: OpenSearchDocumentOptions = {}): Record<string, unknown> {
  const what = describeRecord(undefined, record?.id);
  checkRecord(record, what);
  return luceneDocument(record, options, dotRename(options.dotReplacement ?? null), what);
}

/** The source document of one record for an Elasticsearch `sparse_vector` field. */
export function elasticsearchDocument(record: ExportRecord, options: ElasticsearchDocumentOptions = {}): Record<string, unknown> {
  const what = describeRecord(undefined, record?.id);
  checkRecord(record, what);
  return luceneDocument(record, options, dotRename(options.dotReplacement), what);
}

/** `_bulk` NDJSON bodies for OpenSearch (action line + document line per record, final newline). */
export async function* openSearchBulk(records: RecordSource, options: OpenSearchExportOptions = {}): AsyncGenerator<ExportBatch> {
  yield* bulk(records, options, dotRename(options.dotReplacement ?? null));
}

/** `_bulk` NDJSON bodies for Elasticsearch (action line + document line per record, final newline). */
export async function* elasticsearchBulk(records: RecordSource, options: ElasticsearchExportOptions = {}): AsyncGenerator<ExportBatch> {
  yield* bulk(records, options, dotRename(options.dotReplacement));
}

/** `{"query": {"neural_sparse": {"<field>": {"query_tokens": {token: weight}}}}}` for `_search`. */
export function openSearchQuery(query: ExportQuery, options: OpenSearchDocumentOptions = {}): Record<string, unknown> {
  const field = fieldName(options.field);
  const terms = queryTerms(query, options, dotRename(options.dotReplacement ?? null));
  return { query: { neural_sparse: { [field]: { query_tokens: terms } } } };
}

/** `{"query": {"sparse_vector": {"field": "<field>", "query_vector": {token: weight}}}}` for `_search`. */
export function elasticsearchQuery(query: ExportQuery, options: ElasticsearchDocumentOptions = {}): Record<string, unknown> {
  const field = fieldName(options.field);
  const terms = queryTerms(query, options, dotRename(options.dotReplacement));
  return { query: { sparse_vector: { field, query_vector: terms } } };
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
  const t = tokenTerms(record, { tokenOf: options.tokenOf, rule: 'positive-normal', rename }, what);
  reportChanges(options.onWarning, record.id, t);
  doc[field] = t.terms;
  return doc;
}

function queryTerms(query: ExportQuery, options: OpenSearchDocumentOptions, rename: ((t: string) => string) | undefined): Record<string, number> {
  if (query === null || typeof query !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', 'query must be an object {vector, tokens?}');
  const t: TokenTerms = tokenTerms(query, { tokenOf: options.tokenOf, rule: 'positive-normal', rename }, 'query');
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
