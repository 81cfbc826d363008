import { SparseEncoderError } from '../errors.js';
import { batchRecords, checkRecord, withFields, type BodyFrame } from './batcher.js';
import type { SparseVector } from '../sparse/vector.js';
import type { BatchOptions, ExportBatch, ExportQuery, ExportRecord, ExportWarning, RecordSource } from './types.js';
import { describeRecord, indexEntries, reportChanges } from './weights.js';

/*
 * Milvus SPARSE_FLOAT_VECTOR rows for insert.
 *
 * Sources:
 * - Row format: "List of Dictionaries: ... {dimension_index: value, ...}" —
 *   https://milvus.io/docs/sparse_vector.md. Over JSON (RESTful v2 `POST /v2/vectordb/entities/insert`,
 *   body `{"collectionName": ..., "data": [rows]}`) the accepted forms are
 *   `{"indices": [...], "values": [...]}` and `{"1": 0.1, "100": 0.2}` — milvus-io/milvus PR #33231
 *   ("add sparse float vector support to restful v2"). We write the dict form with string keys.
 * - Limits: indices must be below 2^32-1 ("invalid index in sparse float vector: must be less than
 *   2^32-1", milvus-io/milvus PR #32199), so 2^32-1 is an error here. Milvus also validates values
 *   (milvus-io/milvus PR #32250, "more comprehensive check on sparse index and value"); we keep only
 *   finite, non-negative ones. SPLADE weights are never negative (log(1 + relu(x))), and one rejected
 *   value would fail the whole insert, so dropping (and reporting) is the safe side.
 * - Empty rows: a sparse vector with no entries is accepted since Milvus 2.4.12 and 2.5
 *   (milvus-io/milvus PR #34700 "Allow empty sparse row", backported to 2.4 by PR #36061; pymilvus
 *   PR #2673 names 2.4.12); such a row is never returned by ANN search on that field. Earlier
 *   versions reject the whole insert. We write `{}` and report `empty-vector`, or leave the row out
 *   with `emptyVectors: 'skip'`.
 * - Search: `POST /v2/vectordb/entities/search` with `{"collectionName", "data": [vector],
 *   "annsField", "limit", "searchParams": {"metricType": "IP", "params": {"drop_ratio_search": 0}}}`
 *   (https://milvus.io/docs/sparse_vector.md: `drop_ratio_search` is the fraction of the smallest
 *   query weights ignored; 0 scores them all, as our exact search does).
 */

/** Options of {@link milvusRow} and {@link milvusInsert}. */
export interface MilvusRowOptions {
  /** The SPARSE_FLOAT_VECTOR field. Default `'sparse'`. */
  field?: string;
  /** The primary key field that receives the document id. Default `'id'`. */
  idField?: string;
  /** Called when weights are dropped or a row is empty. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** Options of {@link milvusInsert}. */
export interface MilvusExportOptions extends BatchOptions, MilvusRowOptions {
  /** `collectionName` of every insert body. Required. */
  collectionName: string;
  /**
   * Rows whose vector is empty: `'keep'` writes `{}` (Milvus 2.4.12+), `'skip'` leaves them out
   * (for older servers). Either way an `empty-vector` warning names the document. Default `'keep'`.
   */
  emptyVectors?: 'keep' | 'skip';
}

/** Options of {@link milvusQuery}. */
export interface MilvusQueryOptions {
  /** `collectionName` of the search body. Required. */
  collectionName: string;
  /** The SPARSE_FLOAT_VECTOR field (`annsField`). Default `'sparse'`. */
  field?: string;
  /** Hits to return. Default 10. */
  limit?: number;
  /** Fields to return with each hit. Default `['id']`. */
  outputFields?: string[];
  /** Fraction of the smallest query weights Milvus ignores. Default 0 (exact). */
  dropRatioSearch?: number;
  /** Called when weights are dropped or the query is empty. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** Largest index Milvus accepts (2^32-2). */
const MAX_INDEX = 0xfffffffe;

/** One row: `fields`, `{[idField]: id}` and `{[field]: {"<index>": value}}`. */
export function milvusRow(record: ExportRecord, options: MilvusRowOptions = {}): Record<string, unknown> {
  const what = describeRecord(undefined, record?.id);
  checkRecord(record, what);
  return row(record, options, what);
}

/** Insert bodies `{"collectionName": ..., "data": [rows]}`, batched. */
export async function* milvusInsert(records: RecordSource, options: MilvusExportOptions): AsyncGenerator<ExportBatch> {
  if (options === null || typeof options !== 'object' || typeof options.collectionName !== 'string' || options.collectionName === '') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'milvusInsert needs options.collectionName (a non-empty string)');
  }
  names(options);
  const empty = options.emptyVectors ?? 'keep';
  if (empty !== 'keep' && empty !== 'skip') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `emptyVectors must be 'keep' or 'skip', got ${String(empty)}`);
  const frame: BodyFrame = { open: `{"collectionName":${JSON.stringify(options.collectionName)},"data":[`, separator: ',', close: ']}', contentType: 'application/json' };
  yield* batchRecords(
    records,
    (record, what) => {
      const r = row(record, options, what);
      return empty === 'skip' && Object.keys(r[names(options).field] as object).length === 0 ? undefined : JSON.stringify(r);
    },
    frame,
    options,
  );
}

