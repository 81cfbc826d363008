import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, Readable } from 'node:stream';
import { fixture } from '../helpers/paths.js';
import { main } from '../../src/cli/main.js';

const MINI = join(fixture('eval'), 'mini');

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new Writable({ write(chunk, _enc, cb) { into.push(String(chunk)); cb(); } });
  return { io: { stdin: Readable.from([]), stdout: sink(out), stderr: sink(err) }, out, err };
}

test('eval --model bm25 prints a table, writes flat lower-case metrics and a TREC run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-cli-'));
  const c = io();
  const code = await main(['eval', '--model', 'bm25', '--data', MINI, '--output', join(dir, 'm.json'), '--save-run', join(dir, 'run.trec'), '--save-bm25', join(dir, 'bm25.json')], c.io);
  assert.equal(code, 0, c.err.join(''));
  const text = c.out.join('');
  assert.match(text, /bm25 on mini \(test\): 4 queries, 12 documents/);
  assert.match(text, /ndcg@10 +\d\.\d{4}  \(primary\)/);
  const metrics = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as Record<string, number>;
  for (const key of ['ndcg@10', 'mrr@10', 'map@100', 'recall@100', 'precision@10', 'accuracy@1', 'query_active_dims', 'corpus_sparsity_ratio', 'avg_flops']) {
    assert.equal(typeof metrics[key], 'number', key);
  }
  assert.ok(Object.keys(metrics).every((k) => k === k.toLowerCase()));
  const firstLine = readFileSync(join(dir, 'run.trec'), 'utf8').split('\n')[0]!;
  assert.match(firstLine, /^q1 Q0 d\d+ 1 [\d.e-]+ bm25$/);
  assert.equal(JSON.parse(readFileSync(join(dir, 'bm25.json'), 'utf8')).format, 'sparse-encoder-bm25');

  // Scoring the saved run gives the same retrieval metrics.
  const again = io();
  assert.equal(await main(['eval', '--run', join(dir, 'run.trec'), '--data', MINI, '--output', join(dir, 'm2.json')], again.io), 0, again.err.join(''));
  const rescored = JSON.parse(readFileSync(join(dir, 'm2.json'), 'utf8')) as Record<string, number>;
  for (const [k, v] of Object.entries(rescored)) assert.ok(Math.abs(v - metrics[k]!) < 1e-12, k);
});

test('eval --run with --conventions trec scores a hand-made run like trec_eval -c', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-cli-'));
  // q1 judged d2:2, d1:1, d3:0. d1 and d2 tie: trec_eval puts docno 'd2' before 'd1'.
  writeFileSync(join(dir, 'run.trec'), 'q1 Q0 d1 1 5 x\nq1 Q0 d2 2 5 x\nq1 Q0 d3 3 4 x\n');
  const c = io();
  assert.equal(await main(['eval', '--run', join(dir, 'run.trec'), '--data', MINI, '--conventions', 'trec', '--output', join(dir, 'm.json')], c.io), 0, c.err.join(''));
  const m = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as Record<string, number>;
  // 5 qrels queries (-c), only q1 answered: nDCG@10(q1) = 1 (d2, d1 in ideal order), others 0.
  assert.ok(Math.abs(m['ndcg@10']! - 1 / 5) < 1e-12);
  assert.ok(Math.abs(m['recip_rank']! - 1 / 5) < 1e-12);
});

test('two --model values are fused (RRF of BM25 with itself keeps the BM25 ranking)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-cli-'));
  const single = io();
  assert.equal(await main(['eval', '--model', 'bm25', '--data', MINI, '--save-run', join(dir, 'a.trec')], single.io), 0);
  const hybrid = io();
  assert.equal(await main(['eval', '--model', 'bm25', '--model', 'bm25', '--data', MINI, '--save-run', join(dir, 'b.trec')], hybrid.io), 0, hybrid.err.join(''));
  assert.match(hybrid.out.join(''), /bm25 \+ bm25 on mini/);
  const ids = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 3).join(' '));
  assert.deepEqual(ids(join(dir, 'b.trec')), ids(join(dir, 'a.trec')));
  const weighted = io();
  assert.equal(await main(['eval', '--model', 'bm25', '--model', 'bm25', '--data', MINI, '--fusion', 'weighted', '--weights', '0.3,0.7'], weighted.io), 0, weighted.err.join(''));
});

test('eval --model <path> runs a SparseEncoder; bm25 + model is a hybrid', async () => {
  const model = fixture('splade-bert');
  const c = io();
  assert.equal(await main(['eval', '--model', model, '--data', MINI], c.io), 0, c.err.join(''));
  assert.match(c.out.join(''), /splade-bert on mini \(test\): 4 queries, 12 documents/);
  assert.match(c.out.join(''), /query_active_dims/);
  const h = io();
  assert.equal(await main(['eval', '--model', 'bm25', '--model', model, '--data', MINI, '--fusion', 'rrf', '--rrf-k', '10'], h.io), 0, h.err.join(''));
  assert.match(h.out.join(''), /bm25 \+ .*splade-bert on mini/);
});

