import { SparseEncoderError } from '../errors.js';
import { batchRecords, checkRecord, withFields, type BodyFrame } from './batcher.js';
import type { BatchOptions, ExportBatch, ExportQuery, ExportRecord, ExportWarning, RecordSource } from './types.js';
import { isUuid, uuidV5, UUID_NAMESPACE_URL } from './uuid.js';
import { describeRecord, indexEntries, reportChanges } from './weights.js';

/*
 * Qdrant sparse vectors.
 *
 * Sources (qdrant.tech documentation, qdrant/landing_page):
 * - Upsert: `PUT /collections/{collection_name}/points` with
 *   `{"points": [{"id": 129, "vector": {"text": {"indices": [1, 3, 5, 7], "values": [0.1, 0.2, 0.3, 0.4]}}}]}`
 *   — https://qdrant.tech/documentation/concepts/vectors/ (Sparse Vectors).
 * - Query: `POST /collections/{collection_name}/points/query` with
 *   `{"query": {"indices": [...], "values": [...]}, "using": "text"}`
 *   — https://qdrant.tech/documentation/manage-data/vectors/ (query-points/sparse-vectors snippet).
 * - Point ids: "Qdrant supports using both 64-bit unsigned integers and UUID as identifiers"
 *   — https://qdrant.tech/documentation/concepts/points/ (Point IDs).
 * Qdrant scores sparse vectors by dot product and takes any finite weight, so only non-finite
 * values (which JSON cannot carry) are dropped.
 */

/** Options of {@link qdrantPoint} and {@link qdrantUpsert}. */
export interface QdrantPointOptions {
  /** Name of the collection's sparse vector. Default `'sparse'`. */
  vectorName?: string;
  /** Payload key that keeps the original document id. Default `'doc_id'`. */
  idPayloadKey?: string;
  /** UUID name space for ids that are not unsigned integers or UUIDs. Default: RFC 4122 URL name space. */
  idNamespace?: string;
  /** Called when weights are dropped. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** Options of {@link qdrantUpsert}. */
export interface QdrantExportOptions extends BatchOptions, QdrantPointOptions {}

/** Options of {@link qdrantQuery}. */
export interface QdrantQueryOptions {
  /** Name of the collection's sparse vector (`using`). Default `'sparse'`. */
  vectorName?: string;
  /** `limit` of the query; omitted when not given (Qdrant's default is 10). Default: none. */
  limit?: number;
  /** Called when weights are dropped. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** What {@link qdrantQuery} returns (the `points/query` request body). */
export interface QdrantQueryBody {
  query: { indices: number[]; values: number[] };
  using: string;
  limit?: number;
}

/** One point of an upsert body. */
export interface QdrantPoint {
  id: number | string;
  vector: Record<string, { indices: number[]; values: number[] }>;
  payload: Record<string, unknown>;
}

/**
 * The Qdrant point id of a document id: an unsigned safe integer or a hyphenated UUID string is used
 * as is; anything else becomes `uuid5(namespace, String(id))` — deterministic, and reproducible in
 * Python with `uuid.uuid5(uuid.NAMESPACE_URL, doc_id)` under the default name space.
 */
export function qdrantPointId(id: string | number, namespace: string = UUID_NAMESPACE_URL): number | string {
  if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return id;
  if (typeof id === 'string' && isUuid(id)) return id;
  if (typeof id !== 'string' && typeof id !== 'number') throw new SparseEncoderError('ERR_INVALID_INPUT', `document id must be a string or a number, got ${typeof id}`);
  return uuidV5(String(id), namespace);
}

/** One Qdrant point: mapped id, the named sparse vector, `fields` plus the original id as payload. */
export function qdrantPoint(record: ExportRecord, options: QdrantPointOptions = {}): QdrantPoint {
  const what = describeRecord(undefined, record?.id);
  checkRecord(record, what);
  return point(record, options, what);
}

/** Upsert bodies `{"points": [...]}` for `PUT /collections/{name}/points`, batched. */
export async function* qdrantUpsert(records: RecordSource, options: QdrantExportOptions = {}): AsyncGenerator<ExportBatch> {
  names(options);
  const frame: BodyFrame = { open: '{"points":[', separator: ',', close: ']}', contentType: 'application/json' };
  yield* batchRecords(records, (record, what) => JSON.stringify(point(record, options, what)), frame, options);
}

/** `{"query": {"indices": [...], "values": [...]}, "using": "<vectorName>"}` for `POST /collections/{name}/points/query`. */
export function qdrantQuery(query: ExportQuery, options: QdrantQueryOptions = {}): QdrantQueryBody {
  if (query === null || typeof query !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', 'query must be an object {vector}');
  const using = names(options).vectorName;
  const e = indexEntries(query.vector, 'finite', 'query');
  reportChanges(options.onWarning, undefined, e);
  const body: QdrantQueryBody = { query: { indices: e.indices, values: e.values }, using };
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `limit must be a positive integer, got ${options.limit}`);
    body.limit = options.limit;
  }
  return body;
}

function point(record: ExportRecord, options: QdrantPointOptions, what: string): QdrantPoint {
  const { vectorName, idPayloadKey } = names(options);
  const id = qdrantPointId(record.id, options.idNamespace ?? UUID_NAMESPACE_URL);
  const e = indexEntries(record.vector, 'finite', what);
  reportChanges(options.onWarning, record.id, e);
  const payload = withFields(record.fields, [idPayloadKey], what);
  payload[idPayloadKey] = record.id;
  return { id, vector: { [vectorName]: { indices: e.indices, values: e.values } }, payload };
}

function names(options: { vectorName?: string; idPayloadKey?: string }): { vectorName: string; idPayloadKey: string } {
  const vectorName = options.vectorName ?? 'sparse';
  const idPayloadKey = options.idPayloadKey ?? 'doc_id';
  if (typeof vectorName !== 'string' || vectorName === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'vectorName must be a non-empty string');
  if (typeof idPayloadKey !== 'string' || idPayloadKey === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'idPayloadKey must be a non-empty string');
  return { vectorName, idPayloadKey };
}
