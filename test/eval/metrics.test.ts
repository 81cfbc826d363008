import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../helpers/paths.js';
import { scoreRun, SparsityAccumulator, sparsityMetrics, toSentenceTransformersKeys, trecOrder, type MetricCutoffs } from '../../src/eval/metrics.js';
import type { Qrels, Run } from '../../src/eval/types.js';
import { isSparseEncoderError } from '../../src/errors.js';

interface Ranking {
  query_id: string;
  relevant: string[];
  ranked: Array<[string, number]>;
}
interface Variant {
  queries_evaluated: string[];
  rankings: Ranking[];
  metrics: { dict: Record<string, number> };
  sparsity: { query_active_dims_per_query: number[]; corpus_active_dims_per_doc: number[]; embedding_dimension?: number };
}

const scifact = JSON.parse(readFileSync(join(fixture('eval'), 'expected.json'), 'utf8')) as Variant & {
  evaluator: { kwargs: Record<string, number[]> };
};
const mini = JSON.parse(readFileSync(join(fixture('eval'), 'mini', 'expected.json'), 'utf8')) as {
  evaluator: { kwargs: Record<string, number[]> };
  variants: Record<string, Variant>;
  score_matrix: { rows_query_ids: string[]; cols_corpus_ids: string[]; scores: number[][] };
};

function cutoffsOf(kwargs: Record<string, number[]>): MetricCutoffs {
  return {
    accuracyAtK: kwargs['accuracy_at_k']!,
    precisionRecallAtK: kwargs['precision_recall_at_k']!,
    mrrAtK: kwargs['mrr_at_k']!,
    ndcgAtK: kwargs['ndcg_at_k']!,
    mapAtK: kwargs['map_at_k']!,
  };
}

/** The recorded rankings as a run, and the recorded relevant sets as qrels (grade 1). */
function fromRankings(rankings: Ranking[]): { run: Run; qrels: Qrels } {
  const run: Run = new Map();
  const qrels: Qrels = new Map();
  for (const r of rankings) {
    run.set(r.query_id, r.ranked.map(([id, score]) => ({ id, score })));
    qrels.set(r.query_id, new Map(r.relevant.map((d) => [d, 1])));
  }
  return { run, qrels };
}

function assertRetrievalMetrics(actual: Record<string, number>, expected: Record<string, number>, name: string): number {
  let compared = 0;
  for (const [key, value] of Object.entries(expected)) {
    if (!key.startsWith(`${name}_dot_`)) continue;
    assert.ok(key in actual, `missing ${key}`);
    assert.ok(Math.abs(actual[key]! - value) < 1e-6, `${key}: got ${actual[key]}, genuine ${value}`);
    compared++;
  }
  return compared;
}

test('scifact-subset: metrics from the recorded rankings match the genuine evaluator to 1e-6', () => {
  const { run, qrels } = fromRankings(scifact.rankings);
  const scores = scoreRun(run, qrels, { cutoffs: cutoffsOf(scifact.evaluator.kwargs) });
  assert.equal(scores.queriesEvaluated, 40);
  const named = toSentenceTransformersKeys(scores.metrics, 'scifact-subset');
  assert.equal(assertRetrievalMetrics(named, scifact.metrics.dict, 'scifact-subset'), 21);
  assert.equal(scores.primaryMetric, 'ndcg@100'); // genuine primary: scifact-subset_dot_ndcg@100
  // Same key order as the genuine dict.
  const genuineOrder = Object.keys(scifact.metrics.dict).filter((k) => k.includes('_dot_'));
  assert.deepEqual(Object.keys(named), genuineOrder);
});

for (const variant of ['relevant_if_grade_above_0', 'relevant_if_any_qrels_row']) {
  test(`mini (${variant}): metrics from the recorded rankings match, tied lists included`, () => {
    const v = mini.variants[variant]!;
    const { run, qrels } = fromRankings(v.rankings);
    const scores = scoreRun(run, qrels, { cutoffs: cutoffsOf(mini.evaluator.kwargs) });
    assert.deepEqual([...scores.perQuery.keys()], v.queries_evaluated);
    assert.equal(assertRetrievalMetrics(toSentenceTransformersKeys(scores.metrics, 'mini'), v.metrics.dict, 'mini'), 19);
  });
}

