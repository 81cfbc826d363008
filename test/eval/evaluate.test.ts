import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../helpers/paths.js';
import { evaluateRetrieval } from '../../src/eval/evaluate.js';
import { BruteForceSearcher, type VectorSearcher } from '../../src/eval/retriever.js';
import { dot, type SparseVector } from '../../src/sparse/vector.js';
import { isSparseEncoderError } from '../../src/errors.js';

const MINI = join(fixture('eval'), 'mini');
const expected = JSON.parse(readFileSync(join(MINI, 'expected.json'), 'utf8')) as {
  evaluator: { kwargs: Record<string, number[]> };
  score_matrix: { rows_query_ids: string[]; cols_corpus_ids: string[]; scores: number[][] };
  variants: Record<string, {
    metrics: { dict: Record<string, number> };
    ties: { tie_break_alternative: { metrics_that_differ: Record<string, { ties_by_corpus_position: number }> } };
  }>;
};
const kw = expected.evaluator.kwargs;
const cutoffs = {
  accuracyAtK: kw['accuracy_at_k']!,
  precisionRecallAtK: kw['precision_recall_at_k']!,
  mrrAtK: kw['mrr_at_k']!,
  ndcgAtK: kw['ndcg_at_k']!,
  mapAtK: kw['map_at_k']!,
};

/** The fixture's static model: weight 1 on each distinct word (fruit words are single word pieces). */
function staticEncoder() {
  const vocab = new Map<string, number>();
  const encode = async (texts: string[]): Promise<SparseVector[]> =>
    texts.map((t) => {
      const ids = [...new Set(t.trim().split(/\s+/).filter(Boolean))].map((w) => vocab.get(w) ?? vocab.set(w, vocab.size + 1000).get(w)!);
      ids.sort((a, b) => a - b);
      return { indices: Uint32Array.from(ids), values: new Float32Array(ids.length).fill(1), dim: 30522 };
    });
  return { encodeQuery: encode, encodeDocument: encode };
}

/** Lists every document (zero scores too), ties by corpus position: the fixture's alternative rule. */
function allDocsSearcher(docs: Array<{ id: string; vector: SparseVector }>): VectorSearcher {
  return {
    search: (q, k) =>
      docs
        .map((d, i) => ({ id: d.id, score: dot(q, d.vector), i }))
        .sort((a, b) => b.score - a.score || a.i - b.i)
        .slice(0, k)
        .map(({ id, score }) => ({ id, score })),
  };
}

for (const [variant, relevanceThreshold] of [['relevant_if_grade_above_0', 1], ['relevant_if_any_qrels_row', 0]] as const) {
  test(`mini end to end (${variant}): genuine values, or the documented corpus-order values where ties decide`, async () => {
    const v = expected.variants[variant]!;
    const differ = v.ties.tie_break_alternative.metrics_that_differ;
    const r = await evaluateRetrieval({
      dataset: { folder: MINI },
      model: staticEncoder(),
      cutoffs,
      relevanceThreshold,
      buildSearcher: async (docs) => allDocsSearcher(docs),
    });
    assert.equal(r.primaryMetric, 'ndcg@10');
    assert.equal(r.queriesEvaluated, relevanceThreshold === 1 ? 4 : 5);
    let checked = 0;
    for (const [key, genuine] of Object.entries(v.metrics.dict)) {
      const ours = key.replace(/^mini_dot_/, '').replace(/^mini_/, '');
      const want = differ[key.replace(/^mini_/, '')]?.ties_by_corpus_position ?? genuine;
      assert.ok(Math.abs(r.metrics[ours]! - want) < 1e-6, `${key}: ${r.metrics[ours]} vs ${want}`);
      checked++;
    }
    assert.equal(checked, 24);
  });
}

