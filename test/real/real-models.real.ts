// Opt-in: downloads the real models from the Hugging Face Hub and checks the scores recorded from
// the Python reference (../shared/reference/real-model-scores.json). Run with
//   SPARSE_ENCODER_REAL_MODELS=1 npm run test:real        (naver/splade-v3 also needs HF_TOKEN)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { evaluateRetrieval } from '../../src/eval/evaluate.js';
import { SHARED } from '../helpers/paths.js';

interface Scores {
  query: string;
  documents: string[];
  seed_models: Record<string, number[]>;
  other_models: Record<string, number[] | { scores_transformers_v4: number[]; rtol: number }>;
  seed_example: { model: string; query: string; documents: string[]; scores: number[] };
  opensearch_token_checks: Array<{ model: string; query: string; document: string; score: number; tokens: Record<string, [number, number]> }>;
}

const REAL = process.env['SPARSE_ENCODER_REAL_MODELS'] === '1';
const HAS_TOKEN = (process.env['HF_TOKEN'] ?? '') !== '';
const SCORES = JSON.parse(readFileSync(join(SHARED, 'reference', 'real-model-scores.json'), 'utf8')) as Scores;
const GATED = new Set(['naver/splade-v3']);

/** Models we refuse on purpose, with the error code we expect. */
const UNSUPPORTED: Record<string, string> = {
  // ModernBERT is not among the transformer families we build.
  'tomaarsen/splade-modernbert-base-miriad': 'ERR_UNSUPPORTED_ARCHITECTURE',
  // mxbai-embed-large-v1 pools the CLS token; our CSR route runs mean pooling only.
  'tomaarsen/csr-mxbai-embed-large-v1-nq': 'ERR_UNSUPPORTED_MODULE',
};

function skipReason(model: string): string | false {
  if (!REAL) return 'set SPARSE_ENCODER_REAL_MODELS=1 to download and test real models';
  if (GATED.has(model) && !HAS_TOKEN) return `${model} is gated: set HF_TOKEN`;
  return false;
}

function assertRelClose(actual: number, expected: number, rtol: number, label: string): void {
  assert.ok(Math.abs(actual - expected) <= rtol * Math.abs(expected), `${label}: ${actual} vs ${expected} (rtol ${rtol})`);
}

const models: Array<[string, number[], number]> = [
  ...Object.entries(SCORES.seed_models).map(([m, s]): [string, number[], number] => [m, s, 0.01]),
  ...Object.entries(SCORES.other_models).map(([m, s]): [string, number[], number] =>
    Array.isArray(s) ? [m, s, 0.01] : [m, s.scores_transformers_v4, s.rtol],
  ),
];

/** Indices of `scores` from highest to lowest. */
const ranking = (scores: readonly number[]): number[] => scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i);

for (const [name, expected, rtol] of models) {
  // int8: the published fp32 ranking of the four documents, each score within 5%.
  test(`real model ${name}, int8`, { skip: skipReason(name) || (UNSUPPORTED[name] !== undefined ? 'refused model' : false), timeout: 30 * 60_000 }, async (t) => {
    const model = await SparseEncoder.fromPretrained(name, { quantize: 'int8' });
    try {
      const scores = model.similarity(await model.encodeQuery(SCORES.query), await model.encodeDocument(SCORES.documents))[0]!;
      t.diagnostic(`${name} int8 scores ${scores.map((s) => s.toFixed(4)).join(', ')} (fp32 reference ${expected.join(', ')})`);
      assert.deepEqual(ranking(scores), ranking(expected));
      scores.forEach((s, i) => assertRelClose(s, expected[i]!, 0.05, `${name} int8 document ${i}`));
    } finally {
      await model.dispose();
    }
  });

  test(`real model ${name}`, { skip: skipReason(name), timeout: 30 * 60_000 }, async () => {
    const refused = UNSUPPORTED[name];
    if (refused !== undefined) {
      await assert.rejects(SparseEncoder.fromPretrained(name), (e) => isSparseEncoderError(e) && (e.code === refused || e.code === 'ERR_UNSUPPORTED_MODULE'));
      return;
    }
    const model = await SparseEncoder.fromPretrained(name);
    try {
      const q = await model.encodeQuery(SCORES.query);
      const d = await model.encodeDocument(SCORES.documents);
      const scores = model.similarity(q, d)[0]!;
      scores.forEach((s, i) => assertRelClose(s, expected[i]!, rtol, `${name} document ${i}`));
    } finally {
      await model.dispose();
    }
  });
}

test(`real model ${SCORES.seed_example.model}: documentation example`, { skip: skipReason(SCORES.seed_example.model), timeout: 30 * 60_000 }, async () => {
  const ex = SCORES.seed_example;
  const model = await SparseEncoder.fromPretrained(ex.model);
  try {
    const scores = model.similarity(await model.encodeQuery(ex.query), await model.encodeDocument(ex.documents))[0]!;
    scores.forEach((s, i) => assertRelClose(s, ex.scores[i]!, 0.01, `document ${i}`));
  } finally {
    await model.dispose();
  }
});

for (const check of SCORES.opensearch_token_checks) {
  test(`real model ${check.model}: token weights`, { skip: skipReason(check.model), timeout: 30 * 60_000 }, async () => {
    const model = await SparseEncoder.fromPretrained(check.model);
    try {
      const q = await model.encodeQuery(check.query);
      const d = await model.encodeDocument(check.document);
      assertRelClose(model.similarity(q, d)[0]![0]!, check.score, 0.01, 'score');
      const qTokens = new Map(model.decode(q));
      const dTokens = new Map(model.decode(d));
      for (const [token, [qw, dw]] of Object.entries(check.tokens)) {
        assert.ok(Math.abs((qTokens.get(token) ?? 0) - qw) <= 1e-3, `query weight of ${token}: ${qTokens.get(token)} vs ${qw}`);
        assert.ok(Math.abs((dTokens.get(token) ?? 0) - dw) <= 1e-3, `document weight of ${token}: ${dTokens.get(token)} vs ${dw}`);
      }
    } finally {
      await model.dispose();
    }
  });
}

// int8 retrieval quality on real data: nDCG@10 on SciFact within 1% of fp32 (printed for the record).
for (const name of ['naver/splade-v3', 'opensearch-project/opensearch-neural-sparse-encoding-doc-v3-distill']) {
  test(`real model ${name}: SciFact nDCG@10, int8 vs fp32`, { skip: skipReason(name), timeout: 6 * 60 * 60_000 }, async (t) => {
    const ndcg: Record<string, number> = {};
    for (const quantize of ['none', 'int8'] as const) {
      const model = await SparseEncoder.fromPretrained(name, { quantize });
      try {
        const result = await evaluateRetrieval({ dataset: { folder: join(SHARED, 'data', 'scifact') }, model });
        ndcg[quantize] = result.metrics['ndcg@10']!;
      } finally {
        await model.dispose();
      }
    }
    t.diagnostic(`${name} SciFact nDCG@10: fp32 ${ndcg['none']!.toFixed(4)}, int8 ${ndcg['int8']!.toFixed(4)} (ratio ${(ndcg['int8']! / ndcg['none']!).toFixed(4)})`);
    assert.ok(ndcg['int8']! >= 0.99 * ndcg['none']!, `int8 nDCG@10 ${ndcg['int8']} < 0.99 × fp32 ${ndcg['none']}`);
  });
}
