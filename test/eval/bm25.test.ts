import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA } from '../helpers/paths.js';
import { Bm25Model, luceneNormLength } from '../../src/eval/bm25.js';
import { evaluateRetrieval } from '../../src/eval/evaluate.js';
import { loadBeirDataset } from '../../src/eval/beir.js';
import { dot } from '../../src/sparse/vector.js';
import { isSparseEncoderError } from '../../src/errors.js';

const CORPUS = ['apple apple banana', 'banana cherry', 'cherry cherry cherry date banana fig'];

/** Lucene's BM25 written out directly, in float64, on hand-analysed terms. */
function bm25Score(query: string[], doc: string[], docs: string[][], k1: number, b: number): number {
  const avgdl = docs.reduce((s, d) => s + d.length, 0) / docs.length;
  let score = 0;
  for (const t of query) {
    const tf = doc.filter((x) => x === t).length;
    if (tf === 0) continue;
    const df = docs.filter((d) => d.includes(t)).length;
    const idf = Math.log(1 + (docs.length - df + 0.5) / (df + 0.5));
    score += (idf * tf) / (tf + k1 * (1 - b + (b * doc.length) / avgdl));
  }
  return score;
}

test('dot(query, document) is the BM25 score; repeated query terms count twice', async () => {
  const analysed = [['appl', 'appl', 'banana'], ['banana', 'cherri'], ['cherri', 'cherri', 'cherri', 'date', 'banana', 'fig']];
  for (const [k1, b] of [[0.9, 0.4], [1.2, 0.75]] as const) {
    const model = await Bm25Model.fit(CORPUS, { k1, b });
    assert.equal(model.dim, 5);
    const docs = await model.encodeDocument(CORPUS);
    const [q] = await model.encodeQuery(['Apples and cherries, cherries! kiwi']);
    const queryTerms = ['appl', 'cherri', 'cherri']; // 'and' is a stop word, 'kiwi' is not in the corpus
    for (let i = 0; i < docs.length; i++) {
      const expected = bm25Score(queryTerms, analysed[i]!, analysed, k1, b);
      assert.ok(Math.abs(dot(q!, docs[i]!) - expected) < 1e-5 * Math.max(1, expected), `doc ${i}: ${dot(q!, docs[i]!)} vs ${expected}`);
    }
  }
});

test("Lucene's one-byte length norm: exact below 24, then 4 significant bits rounded down", () => {
  for (let i = 0; i < 24; i++) assert.equal(luceneNormLength(i), i);
  // 100 - 24 = 76 = 0b1001100 → keeps 0b1001000 = 72; 1000 - 24 = 976 = 0b1111010000 → 0b1111000000 = 960.
  assert.equal(luceneNormLength(100), 96);
  assert.equal(luceneNormLength(1000), 984);
  assert.equal(luceneNormLength(24 + 15), 39);
  assert.equal(luceneNormLength(24 + 17), 24 + 16);
});

test('saving and loading keeps the vocabulary, statistics and vectors', async () => {
  const model = await Bm25Model.fit(CORPUS, { k1: 1.1, b: 0.5, lengthEncoding: 'exact' });
  const path = join(mkdtempSync(join(tmpdir(), 'bm25-')), 'bm25.json');
  await model.save(path);
  const back = await Bm25Model.load(path);
  assert.equal(back.k1, 1.1);
  assert.equal(back.lengthEncoding, 'exact');
  assert.deepEqual(await back.encodeDocument(CORPUS), await model.encodeDocument(CORPUS));
  assert.deepEqual(back.toState(), model.toState());
  assert.equal(back.term(0), 'appl');

  writeFileSync(path, JSON.stringify({ ...model.toState(), doc_freqs: [1] }));
  await assert.rejects(Bm25Model.load(path), (e) => isSparseEncoderError(e, 'ERR_INDEX_FORMAT'));
  writeFileSync(path, JSON.stringify({ ...model.toState(), version: 9 }));
  await assert.rejects(Bm25Model.load(path), (e) => isSparseEncoderError(e, 'ERR_INDEX_VERSION'));
  writeFileSync(path, '{');
  await assert.rejects(Bm25Model.load(path), (e) => isSparseEncoderError(e, 'ERR_INDEX_CORRUPT'));
});

test('bad settings are ERR_INVALID_ARGUMENT; an empty corpus is ERR_INVALID_INPUT', async () => {
  await assert.rejects(Bm25Model.fit(CORPUS, { b: 2 }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  await assert.rejects(Bm25Model.fit(CORPUS, { k1: -1 }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  await assert.rejects(Bm25Model.fit([]), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'));
});

test("cranfield: the data's plain-BM25 sanity anchor (nDCG@10 0.3226) is reproduced", async () => {
  // SOURCE.md's recipe: lower-cased alphanumeric tokens, no stemming or stop words, k1 0.9, b 0.4,
  // trec_eval nDCG@10. It matches with exact lengths and each distinct query term counted once.
  const analyzer = { name: 'plain', analyze: (t: string) => t.toLowerCase().match(/[a-z0-9]+/g) ?? [] };
  const dataset = await loadBeirDataset({ folder: join(DATA, 'cranfield') });
  const bm25 = await Bm25Model.fit(dataset.corpus.map((d) => `${d.title} ${d.text}`), { analyzer, lengthEncoding: 'exact' });
  const distinctTerms = {
    encodeDocument: (texts: string[]) => bm25.encodeDocument(texts),
    encodeQuery: async (texts: string[]) => (await bm25.encodeQuery(texts)).map((v) => ({ ...v, values: v.values.map(() => 1) })),
  };
  const r = await evaluateRetrieval({ dataset, model: distinctTerms, conventions: 'trec', k: 100 });
  assert.equal(r.queriesEvaluated, 225);
  assert.ok(Math.abs(r.metrics['ndcg@10']! - 0.3226) < 5e-5, `nDCG@10 ${r.metrics['ndcg@10']}`);
});

test('issue 4: scifact BM25 (english, k1 0.9, b 0.4) matches Anserini flat: nDCG@10 0.6789, R@100 0.9253', async () => {
  const r = await evaluateRetrieval({ dataset: { folder: join(DATA, 'scifact') }, model: 'bm25', conventions: 'trec' });
  assert.equal(r.queriesEvaluated, 300);
  assert.ok(Math.abs(r.metrics['ndcg@10']! - 0.6789) < 0.005, `nDCG@10 ${r.metrics['ndcg@10']}`);
  assert.ok(Math.abs(r.metrics['recall@100']! - 0.9253) < 0.01, `R@100 ${r.metrics['recall@100']}`);
});
