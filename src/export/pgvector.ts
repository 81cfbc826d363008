import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { batchRecords, checkRecord } from './batcher.js';
import type { BatchOptions, ExportBatch, ExportQuery, ExportRecord, ExportWarning, RecordSource } from './types.js';
import { describeRecord, indexEntries, reportChanges } from './weights.js';

/*
 * PostgreSQL with pgvector's `sparsevec` type.
 *
 * Sources (pgvector/pgvector README and src/sparsevec.h, src/hnsw.h):
 * - Text form: `'{1:1,3:2,5:3}/5'` — "the format is {index1:value1,index2:value2}/dimensions and
 *   indices start at 1 like SQL arrays". Ours start at 0, so index i is written as i + 1.
 * - Limits: `SPARSEVEC_MAX_DIM 1000000000`, `SPARSEVEC_MAX_NNZ 16000` (a longer literal is an
 *   error), and an HNSW index takes "sparse vectors with up to 1,000 non-zero elements"
 *   (`HNSW_MAX_NNZ 1000`); longer ones fail `CREATE INDEX`/`INSERT` on an indexed column.
 * - Values: finite float4 (sparsevec_in refuses NaN and infinity); we print float32's shortest
 *   decimal, which strtof reads back to the same float.
 * - `<#>` is the *negative* inner product, so `ORDER BY embedding <#> q` ranks by dot product,
 *   highest first, and `-(embedding <#> q)` is the score our index reports.
 * - Rows go in with `COPY t (id, embedding) FROM STDIN` in COPY's text format: columns separated by
 *   a tab, backslash escapes `\\`, `\t`, `\n`, `\r` in values (PostgreSQL docs, COPY "Text Format").
 */

/** pgvector's `SPARSEVEC_MAX_NNZ`: a sparsevec holds at most this many non-zeros. */
export const PGVECTOR_MAX_NNZ = 16_000;
/** pgvector's `HNSW_MAX_NNZ`: an HNSW index takes sparse vectors up to this many non-zeros. */
export const PGVECTOR_HNSW_MAX_NNZ = 1_000;
/** pgvector's `SPARSEVEC_MAX_DIM`. */
export const PGVECTOR_MAX_DIM = 1_000_000_000;

/** Options of {@link pgvectorCopy}. */
export interface PgvectorCopyOptions extends BatchOptions {
  /** The vectors' dimension (the model's vocabulary size), written after `/`. Required. */
  dim: number;
}

/** Options of {@link pgvectorQuery}. */
export interface PgvectorQueryOptions {
  /** The vectors' dimension. Required. */
  dim: number;
  /** Table name. Default `'documents'`. */
  table?: string;
  /** The `sparsevec` column. Default `'embedding'`. */
  column?: string;
  /** The id column. Default `'id'`. */
  idColumn?: string;
  /** Rows to return. Default 10. */
  limit?: number;
  /** Called when weights are dropped. Default: none. */
  onWarning?: (warning: ExportWarning) => void;
}

/** Options of {@link pgvectorSchema}. */
export interface PgvectorSchemaOptions {
  dim: number;
  table?: string;
  column?: string;
  idColumn?: string;
  /** Add `CREATE INDEX ... USING hnsw (embedding sparsevec_ip_ops)`. Default true. */
  hnsw?: boolean;
}

/**
 * The sparsevec literal of a vector, `{i+1:v,...}/dim`. Non-finite values are dropped (reported
 * through `onWarning`); more than 16,000 non-zeros is an `ERR_ENGINE_LIMIT` error.
 */
export function pgvectorLiteral(vector: SparseVector, dim: number, what = 'vector', onWarning?: (w: ExportWarning) => void, id?: string | number): string {
  return literal(vector, dim, what, onWarning, id).text;
}

function literal(vector: SparseVector, dim: number, what: string, onWarning: ((w: ExportWarning) => void) | undefined, id: string | number | undefined): { text: string; nnz: number } {
  checkDim(dim);
  const e = indexEntries(vector, 'finite', what);
  reportChanges(onWarning, id, e);
  const n = e.indices.length;
  if (n > PGVECTOR_MAX_NNZ) {
    throw new SparseEncoderError('ERR_ENGINE_LIMIT', `${what}: ${n} non-zeros, more than pgvector's sparsevec holds (${PGVECTOR_MAX_NNZ})`, {
      details: { id, nonZeros: n, limit: PGVECTOR_MAX_NNZ },
    });
  }
  if (n > 0 && e.indices[n - 1]! >= dim) {
    throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `${what}: index ${e.indices[n - 1]} is outside the dimension ${dim}`);
  }
  const cells = new Array<string>(n);
  for (let i = 0; i < n; i++) cells[i] = `${e.indices[i]! + 1}:${e.values[i]!}`;
  return { text: `{${cells.join(',')}}/${dim}`, nnz: n };
}