test('usage and dataset errors exit non-zero with a coded one-line message', async () => {
  const cases: Array<[string[], RegExp, number]> = [
    [['eval', '--data', MINI, '--model', 'bm25', '--run', join(MINI, 'x.trec')], /give either --model or --run \[ERR_USAGE\]/, 2],
    [['eval', '--model', 'bm25'], /--data is required/, 2],
    [['eval', '--model', 'bm25', '--data', MINI, '--conventions', 'x'], /--conventions must be st or trec/, 2],
    [['eval', '--model', 'bm25', '--data', MINI, '--split', 'dev'], /dev\.tsv: file not found \[ERR_DATASET_MISSING\]/, 1],
    [['eval', '--model', 'bm25', '--data', MINI, '--fusion', 'rrf'], /need two --model values/, 2],
    [['eval', '--model', 'bm25', '--model', 'bm25', '--data', MINI, '--weights', '1'], /--weights needs 2/, 2],
    [['eval', '--run', join(MINI, 'missing.trec'), '--data', MINI], /missing\.trec: file not found/, 1],
    [['eval', '--run', join(MINI, 'corpus.jsonl'), '--data', MINI], /corpus\.jsonl:1: expected 6 fields .*\[ERR_DATASET_PARSE\]/, 1],
  ];
  for (const [argv, pattern, status] of cases) {
    const c = io();
    assert.equal(await main(argv, c.io), status, argv.join(' '));
    assert.match(c.err.join(''), pattern);
  }
});

test('eval --run with every cut-off flag reproduces the genuine evaluator on both metric fixtures', async () => {
  type Ranked = { query_id: string; ranked: Array<[string, number]> };
  const cases: Array<{ data: string; expected: { evaluator: { kwargs: Record<string, number[]> }; metrics: { dict: Record<string, number> }; rankings: Ranked[] }; name: string }> = [];
  const subset = JSON.parse(readFileSync(join(fixture('eval'), 'expected.json'), 'utf8'));
  cases.push({ data: join(fixture('eval'), 'scifact-subset'), expected: subset, name: 'scifact-subset' });
  const mini = JSON.parse(readFileSync(join(MINI, 'expected.json'), 'utf8'));
  const variant = mini.variants['relevant_if_grade_above_0'];
  cases.push({ data: MINI, expected: { evaluator: mini.evaluator, metrics: variant.metrics, rankings: variant.rankings }, name: 'mini' });
  for (const c of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'eval-cutoffs-'));
    // The genuine ranking order, as a TREC run (scores decreasing with rank, so ties keep its order).
    const run = c.expected.rankings.flatMap((q) => q.ranked.map(([doc], i) => `${q.query_id} Q0 ${doc} ${i + 1} ${1000 - i} genuine`));
    writeFileSync(join(dir, 'run.trec'), run.join('\n') + '\n');
    const kw = c.expected.evaluator.kwargs;
    const flags = [
      ['--ndcg-at-k', kw['ndcg_at_k']!],
      ['--mrr-at-k', kw['mrr_at_k']!],
      ['--map-at-k', kw['map_at_k']!],
      ['--accuracy-at-k', kw['accuracy_at_k']!],
      ['--precision-recall-at-k', kw['precision_recall_at_k']!],
    ].flatMap(([f, ks]) => [f as string, (ks as number[]).join(',')]);
    const r = io();
    const code = await main(['eval', '--run', join(dir, 'run.trec'), '--data', c.data, '--output', join(dir, 'm.json'), ...flags], r.io);
    assert.equal(code, 0, r.err.join(''));
    const got = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as Record<string, number>;
    const prefix = `${c.name}_dot_`;
    const genuine = Object.entries(c.expected.metrics.dict).filter(([k]) => k.startsWith(prefix) && /@/.test(k));
    assert.ok(genuine.length >= 15, `${c.name}: ${genuine.length} metrics`);
    for (const [k, v] of genuine) {
      const key = k.slice(prefix.length);
      assert.equal(typeof got[key], 'number', `${c.name}: --output lacks ${key}`);
      assert.ok(Math.abs(got[key]! - v) < 1e-9, `${c.name} ${key}: ${got[key]} vs genuine ${v}`);
    }
    // Exactly the requested cut-offs, nothing from the defaults.
    const atKeys = Object.keys(got).filter((k) => k.includes('@')).sort();
    assert.deepEqual(atKeys, genuine.map(([k]) => k.slice(prefix.length)).sort());
  }
  const bad = io();
  assert.equal(await main(['eval', '--run', 'x', '--data', MINI, '--ndcg-at-k', '10,zero'], bad.io), 2);
});
