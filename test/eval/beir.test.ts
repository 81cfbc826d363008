import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA, fixture } from '../helpers/paths.js';
import { loadBeirDataset, readBeirCorpus } from '../../src/eval/beir.js';
import { isSparseEncoderError, type ErrorCode } from '../../src/errors.js';

const MINI = join(fixture('eval'), 'mini');

test('loads the mini BEIR folder: corpus order, graded qrels kept, queries limited to the qrels', async () => {
  const ds = await loadBeirDataset({ folder: MINI });
  assert.equal(ds.corpus.length, 12);
  assert.deepEqual(ds.corpus.slice(0, 3).map((d) => d.id), ['d1', 'd2', 'd3']);
  assert.equal(ds.corpus[0]!.text, 'apple banana cherry');
  assert.equal(ds.corpus[0]!.title, '');
  assert.deepEqual(ds.queries.map((q) => q.id), ['q1', 'q2', 'q3', 'q4', 'q5']);
  assert.equal(ds.qrels.get('q1')!.get('d2'), 2);
  assert.equal(ds.qrels.get('q5')!.get('d1'), 0);
});

test('scifact test split: 300 queries, 339 judgments, 5183 documents', async () => {
  const ds = await loadBeirDataset({ folder: join(DATA, 'scifact') });
  assert.equal(ds.corpus.length, 5183);
  assert.equal(ds.queries.length, 300);
  let judgments = 0;
  for (const j of ds.qrels.values()) judgments += j.size;
  assert.equal(judgments, 339);
});

/** A BEIR folder with the mini files, one of them replaced. */
function folderWith(file: 'corpus.jsonl' | 'queries.jsonl' | 'qrels/test.tsv', content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'beir-'));
  mkdirSync(join(dir, 'qrels'));
  writeFileSync(join(dir, 'corpus.jsonl'), '{"_id": "d1", "title": "t", "text": "apple"}\n{"_id": "d2", "text": "pear"}\n');
  writeFileSync(join(dir, 'queries.jsonl'), '{"_id": "q1", "text": "apple"}\n');
  writeFileSync(join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
  writeFileSync(join(dir, file), content);
  return dir;
}

async function rejects(dir: string, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(loadBeirDataset({ folder: dir }), (err: unknown) => {
    assert.ok(isSparseEncoderError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    return true;
  });
}

test('malformed files give coded errors naming the file and line', async () => {
  await rejects(folderWith('corpus.jsonl', '{"_id": "d1", "text": "a"}\n{"_id": "d2", "text": "b"\n'), 'ERR_DATASET_PARSE', /corpus\.jsonl:2: invalid JSON/);
  await rejects(folderWith('corpus.jsonl', '{"_id": "d1", "text": "a"}\n\n{"title": "x", "text": "b"}\n'), 'ERR_DATASET_PARSE', /corpus\.jsonl:3: missing or empty '_id'/);
  await rejects(folderWith('corpus.jsonl', '{"_id": "d1"}\n'), 'ERR_DATASET_PARSE', /corpus\.jsonl:1: missing 'text'/);
  await rejects(folderWith('corpus.jsonl', '{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n'), 'ERR_DATASET_PARSE', /corpus\.jsonl:2: duplicate _id 'd1'/);
  await rejects(folderWith('queries.jsonl', '["q1", "apple"]\n'), 'ERR_DATASET_PARSE', /queries\.jsonl:1: expected a JSON object/);
  await rejects(folderWith('qrels/test.tsv', 'q1\td1\t1\n'), 'ERR_DATASET_PARSE', /test\.tsv:1: expected the header/);
  await rejects(folderWith('qrels/test.tsv', 'query-id\tcorpus-id\tscore\nq1\td1\n'), 'ERR_DATASET_PARSE', /test\.tsv:2: expected 3 tab-separated fields/);
  await rejects(folderWith('qrels/test.tsv', 'query-id\tcorpus-id\tscore\nq1\td1\thigh\n'), 'ERR_DATASET_PARSE', /test\.tsv:2: score 'high' is not an integer/);
  await rejects(folderWith('qrels/test.tsv', ''), 'ERR_DATASET_PARSE', /test\.tsv:1: empty qrels file/);
});

test('qrels naming unknown ids are ERR_DATASET_UNKNOWN_ID with file and line', async () => {
  await rejects(folderWith('qrels/test.tsv', 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td9\t1\n'), 'ERR_DATASET_UNKNOWN_ID', /test\.tsv:3: corpus id 'd9' is not in/);
  await rejects(folderWith('qrels/test.tsv', 'query-id\tcorpus-id\tscore\nq7\td1\t1\n'), 'ERR_DATASET_UNKNOWN_ID', /test\.tsv:2: query id 'q7' is not in/);
});

test('missing files and splits are ERR_DATASET_MISSING', async () => {
  await assert.rejects(loadBeirDataset({ folder: MINI, split: 'dev' }), (e) => isSparseEncoderError(e, 'ERR_DATASET_MISSING') && /dev\.tsv/.test((e as Error).message));
  await assert.rejects(loadBeirDataset({ folder: join(MINI, 'nope') }), (e) => isSparseEncoderError(e, 'ERR_DATASET_MISSING'));
});

test('the corpus streams; numeric ids become strings, a BOM is ignored', async () => {
  const dir = folderWith('corpus.jsonl', '\ufeff{"_id": 7, "text": "a"}\n{"_id": "8", "title": null, "text": "b"}\n');
  const ids: string[] = [];
  for await (const d of readBeirCorpus(join(dir, 'corpus.jsonl'))) ids.push(`${d.id}:${d.title}`);
  assert.deepEqual(ids, ['7:', '8:']);
});
