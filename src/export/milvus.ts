import { SparseEncoderError } from '../errors.js';
import { batchRecords, checkRecord, withFields, type BodyFrame } from './batcher.js';
import type { BatchOptions, ExportBatch, ExportRecord, ExportWarning, RecordSource } from './types.js';
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
 */

/** Options of {@link milvusRow} and {@link milvusInsert}. */
export interface MilvusRowOptions {
  /** The SPARSE_FLOAT_VECTOR field. Default `'sparse'`. */
  field?: string;
  /** The primary key field that receives the document id. Default `'id'`. */
  idField?: string;
  /** Called when weights are dropped. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** Options of {@link milvusInsert}. */
export interface MilvusExportOptions extends BatchOptions, MilvusRowOptions {
  /** `collectionName` of every insert body. Required. */
  collectionName: string;
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
  const frame: BodyFrame = { open: `{"collectionName":${JSON.stringify(options.collectionName)},"data":[`, separator: ',', close: ']}', contentType: 'application/json' };
  yield* batchRecords(records, (record, what) => JSON.stringify(row(record, options, what)), frame, options);
}

function row(record: ExportRecord, options: MilvusRowOptions, what: string): Record<string, unknown> {
  const { field, idField } = names(options);
  const e = indexEntries(record.vector, 'non-negative', what);
  reportChanges(options.onWarning, record.id, e);
  const sparse = Object.create(null) as Record<string, number>;
  for (let i = 0; i < e.indices.length; i++) {
    if (e.indices[i]! > MAX_INDEX) throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: index ${e.indices[i]} is out of Milvus's range [0, 2^32-1)`);
    sparse[String(e.indices[i])] = e.values[i]!;
  }
  const out = withFields(record.fields, [field, idField], what);
  out[idField] = record.id;
  out[field] = sparse;
  return out;
}

function names(options: MilvusRowOptions): { field: string; idField: string } {
  const field = options.field ?? 'sparse';
  const idField = options.idField ?? 'id';
  if (typeof field !== 'string' || field === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'field must be a non-empty string');
  if (typeof idField !== 'string' || idField === '' || idField === field) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'idField must be a non-empty string other than field');
  return { field, idField };
}
