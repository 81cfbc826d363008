// Opt-in: downloads the real models from the Hugging Face Hub and checks the scores recorded from
// the Python reference (../shared/reference/real-model-scores.json). Run with
//   SPARSE_ENCODER_REAL_MODELS=1 npm run test:real        (naver/splade-v3 also needs HF_TOKEN)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
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
  // Custom GTE ("new") architecture, needs trust_remote_code.
  'opensearch-project/opensearch-neural-sparse-encoding-doc-v3-gte': 'ERR_UNSUPPORTED_ARCHITECTURE',
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

for (const [name, expected, rtol] of models) {
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
