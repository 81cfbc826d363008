import { join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { assertFile, parseError, readLines } from './lines.js';
import type { CorpusDocument, EvalQuery, Qrels } from './types.js';

/** A qrels row with the line it came from. */
export interface QrelsRow {
  readonly queryId: string;
  readonly docId: string;
  readonly grade: number;
  readonly line: number;
}

export interface BeirDataset {
  readonly folder: string;
  readonly split: string;
  /** corpus.jsonl in file order. */
  readonly corpus: CorpusDocument[];
  /** queries.jsonl in file order, restricted to the queries that appear in the split's qrels. */
  readonly queries: EvalQuery[];
  /** Every qrels row of the split, grade 0 included (metrics decide what counts as relevant). */
  readonly qrels: Qrels;
}

export interface LoadBeirOptions {
  /** BEIR folder holding corpus.jsonl, queries.jsonl and qrels/. */
  folder: string;
  /** Qrels file `qrels/<split>.tsv`. Default 'test'. */
  split?: string;
}

/** Paths of a BEIR folder's files. */
export function beirPaths(folder: string, split = 'test'): { corpus: string; queries: string; qrels: string } {
  return {
    corpus: join(folder, 'corpus.jsonl'),
    queries: join(folder, 'queries.jsonl'),
    qrels: join(folder, 'qrels', `${split}.tsv`),
  };
}

/**
 * Loads a BEIR folder and checks that every qrels row names a known query and document
 * (ERR_DATASET_UNKNOWN_ID with the qrels file and line otherwise).
 */
export async function loadBeirDataset(options: LoadBeirOptions): Promise<BeirDataset> {
  const split = options.split ?? 'test';
  const paths = beirPaths(options.folder, split);
  // Check all three up front so a wrong folder fails before the corpus is read.
  await assertFile(paths.corpus);
  await assertFile(paths.queries);
  await assertFile(paths.qrels);

  const corpus: CorpusDocument[] = [];
  const docIds = new Set<string>();
  for await (const doc of readBeirCorpus(paths.corpus)) {
    corpus.push(doc);
    docIds.add(doc.id);
  }
  const allQueries = new Map<string, EvalQuery>();
  for await (const q of readBeirQueries(paths.queries)) allQueries.set(q.id, q);

  const qrels: Qrels = new Map();
  for await (const row of readBeirQrels(paths.qrels)) {
    if (!allQueries.has(row.queryId)) {
      throw unknownId(paths.qrels, row.line, `query id '${row.queryId}' is not in ${paths.queries}`);
    }
    if (!docIds.has(row.docId)) {
      throw unknownId(paths.qrels, row.line, `corpus id '${row.docId}' is not in ${paths.corpus}`);
    }
    let judged = qrels.get(row.queryId);
    if (!judged) qrels.set(row.queryId, (judged = new Map()));
    judged.set(row.docId, row.grade);
  }
  const queries = [...allQueries.values()].filter((q) => qrels.has(q.id));
  return { folder: options.folder, split, corpus, queries, qrels };
}

function unknownId(path: string, line: number, problem: string): SparseEncoderError {
  return new SparseEncoderError('ERR_DATASET_UNKNOWN_ID', `${path}:${line}: ${problem}`, { details: { path, line } });
}

/** Streams corpus.jsonl: one JSON object per line with `_id`, optional `title`, `text`. Blank lines are skipped. */
export async function* readBeirCorpus(path: string): AsyncGenerator<CorpusDocument> {
  for await (const { id, obj, line } of readIdRecords(path)) {
    yield { id, title: stringField(path, line, obj, 'title', ''), text: stringField(path, line, obj, 'text') };
  }
}

/** Streams queries.jsonl: one JSON object per line with `_id` and `text`. */
export async function* readBeirQueries(path: string): AsyncGenerator<EvalQuery> {
  for await (const { id, obj, line } of readIdRecords(path)) {
    yield { id, text: stringField(path, line, obj, 'text') };
  }
}

/** The JSON objects of a BEIR JSONL file with their unique `_id`; blank lines skipped, errors name file and line. */
async function* readIdRecords(path: string): AsyncGenerator<{ id: string; obj: Record<string, unknown>; line: number }> {
  const seen = new Set<string>();
  for await (const { text, line } of readLines(path)) {
    if (text.trim() === '') continue;
    const obj = parseJsonObject(path, line, text);
    const id = idField(path, line, obj);
    if (seen.has(id)) throw parseError(path, line, `duplicate _id '${id}'`);
    seen.add(id);
    yield { id, obj, line };
  }
}

/**
 * Streams `qrels/<split>.tsv`: a header line `query-id<TAB>corpus-id<TAB>score`, then one
 * judgment per line. Scores must be integers (BEIR grades).
 */
export async function* readBeirQrels(path: string): AsyncGenerator<QrelsRow> {
  let sawHeader = false;
  for await (const { text, line } of readLines(path)) {
    if (text.trim() === '') continue;
    const fields = text.split('\t');
    if (!sawHeader) {
      if (fields[0]?.trim() !== 'query-id') {
        throw parseError(path, line, `expected the header 'query-id<TAB>corpus-id<TAB>score', got '${clip(text)}'`);
      }
      sawHeader = true;
      continue;
    }
    if (fields.length !== 3) {
      throw parseError(path, line, `expected 3 tab-separated fields (query-id, corpus-id, score), got ${fields.length}`);
    }
    const [queryId, docId, score] = fields.map((f) => f.trim()) as [string, string, string];
    if (queryId === '' || docId === '') throw parseError(path, line, 'empty query-id or corpus-id');
    const grade = Number(score);
    if (score === '' || !Number.isInteger(grade)) throw parseError(path, line, `score '${score}' is not an integer`);
    yield { queryId, docId, grade, line };
  }
  if (!sawHeader) throw parseError(path, 1, "empty qrels file (expected the header 'query-id<TAB>corpus-id<TAB>score')");
}

function parseJsonObject(path: string, line: number, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw parseError(path, line, `invalid JSON (${(err as Error).message})`, err);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw parseError(path, line, 'expected a JSON object');
  }
  return value as Record<string, unknown>;
}

function idField(path: string, line: number, obj: Record<string, unknown>): string {
  const id = obj['_id'];
  // Some BEIR exports write numeric ids; they name the same documents as their decimal strings.
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id !== 'string' || id === '') throw parseError(path, line, "missing or empty '_id'");
  return id;
}

function stringField(path: string, line: number, obj: Record<string, unknown>, key: string, fallback?: string): string {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw parseError(path, line, `missing '${key}'`);
  }
  if (typeof v !== 'string') throw parseError(path, line, `'${key}' must be a string`);
  return v;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