test('mini: graded qrels, grade-0 rows and queries without a relevant document follow the documented rules', () => {
  // Real graded qrels (not the fixture's relevant sets): threshold 1 drops q5 (only a grade-0 row).
  const graded = (JSON.parse(readFileSync(join(fixture('eval'), 'mini', 'expected.json'), 'utf8')) as { qrels_graded: Array<[string, string, number]> }).qrels_graded;
  const qrels: Qrels = new Map();
  for (const [q, d, g] of graded) {
    if (!qrels.has(q)) qrels.set(q, new Map());
    qrels.get(q)!.set(d, g);
  }
  const cutoffs = cutoffsOf(mini.evaluator.kwargs);
  const above0 = mini.variants['relevant_if_grade_above_0']!;
  const any = mini.variants['relevant_if_any_qrels_row']!;
  const s1 = scoreRun(fromRankings(above0.rankings).run, qrels, { cutoffs });
  assert.equal(s1.queriesEvaluated, 4);
  assertRetrievalMetrics(toSentenceTransformersKeys(s1.metrics, 'mini'), above0.metrics.dict, 'mini');
  const s2 = scoreRun(fromRankings(any.rankings).run, qrels, { cutoffs, relevanceThreshold: 0 });
  assert.equal(s2.queriesEvaluated, 5);
  assertRetrievalMetrics(toSentenceTransformersKeys(s2.metrics, 'mini'), any.metrics.dict, 'mini');
});