test('the default exhaustive searcher ranks by score, ties in corpus order, only documents sharing a term', async () => {
  const s = new BruteForceSearcher();
  const vec = (idx: number[], val: number[]): SparseVector => ({ indices: Uint32Array.from(idx), values: Float32Array.from(val), dim: 10 });
  s.add('a', vec([1], [1]));
  s.add('b', vec([1, 2], [1, 5]));
  s.add('c', vec([1], [1]));
  s.add('d', vec([3], [7]));
  assert.deepEqual(s.search(vec([1, 2], [2, 1]), 10), [
    { id: 'b', score: 7 },
    { id: 'a', score: 2 },
    { id: 'c', score: 2 },
  ]);
  assert.throws(() => s.search({ ...vec([1], [1]), dim: 11 }, 1), (e) => isSparseEncoderError(e, 'ERR_DIMENSION_MISMATCH'));
});

test('exactly one of model, retriever, run', async () => {
  await assert.rejects(evaluateRetrieval({ dataset: { folder: MINI } }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  await assert.rejects(evaluateRetrieval({ dataset: { folder: MINI }, model: 'bm25', run: new Map() }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('the default index search returns exactly the exhaustive ranking (cranfield, BM25)', async () => {
  const { DATA } = await import('../helpers/paths.js');
  const { loadBeirDataset } = await import('../../src/eval/beir.js');
  const dataset = await loadBeirDataset({ folder: join(DATA, 'cranfield') });
  const viaIndex = await evaluateRetrieval({ dataset, model: 'bm25' });
  const exhaustive = await evaluateRetrieval({
    dataset,
    model: 'bm25',
    buildSearcher: async (docs) => {
      const s = new BruteForceSearcher();
      for (const d of docs) s.add(d.id, d.vector);
      return s;
    },
  });
  assert.equal(viaIndex.run.size, 225);
  for (const [qid, hits] of exhaustive.run) {
    const other = viaIndex.run.get(qid)!;
    assert.deepEqual(other.map((h) => h.id), hits.map((h) => h.id), qid);
    hits.forEach((h, i) => assert.ok(Math.abs(h.score - other[i]!.score) < 1e-4 * Math.max(1, h.score)));
  }
  assert.deepEqual(viaIndex.metrics, exhaustive.metrics);
});

test('hybrid: RRF of BM25 and the static model, fused as documented', async () => {
  const { reciprocalRankFusion } = await import('../../src/eval/fusion.js');
  const dataset = { folder: MINI };
  const single = async (model: 'bm25' | ReturnType<typeof staticEncoder>) => (await evaluateRetrieval({ dataset, model, k: 12 })).run;
  const expectedRun = reciprocalRankFusion([await single('bm25'), await single(staticEncoder())]);
  const r = await evaluateRetrieval({ dataset, hybrid: { models: ['bm25', staticEncoder()], depth: 12 }, k: 5 });
  assert.equal(r.sparsity, undefined);
  assert.ok(r.bm25);
  for (const [qid, hits] of r.run) assert.deepEqual(hits, expectedRun.get(qid)!.slice(0, 5), qid);
  await assert.rejects(evaluateRetrieval({ dataset, hybrid: { models: ['bm25'] } }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('no judged query, or an empty run, is an error rather than a table of zeros', async () => {
  const { loadBeirDataset } = await import('../../src/eval/beir.js');
  const dataset = await loadBeirDataset({ folder: MINI });
  // Qrels with nothing relevant (every grade 0), or naming no query of the dataset.
  const zeroGrades = new Map([...dataset.qrels].map(([q, docs]) => [q, new Map([...docs.keys()].map((d) => [d, 0]))]));
  const foreign = new Map([['no-such-query', new Map([['d', 1]])]]);
  for (const qrels of [zeroGrades, foreign, new Map()]) {
    await assert.rejects(evaluateRetrieval({ dataset: { ...dataset, qrels }, model: 'bm25' }), (e) => isSparseEncoderError(e, 'ERR_DATASET_MISSING') && /relevant judgement/.test(e.message));
  }
  await assert.rejects(evaluateRetrieval({ dataset, run: new Map() }), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT') && /no hits/.test(e.message));
  await assert.rejects(evaluateRetrieval({ dataset, run: new Map([['q1', []]]) }), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'));
});
