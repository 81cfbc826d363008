// GTE "new" (issue 10): rotary tables, intermediate values and config checks against the genuine
// remote code's results (expected.json `debug_gte`, ORACLE.md "GTE fixtures").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSparseEncoderError } from '../../src/errors.js';
import { parseTransformerConfig } from '../../src/graph/config.js';
import { ropeTables } from '../../src/graph/attention.js';
import { buildSpladeGraph } from '../../src/graph/transformer-graph.js';
import { OnnxSession, type TensorData } from '../../src/runtime/session.js';
import { loadSpladeFixture } from './fixture-models.js';

const FIXTURES: Array<[string, string, string]> = [
  ['splade-gte', '.', '1_SpladePooling'],
  ['inference-free-gte', 'document_0_MLMTransformer', 'document_1_SpladePooling'],
];

const close = (a: number, b: number, tol = 1e-6): boolean => Math.abs(a - b) <= tol + tol * Math.abs(b);

for (const [name, mlm, pooling] of FIXTURES) {
  test(`${name}: rotary inv_freq, cos and sin rows as the genuine code computes them`, async () => {
    const fx = await loadSpladeFixture(name, mlm, pooling);
    const d = fx.expected['debug_gte'] as Record<string, any>;
    const config = parseTransformerConfig(fx.config);
    assert.equal(config.family, 'gte');
    assert.equal(config.rope!.ntkFactor, d.rotary_scaling_factor);
    const t = ropeTables(config.rope!, d.rotary_dim, 8);
    (d.rotary_inv_freq as number[]).forEach((v, j) => assert.ok(close(t.invFreq[j]!, v), `inv_freq[${j}] ${t.invFreq[j]} vs ${v}`));
    const half = d.rotary_dim / 2;
    [0, 1, 2, 5].forEach((p, r) => {
      for (let j = 0; j < d.rotary_dim; j++) {
        // cat(freqs, freqs): both halves of the genuine row are our one half.
        assert.ok(close(t.cos[p * half + (j % half)]!, d.rotary_cos_positions_0_1_2_5[r][j]), `cos[${p}][${j}]`);
        assert.ok(close(t.sin[p * half + (j % half)]!, d.rotary_sin_positions_0_1_2_5[r][j]), `sin[${p}][${j}]`);
      }
    });
  });

  test(`${name}: embedding output, last hidden state and logits of text 0 match the genuine code`, async () => {
    const fx = await loadSpladeFixture(name, mlm, pooling);
    const d = fx.expected['debug_gte'] as Record<string, any>;
    const config = parseTransformerConfig(fx.config);
    const session = await OnnxSession.create(buildSpladeGraph(config, fx.weights, { pooling: fx.pooling, activation: fx.activation, debugOutputs: true }), { intraOpNumThreads: 1 });
    try {
      const ids: number[] = d.input_ids;
      const dims = [1, ids.length];
      const feeds: Record<string, TensorData> = {
        input_ids: { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims },
        attention_mask: { type: 'int64', data: new BigInt64Array(ids.length).fill(1n), dims },
      };
      // token_type_ids only when the model has token types (splade-gte: 2; inference-free-gte: 0).
      assert.equal(session.inputNames.includes('token_type_ids'), config.typeVocabSize > 0);
      if (config.typeVocabSize > 0) feeds['token_type_ids'] = { type: 'int64', data: new BigInt64Array(ids.length), dims };
      const out = await session.run(feeds);
      const rows = (t: TensorData, cols: number): number[][] => [0, 1, 2].map((p) => Array.from(t.data as Float32Array).slice(p * t.dims[2]!, p * t.dims[2]! + cols));
      const check = (ours: number[][], genuine: number[][], what: string, tol: number): void =>
        genuine.forEach((row, p) => row.forEach((v, j) => assert.ok(close(ours[p]![j]!, v, tol), `${what} [${p}][${j}]: ${ours[p]![j]} vs ${v}`)));
      check(rows(out['embedding_output']!, 8), d.embedding_output_first3_positions_first8_dims, 'embedding output', 1e-5);
      const layers = d.hidden_state_after_each_layer_first3_positions_first8_dims as number[][][];
      check(rows(out['last_hidden_state']!, 8), layers[layers.length - 1]!, 'last hidden state', 1e-5);
      check(rows(out['logits']!, 10), d.logits_first3_positions_first10_vocab, 'logits', 1e-5);
    } finally {
      await session.dispose();
    }
  });
}

test('GTE config fields whose math we do not build are refused naming the field; the packing flags are accepted', async () => {
  const fx = await loadSpladeFixture('splade-gte');
  const base = fx.config as Record<string, unknown>;
  const refused: Array<[string, unknown]> = [
    ['pack_qkv', false],
    ['layer_norm_type', 'rms_norm'],
    ['logn_attention_scale', true],
    ['position_embedding_type', 'absolute'],
    ['rope_scaling', { type: 'linear', factor: 2 }],
    ['rope_scaling', { type: 'ntk', factor: 2, mixed_b: 0.5 }],
    ['hidden_act', 'gelu_new'],
  ];
  for (const [key, value] of refused) {
    assert.throws(
      () => parseTransformerConfig({ ...base, [key]: value }),
      (e) => isSparseEncoderError(e, 'ERR_UNSUPPORTED_ARCHITECTURE') && e.message.includes(key.split('.')[0]!),
      `${key} = ${JSON.stringify(value)}`,
    );
  }
  // Same math, computed another way by the genuine code (packed tokens, xformers): accepted.
  const packed = parseTransformerConfig({ ...base, unpad_inputs: true, use_memory_efficient_attention: true });
  assert.equal(packed.family, 'gte');
  // Recognised by model_type whatever auto_map says, and by architecture alone.
  assert.equal(parseTransformerConfig({ ...base, auto_map: { AutoModelForMaskedLM: 'someone/else--modeling.Other' } }).family, 'gte');
  const { model_type: _t, ...noType } = base;
  assert.equal(parseTransformerConfig(noType).family, 'gte');
});

test('a GTE input of max_position_embeddings tokens runs (attention per head keeps memory bounded)', async () => {
  const fx = await loadSpladeFixture('splade-gte');
  const config = parseTransformerConfig({ ...(fx.config as Record<string, unknown>), max_position_embeddings: 8192 });
  assert.equal(config.maxSequenceLength, 8192);
  const session = await OnnxSession.create(buildSpladeGraph(config, fx.weights, { pooling: fx.pooling, activation: fx.activation }), { intraOpNumThreads: 1 });
  try {
    const S = 8192;
    const dims = [1, S];
    const out = await session.run({
      input_ids: { type: 'int64', data: BigInt64Array.from({ length: S }, (_, i) => BigInt(1000 + (i % 5000))), dims },
      attention_mask: { type: 'int64', data: new BigInt64Array(S).fill(1n), dims },
      token_type_ids: { type: 'int64', data: new BigInt64Array(S), dims },
    });
    const v = out['sparse_embedding']!.data as Float32Array;
    assert.equal(v.length, config.vocabSize);
    assert.ok(v.every((x) => Number.isFinite(x) && x >= 0) && v.some((x) => x > 0));
  } finally {
    await session.dispose();
  }
});