test('sparsity: active dims and ratios from the recorded per-vector counts; FLOPS on the mini vocabulary', () => {
  // scifact-subset: vectors with the recorded number of non-zeros (which dims does not matter here).
  const vec = (n: number, dim: number) => ({ indices: Uint32Array.from({ length: n }, (_, i) => i), values: new Float32Array(n).fill(1), dim });
  const acc = new SparsityAccumulator(30522);
  acc.addQueries(scifact.sparsity.query_active_dims_per_query.map((n) => vec(n, 30522)));
  acc.addDocuments(scifact.sparsity.corpus_active_dims_per_doc.map((n) => vec(n, 30522)));
  const m = toSentenceTransformersKeys(sparsityMetrics(acc.result()), 'scifact-subset');
  for (const key of ['query_active_dims', 'query_sparsity_ratio', 'corpus_active_dims', 'corpus_sparsity_ratio']) {
    const k = `scifact-subset_${key}`;
    assert.ok(Math.abs(m[k]! - scifact.metrics.dict[k]!) < 1e-6, `${k}: ${m[k]} vs ${scifact.metrics.dict[k]}`);
  }

  // mini: each distinct word is one dimension with weight 1 (the fixture's static model).
  const texts = JSON.parse(readFileSync(join(fixture('eval'), 'mini', 'expected.json'), 'utf8')) as { texts_tokens: Record<string, string[]> };
  const vocab = new Map<string, number>();
  const encode = (text: string) => {
    const ids = [...new Set(texts.texts_tokens[text]!)].map((w) => vocab.get(w) ?? vocab.set(w, vocab.size + 100).get(w)!);
    ids.sort((a, b) => a - b);
    return { indices: Uint32Array.from(ids), values: new Float32Array(ids.length).fill(1), dim: 30522 };
  };
  const corpus = readFileSync(join(fixture('eval'), 'mini', 'corpus.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string });
  const queries = new Map(readFileSync(join(fixture('eval'), 'mini', 'queries.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const q = JSON.parse(l) as { _id: string; text: string };
    return [q._id, q.text];
  }));
  for (const variant of ['relevant_if_grade_above_0', 'relevant_if_any_qrels_row']) {
    const v = mini.variants[variant]!;
    const a = new SparsityAccumulator(30522);
    a.addQueries(v.queries_evaluated.map((q) => encode(queries.get(q)!)));
    a.addDocuments(corpus.map((d) => encode(d.text)));
    const got = toSentenceTransformersKeys(sparsityMetrics(a.result()), 'mini');
    for (const key of ['query_active_dims', 'query_sparsity_ratio', 'corpus_active_dims', 'corpus_sparsity_ratio', 'avg_flops']) {
      const k = `mini_${key}`;
      assert.ok(Math.abs(got[k]! - v.metrics.dict[k]!) < 1e-6, `${variant} ${k}: ${got[k]} vs ${v.metrics.dict[k]}`);
    }
  }
});

test('trec conventions: graded nDCG, map over all relevant, -c counts unanswered queries, ties by docno descending', () => {
  const qrels: Qrels = new Map([
    ['q1', new Map([['a', 2], ['b', 1], ['c', 0], ['z', 1]])],
    ['q2', new Map([['x', 1]])],
    ['q3', new Map([['y', 0]])], // judged, nothing relevant: counts as 0 under trec, dropped under st
  ]);
  // q1: scores tie between b and a; trec_eval orders ties by docno descending: b before a.
  const run: Run = new Map([
    ['q1', [{ id: 'a', score: 1 }, { id: 'b', score: 1 }, { id: 'c', score: 0.5 }, { id: 'd', score: 0.2 }]],
    ['q3', [{ id: 'y', score: 3 }]],
  ]);
  assert.deepEqual(trecOrder(run.get('q1')!).map((h) => h.id), ['b', 'a', 'c', 'd']);
  const cutoffs = { accuracyAtK: [1], precisionRecallAtK: [1, 3], mrrAtK: [10], ndcgAtK: [3], mapAtK: [3] };
  const t = scoreRun(run, qrels, { conventions: 'trec', cutoffs });
  assert.equal(t.queriesEvaluated, 3);
  const q1 = t.perQuery.get('q1')!;
  // Ranked b(1) a(2) c(0) d(-): DCG@3 = 1/log2(2) + 2/log2(3); ideal 2, 1, 1.
  const dcg = 1 + 2 / Math.log2(3);
  const idcg = 2 + 1 / Math.log2(3) + 1 / 2;
  assert.ok(Math.abs(q1['ndcg@3']! - dcg / idcg) < 1e-12);
  assert.equal(q1['precision@3'], 2 / 3);
  assert.equal(q1['recall@3'], 2 / 3); // 3 relevant (a, b, z)
  assert.equal(q1['map@3'], (1 / 1 + 2 / 2) / 3); // trec divides by all relevant
  assert.equal(q1['recip_rank'], 1);
  assert.equal(t.perQuery.get('q2')!['ndcg@3'], 0); // not in the run: -c counts it as 0
  assert.equal(t.perQuery.get('q3')!['ndcg@3'], 0);
  assert.ok(Math.abs(t.metrics['ndcg@3']! - dcg / idcg / 3) < 1e-12);

  // Without -c only queries present in the run count.
  assert.equal(scoreRun(run, qrels, { conventions: 'trec', cutoffs, complete: false }).queriesEvaluated, 2);
  // -M: keep only the first hit (b) after sorting.
  assert.equal(scoreRun(run, qrels, { conventions: 'trec', cutoffs, maxHitsPerQuery: 1 }).perQuery.get('q1')!['recall@3'], 1 / 3);

  // st: binary gains, run order kept for ties (a first), map over min(k, |rel|), q2 (no hits) 0, q3 dropped.
  const s = scoreRun(run, qrels, { conventions: 'st', cutoffs });
  assert.equal(s.queriesEvaluated, 2);
  const sq1 = s.perQuery.get('q1')!;
  assert.ok(Math.abs(sq1['ndcg@3']! - (1 + 1 / Math.log2(3)) / (1 + 1 / Math.log2(3) + 0.5)) < 1e-12);
  assert.equal(sq1['map@3'], (1 + 1) / 3);
  assert.equal(s.perQuery.get('q2')!['mrr@10'], 0);
});

test('bad options are ERR_INVALID_ARGUMENT', () => {
  assert.throws(() => scoreRun(new Map(), new Map(), { conventions: 'x' as 'st' }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  assert.throws(() => scoreRun(new Map(), new Map(), { cutoffs: { ndcgAtK: [0] } }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  assert.throws(() => new SparsityAccumulator(0), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});
