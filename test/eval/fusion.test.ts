import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FusionRetriever, reciprocalRankFusion, weightedScoreFusion } from '../../src/eval/fusion.js';
import type { Retriever } from '../../src/eval/retriever.js';
import type { Run } from '../../src/eval/types.js';
import { isSparseEncoderError } from '../../src/errors.js';

const A: Run = new Map([['q', [{ id: 'x', score: 9 }, { id: 'y', score: 5 }, { id: 'z', score: 1 }]]]);
const B: Run = new Map([['q', [{ id: 'z', score: 0.8 }, { id: 'x', score: 0.6 }]], ['r', [{ id: 'w', score: 1 }]]]);

test('reciprocal rank fusion with k = 60', () => {
  const fused = reciprocalRankFusion([A, B]);
  const hits = fused.get('q')!;
  // x: 1/61 + 1/62, z: 1/63 + 1/61, y: 1/62.
  assert.deepEqual(hits.map((h) => h.id), ['x', 'z', 'y']);
  assert.ok(Math.abs(hits[0]!.score - (1 / 61 + 1 / 62)) < 1e-15);
  assert.ok(Math.abs(hits[1]!.score - (1 / 63 + 1 / 61)) < 1e-15);
  assert.ok(Math.abs(hits[2]!.score - 1 / 62) < 1e-15);
  assert.deepEqual(fused.get('r'), [{ id: 'w', score: 1 / 61 }]);
  assert.equal(reciprocalRankFusion([A, B], { k: 0, weights: [2, 1] }).get('q')![0]!.score, 2 / 1 + 1 / 2);
});

test('weighted score fusion, min-max normalised per query and run', () => {
  const fused = weightedScoreFusion([A, B], { weights: [0.3, 0.7] }).get('q')!;
  // A normalised: x 1, y 0.5, z 0. B normalised: z 1, x 0.
  const expected = new Map([['x', 0.3], ['y', 0.15], ['z', 0.7]]);
  assert.deepEqual(fused.map((h) => h.id), ['z', 'x', 'y']);
  for (const h of fused) assert.ok(Math.abs(h.score - expected.get(h.id)!) < 1e-12);
  const raw = weightedScoreFusion([A, B], { normalization: 'none' }).get('q')!;
  assert.ok(Math.abs(raw[0]!.score - (0.5 * 9 + 0.5 * 0.6)) < 1e-12);
  assert.throws(() => weightedScoreFusion([A, B], { weights: [1] }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('FusionRetriever asks each retriever for depth hits and keeps the top k', async () => {
  const asked: number[] = [];
  const fixed = (run: Run, name: string): Retriever => ({
    name,
    search: async (_queries, { k }) => {
      asked.push(k);
      return run;
    },
  });
  const hybrid = new FusionRetriever({ retrievers: [fixed(A, 'a'), fixed(B, 'b')], depth: 50 });
  assert.equal(hybrid.name, 'rrf(a, b)');
  const run = await hybrid.search([{ id: 'q', text: '' }], { k: 2 });
  assert.deepEqual(asked, [50, 50]);
  assert.deepEqual(run.get('q')!.map((h) => h.id), ['x', 'z']);
  assert.throws(() => new FusionRetriever({ retrievers: [fixed(A, 'a')] }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});
