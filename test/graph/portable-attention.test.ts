// Portable attention (issue 23, for WebGPU): the graphs built with attention from standard ONNX ops
// (MatMul, Softmax, Transpose, Reshape; src/graph/attention.ts portableAttention) instead of the
// com.microsoft fused ops give the genuine sentence-transformers vectors for every transformer family,
// here on onnxruntime-node, in fp32 within ORACLE.md's tolerance, and in int8 close to the fused int8
// graph. The Chromium test runs the same graphs on WebGPU.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpladeTransformer } from '../../src/modules/splade-transformer.js';
import { cosine } from '../../src/sparse/vector.js';
import { loadSpladeFixture, vectorMismatch, type RecordedResult } from './fixture-models.js';

const CASES: Array<{ fixture: string; mlmDir?: string; poolingDir?: string }> = [
  { fixture: 'splade-bert' },
  { fixture: 'splade-distilbert' },
  { fixture: 'splade-roberta' },
  { fixture: 'splade-gte' },
  { fixture: 'splade-modernbert' },
];

for (const c of CASES) {
  describe(`portable attention: ${c.fixture}`, () => {
    let recs: RecordedResult[];
    let fx: Awaited<ReturnType<typeof loadSpladeFixture>>;
    const models: SpladeTransformer[] = [];
    const batch = () => ({ ids: recs.map((r) => r.input_ids), ...(recs.every((r) => r.token_type_ids !== undefined) ? { typeIds: recs.map((r) => r.token_type_ids!) } : {}) });

    before(async () => {
      fx = await loadSpladeFixture(c.fixture, c.mlmDir, c.poolingDir);
      recs = fx.expected.results['document']!.filter((r) => r.error === undefined);
    });
    after(async () => {
      for (const m of models) await m.dispose();
    });

    const create = async (attention: 'fused' | 'portable', int8: boolean): Promise<SpladeTransformer> => {
      const m = await SpladeTransformer.create({ config: fx.config, weights: fx.weights, pooling: fx.pooling, activation: fx.activation, threads: 1, attention, ...(int8 ? { quantize: { precision: 'int8' } } : {}) });
      models.push(m);
      return m;
    };

    it('fp32: every document text, one padded batch, equals the genuine vectors', async () => {
      const got = await (await create('portable', false)).encode(batch());
      recs.forEach((r, i) => assert.equal(vectorMismatch(got[i]!, r), undefined, `text ${r.text_id}: ${vectorMismatch(got[i]!, r)}`));
    });

    it('int8: within the fused int8 graph (cosine >= 0.999 per text)', async () => {
      const portable = await (await create('portable', true)).encode(batch());
      const fused = await (await create('fused', true)).encode(batch());
      portable.forEach((v, i) => assert.ok(cosine(v, fused[i]!) >= 0.999, `text ${recs[i]!.text_id}: cosine ${cosine(v, fused[i]!)}`));
    });
  });
}
