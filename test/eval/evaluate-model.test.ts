import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../helpers/paths.js';
import { evaluateRetrieval } from '../../src/eval/evaluate.js';
import { toSentenceTransformersKeys } from '../../src/eval/metrics.js';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';

const expected = JSON.parse(readFileSync(join(fixture('eval'), 'expected.json'), 'utf8')) as {
  evaluator: { kwargs: Record<string, number[]> };
  metrics: { dict: Record<string, number> };
};

test('scifact-subset with the splade-bert fixture: every metric and sparsity figure matches the genuine evaluator to 1e-6', async () => {
  const kw = expected.evaluator.kwargs;
  const encoder = await SparseEncoder.fromPretrained(fixture('splade-bert'));
  try {
    const r = await evaluateRetrieval({
      dataset: { folder: join(fixture('eval'), 'scifact-subset') },
      model: encoder,
      cutoffs: {
        accuracyAtK: kw['accuracy_at_k']!,
        precisionRecallAtK: kw['precision_recall_at_k']!,
        mrrAtK: kw['mrr_at_k']!,
        ndcgAtK: kw['ndcg_at_k']!,
        mapAtK: kw['map_at_k']!,
      },
    });
    const ours = toSentenceTransformersKeys(r.metrics, 'scifact-subset');
    assert.deepEqual(Object.keys(ours), Object.keys(expected.metrics.dict));
    for (const [key, genuine] of Object.entries(expected.metrics.dict)) {
      assert.ok(Math.abs(ours[key]! - genuine) < 1e-6, `${key}: ${ours[key]} vs genuine ${genuine}`);
    }
    assert.equal(`scifact-subset_dot_${r.primaryMetric}`, 'scifact-subset_dot_ndcg@100');
  } finally {
    await encoder.dispose();
  }
});
