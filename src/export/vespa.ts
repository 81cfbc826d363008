import { SparseEncoderError } from '../errors.js';
import { NDJSON_FRAME, batchRecords, checkRecord, withFields } from './batcher.js';
import type { BatchOptions, ExportBatch, ExportQuery, ExportRecord, ExportWarning, RecordSource, TokenOf } from './types.js';
import { describeRecord, reportChanges, tokenTerms } from './weights.js';

/*
 * Vespa document feed with a mapped tensor field, e.g. `field sparse type tensor<float>(t{})`.
 *
 * Sources (Vespa document JSON format reference,
 * https://docs.vespa.ai/en/reference/schemas/document-json-format.html):
 * - Put: `{"put": "id:mynamespace:music::123", "fields": {...}}`.
 * - "Short form for tensors with a single mapped dimension: A map with the dimension key as key and
 *   the value as value ... The cells object can optionally be nested in an object under the key
 *   "cells"." We always nest under "cells": a bare map is ambiguous when a token is itself "cells",
 *   "values", "blocks" or "type" (all four are BERT vocabulary entries), and the nested form is also
 *   what older Vespa versions document ("tensorfield": {"cells": {"a": 2.0, "b": 3.0}}).
 * - Document ids: `id:<namespace>:<document-type>::<user-specified>` as in the put example; `:`
 *   separates the parts, so we refuse it in the namespace and type (the user part may hold anything).
 * Mapped tensor labels are arbitrary strings and cells any float, so tokens go through unchanged and
 * only non-finite weights are dropped. The feed is JSONL (one operation per line), which
 * `vespa feed` and vespa-feed-client read.
 *
 * Queries (https://docs.vespa.ai/en/reference/query-api-reference.html, ranking.features /
 * `input.query(name)`; tensor literal form from https://docs.vespa.ai/en/reference/tensor.html):
 * `{"yql": "select * from <type> where true", "ranking": "<profile>", "input.query(q)": "{...}"}`
 * with the rank profile `sum(query(q) * attribute(<field>))` that {@link vespaSchema} writes — the
 * exact dot product over every document. Labels in the literal are quoted ("Labels ... can be
 * quoted with single or double quotes"); a token containing both quote characters is dropped.
 */

/** Options of {@link vespaPut} and {@link vespaFeed}. */
export interface VespaPutOptions {
  /** Document type (schema name). Default `'doc'`. */
  documentType?: string;
  /** Id namespace. Default: the document type. */
  namespace?: string;
  /** The `tensor<float>(t{})` field. Default `'sparse'`. */
  field?: string;
  /** Index → token, for records without decoded `tokens`. Default: none. */
  tokenOf?: TokenOf;
  /** Called when weights are dropped or labels merged. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** Options of {@link vespaFeed}. */
export interface VespaExportOptions extends BatchOptions, VespaPutOptions {}

/** Options of {@link vespaQuery}. */
export interface VespaQueryOptions {
  /** Document type (schema name). Default `'doc'`. */
  documentType?: string;
  /** The rank profile. Default `'sparse'` (as {@link vespaSchema} names it). */
  rankProfile?: string;
  /** Name of the query tensor input. Default `'q'`. */
  queryTensor?: string;
  /** Hits to return. Default 10. */
  hits?: number;
  /** Index → token, for queries without decoded `tokens`. Default: none. */
  tokenOf?: TokenOf;
  /** Called when weights or labels are dropped. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** A Vespa put operation. */
export interface VespaPut {
  put: string;
  fields: Record<string, unknown>;
}

/** `id:<namespace>:<documentType>::<id>`. */
export function vespaDocumentId(id: string | number, options: { documentType?: string; namespace?: string } = {}): string {
  const { documentType, namespace } = idParts(options);
  return `id:${namespace}:${documentType}::${String(id)}`;
}

/** One put operation: `fields` plus `{[field]: {"cells": {token: weight}}}`. */
export function vespaPut(record: ExportRecord, options: VespaPutOptions = {}): VespaPut {
  const what = describeRecord(undefined, record?.id);
  checkRecord(record, what);
  return put(record, options, what);
}

/** JSONL feed batches, one put operation per line. */
export async function* vespaFeed(records: RecordSource, options: VespaExportOptions = {}): AsyncGenerator<ExportBatch> {
  idParts(options);
  yield* batchRecords(records, (record, what) => JSON.stringify(put(record, options, what)) + '\n', NDJSON_FRAME, options);
}

/** A query body for `POST /search/`: the query's tensor literal and the dot-product rank profile. */
export function vespaQuery(query: ExportQuery, options: VespaQueryOptions = {}): Record<string, unknown> {
  if (query === null || typeof query !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', 'query must be an object {vector, tokens?}');
  const documentType = identifier(idParts(options).documentType, 'documentType');
  const rankProfile = identifier(options.rankProfile ?? 'sparse', 'rankProfile');
  const tensor = identifier(options.queryTensor ?? 'q', 'queryTensor');
  const hits = options.hits ?? 10;
  if (!Number.isInteger(hits) || hits < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `hits must be a positive integer, got ${hits}`);
  const t = tokenTerms(query, { tokenOf: options.tokenOf, rule: 'finite' }, 'query');
  reportChanges(options.onWarning, undefined, t);
  const cells: string[] = [];
  let unquotable = 0;
  for (const [token, w] of Object.entries(t.terms)) {
    const quote = !token.includes('"') ? '"' : !token.includes("'") ? "'" : undefined;
    if (quote === undefined) unquotable++;
    else cells.push(`${quote}${token}${quote}:${w}`);
  }
  reportChanges(options.onWarning, undefined, { dropped: unquotable });
  return { yql: `select * from ${documentType} where true`, ranking: rankProfile, [`input.query(${tensor})`]: `{${cells.join(',')}}`, hits };
}

/** Rank profile and tensor names are identifiers in the schema language. */
export function identifier(v: unknown, name: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${name} must be an identifier ([A-Za-z_][A-Za-z0-9_]*), got ${JSON.stringify(v)}`);
  return v;
}

function put(record: ExportRecord, options: VespaPutOptions, what: string): VespaPut {
  const field = options.field ?? 'sparse';
  if (typeof field !== 'string' || field === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'field must be a non-empty string');
  const fields = withFields(record.fields, [field], what);
  const t = tokenTerms(record, { tokenOf: options.tokenOf, rule: 'finite' }, what);
  reportChanges(options.onWarning, record.id, t);
  fields[field] = { cells: t.terms };
  return { put: vespaDocumentId(record.id, options), fields };
}

function idParts(options: { documentType?: string; namespace?: string }): { documentType: string; namespace: string } {
  const documentType = options.documentType ?? 'doc';
  const namespace = options.namespace ?? documentType;
  for (const [name, v] of [['documentType', documentType], ['namespace', namespace]] as const) {
    if (typeof v !== 'string' || v === '' || v.includes(':')) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${name} must be a non-empty string without ':', got ${JSON.stringify(v)}`);
    }
  }
  return { documentType, namespace };
}