/**
 * COPY text-format rows `id<TAB>literal\n`, batched, for `COPY table (id, embedding) FROM STDIN`.
 * A vector over 1,000 non-zeros gets a `hnsw-unindexable` warning (it loads, but an HNSW index
 * on the column refuses it).
 */
export async function* pgvectorCopy(records: RecordSource, options: PgvectorCopyOptions): AsyncGenerator<ExportBatch> {
  if (options === null || typeof options !== 'object') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'pgvectorCopy needs options {dim}');
  checkDim(options.dim);
  const frame = { open: '', separator: '', close: '', contentType: 'text/plain' as const };
  yield* batchRecords(records, (record, what) => copyRow(record, options, what), frame, options);
}

/** One COPY row of a record (see {@link pgvectorCopy}). */
export function pgvectorRow(record: ExportRecord, options: PgvectorCopyOptions): string {
  const what = describeRecord(undefined, record?.id);
  checkRecord(record, what);
  checkDim(options?.dim);
  return copyRow(record, options, what);
}

/**
 * `SELECT id, -(embedding <#> '...') AS score FROM documents ORDER BY embedding <#> '...' LIMIT 10;`
 * — top-k by dot product (exact by sequential scan, approximate when an HNSW index is used).
 */
export function pgvectorQuery(query: ExportQuery, options: PgvectorQueryOptions): string {
  if (query === null || typeof query !== 'object') throw new SparseEncoderError('ERR_INVALID_INPUT', 'query must be an object {vector}');
  if (options === null || typeof options !== 'object') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'pgvectorQuery needs options {dim}');
  const { table, column, idColumn } = sqlNames(options);
  const limit = options.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `limit must be a positive integer, got ${limit}`);
  const q = `'${pgvectorLiteral(query.vector, options.dim, 'query', options.onWarning)}'::sparsevec`;
  return `SELECT ${idColumn}, -(${column} <#> ${q}) AS score FROM ${table} ORDER BY ${column} <#> ${q} LIMIT ${limit};`;
}

/** `CREATE EXTENSION`, `CREATE TABLE` and (by default) the HNSW inner-product index. */
export function pgvectorSchema(options: PgvectorSchemaOptions): string {
  if (options === null || typeof options !== 'object') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'pgvectorSchema needs options {dim}');
  checkDim(options.dim);
  const { table, column, idColumn } = sqlNames(options);
  const lines = [
    'CREATE EXTENSION IF NOT EXISTS vector;',
    `CREATE TABLE ${table} (${idColumn} text PRIMARY KEY, ${column} sparsevec(${options.dim}) NOT NULL);`,
  ];
  if (options.hnsw ?? true) lines.push(`CREATE INDEX ON ${table} USING hnsw (${column} sparsevec_ip_ops);`);
  return lines.join('\n') + '\n';
}

function copyRow(record: ExportRecord, options: PgvectorCopyOptions, what: string): string {
  const { text, nnz } = literal(record.vector, options.dim, what, options.onWarning, record.id);
  if (nnz > PGVECTOR_HNSW_MAX_NNZ) options.onWarning?.({ type: 'hnsw-unindexable', id: record.id, count: nnz });
  return `${copyText(String(record.id))}\t${text}\n`;
}

/** COPY text format escapes: backslash, tab, newline and carriage return. */
function copyText(v: string): string {
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function checkDim(dim: unknown): asserts dim is number {
  if (!Number.isInteger(dim) || (dim as number) < 1 || (dim as number) > PGVECTOR_MAX_DIM) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `dim must be an integer in [1, ${PGVECTOR_MAX_DIM}] (pgvector's SPARSEVEC_MAX_DIM), got ${String(dim)}`);
  }
}

/** Table and column names are SQL identifiers; only plain (optionally schema-qualified) ones are accepted. */
function sqlNames(o: { table?: string | undefined; column?: string | undefined; idColumn?: string | undefined }): { table: string; column: string; idColumn: string } {
  const check = (v: string, name: string, qualified: boolean): string => {
    const re = qualified ? /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/ : /^[a-z_][a-z0-9_]*$/;
    if (typeof v !== 'string' || !re.test(v)) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${name} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*), got ${JSON.stringify(v)}`);
    }
    return v;
  };
  return { table: check(o.table ?? 'documents', 'table', true), column: check(o.column ?? 'embedding', 'column', false), idColumn: check(o.idColumn ?? 'id', 'idColumn', false) };
}
