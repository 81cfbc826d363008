import { SparseEncoderError } from '../errors.js';
import type { BatchOptions, ExportBatch, ExportRecord, RecordSource } from './types.js';
import { describeRecord } from './weights.js';

export const DEFAULT_MAX_DOCUMENTS = 500;
/** 5 MiB: inside every engine's default request limit (Elasticsearch/OpenSearch 100 MB, Qdrant 32 MB). */
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

/** How the serialized documents of one batch are framed into a request body. */
export interface BodyFrame {
  /** Written before the first document, e.g. `{"points":[`. */
  open: string;
  /** Written between documents, e.g. `,` (NDJSON: empty, each document ends with a newline). */
  separator: string;
  /** Written after the last document, e.g. `]}`. */
  close: string;
  contentType: ExportBatch['contentType'];
}

/** The NDJSON frame: documents are lines, the body ends with a newline. */
export const NDJSON_FRAME: BodyFrame = { open: '', separator: '', close: '', contentType: 'application/x-ndjson' };

/**
 * Serializes records in order and groups them into request bodies of at most `maxDocuments`
 * documents and `maxBytes` UTF-8 bytes (a single larger document goes alone).
 */
export async function* batchRecords(
  records: RecordSource,
  /** The record's text, or undefined to leave it out (reported by the caller). */
  serialize: (record: ExportRecord, what: string) => string | undefined,
  frame: BodyFrame,
  options: BatchOptions,
): AsyncGenerator<ExportBatch> {
  const maxDocuments = positiveInteger(options.maxDocuments, 'maxDocuments', DEFAULT_MAX_DOCUMENTS);
  const maxBytes = positiveInteger(options.maxBytes, 'maxBytes', DEFAULT_MAX_BYTES);
  if (records === null || typeof records !== 'object' || (!(Symbol.iterator in records) && !(Symbol.asyncIterator in records))) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'records must be an iterable or async iterable of {id, vector}');
  }
  const frameBytes = Buffer.byteLength(frame.open) + Buffer.byteLength(frame.close);
  const sepBytes = Buffer.byteLength(frame.separator);
  let parts: string[] = [];
  let bytes = frameBytes;
  const flush = (): ExportBatch => {
    const body = frame.open + parts.join(frame.separator) + frame.close;
    const batch: ExportBatch = { body, contentType: frame.contentType, documents: parts.length, bytes };
    parts = [];
    bytes = frameBytes;
    return batch;
  };
  let ordinal = 0;
  for await (const record of records as AsyncIterable<ExportRecord>) {
    const what = describeRecord(ordinal++, record?.id);
    checkRecord(record, what);
    const doc = serialize(record, what);
    if (doc === undefined) continue;
    const docBytes = Buffer.byteLength(doc);
    if (parts.length > 0 && bytes + sepBytes + docBytes > maxBytes) yield flush();
    bytes += docBytes + (parts.length > 0 ? sepBytes : 0);
    parts.push(doc);
    if (parts.length >= maxDocuments) yield flush();
  }
  if (parts.length > 0) yield flush();
}

/** The record shape every exporter relies on; errors name the record. */
export function checkRecord(record: ExportRecord, what: string): void {
  if (record === null || typeof record !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: expected an object {id, vector}`);
  const id = record.id;
  const okId = (typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id));
  if (!okId) throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: id must be a non-empty string or a finite number`);
  if (record.fields !== undefined && (record.fields === null || typeof record.fields !== 'object' || Array.isArray(record.fields))) {
    throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: fields must be an object`);
  }
}

function positiveInteger(v: number | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${name} must be a positive integer, got ${v}`);
  return v;
}

/** Copies `fields` into a fresh object, refusing one that would overwrite a key the exporter writes. */
export function withFields(fields: Readonly<Record<string, unknown>> | undefined, reserved: readonly string[], what: string): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  if (fields === undefined) return out;
  for (const [k, v] of Object.entries(fields)) {
    if (reserved.includes(k)) throw new SparseEncoderError('ERR_INVALID_INPUT', `${what}: field "${k}" clashes with the field the exporter writes`);
    out[k] = v;
  }
  return out;
}
