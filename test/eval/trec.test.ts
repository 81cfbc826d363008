import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrecQrels, readTrecRun, readTrecTopics, writeTrecRun } from '../../src/eval/trec.js';
import { isSparseEncoderError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'trec-'));
function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

test('qrels: graded, whitespace separated, last grade of a repeated pair wins', async () => {
  const q = await readTrecQrels(file('q.txt', '1 0 d1 2\n1 0 d2 0\n\n2\t0\td3\t1\n1 0 d1 3\n'));
  assert.deepEqual([...q.get('1')!], [['d1', 3], ['d2', 0]]);
  assert.equal(q.get('2')!.get('d3'), 1);
  await assert.rejects(readTrecQrels(file('q2.txt', '1 0 d1 2\n1 0 d2\n')), (e) => isSparseEncoderError(e, 'ERR_DATASET_PARSE') && /q2\.txt:2:/.test((e as Error).message));
  await assert.rejects(readTrecQrels(file('q3.txt', '1 0 d1 x\n')), (e) => isSparseEncoderError(e, 'ERR_DATASET_PARSE') && /q3\.txt:1: relevance 'x'/.test((e as Error).message));
});

test('run files round-trip through writeTrecRun; scores keep float32 precision', async () => {
  const score = Math.fround(12.345678);
  const run = new Map([
    ['q1', [{ id: 'a', score }, { id: 'b', score: 1 }]],
    ['q2', [{ id: 'c', score: -0.5 }]],
  ]);
  const p = join(dir, 'run.trec');
  await writeTrecRun(p, run, { tag: 'test' });
  assert.equal(readFileSync(p, 'utf8').split('\n')[0], `q1 Q0 a 1 ${Number(score.toPrecision(9))} test`);
  const back = await readTrecRun(p);
  assert.deepEqual([...back.keys()], ['q1', 'q2']);
  assert.equal(Math.fround(back.get('q1')![0]!.score), score);
  assert.deepEqual(back.get('q2'), [{ id: 'c', score: -0.5 }]);
});

test('malformed run lines name the file and line', async () => {
  const bad = async (content: string, pattern: RegExp) =>
    assert.rejects(readTrecRun(file('bad.trec', content)), (e) => isSparseEncoderError(e, 'ERR_DATASET_PARSE') && pattern.test((e as Error).message));
  await bad('q1 Q0 a 1 2.0 t\nq1 Q0 b 2 1.0\n', /bad\.trec:2: expected 6 fields/);
  await bad('q1 Q0 a 1 nan t\n', /bad\.trec:1: score 'nan'/);
  await bad('q1 Q0 a one 1 t\n', /bad\.trec:1: rank 'one'/);
  await bad('q1 Q0 a 1 2 t\nq1 Q0 a 2 1 t\n', /bad\.trec:2: document 'a' is listed twice/);
});

test('topics: Anserini TSV and classic SGML', async () => {
  assert.deepEqual(await readTrecTopics(file('t.tsv', '1\tfirst query\n2\tsecond\n')), [
    { id: '1', text: 'first query' },
    { id: '2', text: 'second' },
  ]);
  const sgml = '<top>\n<num> Number: 301\n<title> International Organized\nCrime\n<desc> Description:\nignored\n</top>\n\n<top>\n<num> Number: 302 \n<title> Poliomyelitis\n</top>\n';
  assert.deepEqual(await readTrecTopics(file('t.sgml', sgml)), [
    { id: '301', text: 'International Organized Crime' },
    { id: '302', text: 'Poliomyelitis' },
  ]);
  await assert.rejects(readTrecTopics(file('t2.tsv', 'no tab here\n')), (e) => isSparseEncoderError(e, 'ERR_DATASET_PARSE') && /t2\.tsv:1/.test((e as Error).message));
});