/** A search body for `POST /v2/vectordb/entities/search` with one sparse query vector. */
export function milvusQuery(query: ExportQuery, options: MilvusQueryOptions): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || typeof options.collectionName !== 'string' || options.collectionName === '') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'milvusQuery needs options.collectionName (a non-empty string)');
  }
  if (query === null || typeof query !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', 'query must be an object {vector}');
  const { field } = names({ field: options.field });
  const limit = options.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `limit must be a positive integer, got ${limit}`);
  const drop = options.dropRatioSearch ?? 0;
  if (typeof drop !== 'number' || !(drop >= 0 && drop < 1)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `dropRatioSearch must be in [0, 1), got ${String(drop)}`);
  const data = sparseMap(query.vector, 'query', options.onWarning, undefined);
  return {
    collectionName: options.collectionName,
    data: [data],
    annsField: field,
    limit,
    outputFields: options.outputFields ?? ['id'],
    searchParams: { metricType: 'IP', params: { drop_ratio_search: drop } },
  };
}

function row(record: ExportRecord, options: MilvusRowOptions, what: string): Record<string, unknown> {
  const { field, idField } = names(options);
  const sparse = sparseMap(record.vector, what, options.onWarning, record.id);
  const out = withFields(record.fields, [field, idField], what);
  out[idField] = record.id;
  out[field] = sparse;
  return out;
}

/** `{"<index>": value}` after Milvus's rules; an empty result is reported. */
function sparseMap(vector: SparseVector, what: string, onWarning: ((w: ExportWarning) => void) | undefined, id: string | number | undefined): Record<string, number> {
  const e = indexEntries(vector, 'non-negative', what);
  reportChanges(onWarning, id, e);
  const sparse = Object.create(null) as Record<string, number>;
  for (let i = 0; i < e.indices.length; i++) {
    if (e.indices[i]! > MAX_INDEX) throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: index ${e.indices[i]} is out of Milvus's range [0, 2^32-1)`);
    sparse[String(e.indices[i])] = e.values[i]!;
  }
  if (e.indices.length === 0) onWarning?.({ type: 'empty-vector', id, count: 1 });
  return sparse;
}

function names(options: { field?: string | undefined; idField?: string | undefined }): { field: string; idField: string } {
  const field = options.field ?? 'sparse';
  const idField = options.idField ?? 'id';
  if (typeof field !== 'string' || field === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'field must be a non-empty string');
  if (typeof idField !== 'string' || idField === '' || idField === field) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'idField must be a non-empty string other than field');
  return { field, idField };
}
