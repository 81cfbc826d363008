import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isSparseEncoderError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import { parseTransformerConfig } from '../../src/graph/config.js';
import { buildSpladeGraph } from '../../src/graph/transformer-graph.js';
import { SpladeTransformer } from '../../src/modules/splade-transformer.js';
import { OnnxSession } from '../../src/runtime/session.js';
import type { StateDict } from '../../src/weights/types.js';
import { loadSpladeFixture, vectorMismatch } from './fixture-models.js';
import type { FixtureModel, RecordedResult } from './fixture-models.js';

function expectCode(fn: () => unknown, code: ErrorCode, mentions?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSparseEncoderError(err, code), `expected ${code}, got ${String(err)}`);
    if (mentions !== undefined) assert.ok((err as Error).message.includes(mentions), `message should name ${mentions}: ${(err as Error).message}`);
    return true;
  });
}

describe('parseTransformerConfig', () => {
  it('rejects an unknown model_type, naming it', () => {
    expectCode(() => parseTransformerConfig({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }), 'ERR_UNSUPPORTED_ARCHITECTURE', 'gpt2');
  });
  it('rejects an unknown architecture when model_type is absent, naming it', () => {
    expectCode(() => parseTransformerConfig({ architectures: ['T5ForConditionalGeneration'] }), 'ERR_UNSUPPORTED_ARCHITECTURE', 'T5ForConditionalGeneration');
  });
  it('rejects non-erf activations (they would change the outputs silently)', () => {
    expectCode(
      () => parseTransformerConfig({ model_type: 'bert', hidden_act: 'gelu_new', hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, vocab_size: 10, max_position_embeddings: 16 }),
      'ERR_UNSUPPORTED_ARCHITECTURE',
      'gelu_new',
    );
  });
  it('reads the family-specific keys and defaults (transformers values)', () => {
    const d = parseTransformerConfig({ model_type: 'distilbert', dim: 32, n_layers: 2, n_heads: 2, hidden_dim: 64, vocab_size: 100, activation: 'gelu' });
    assert.equal(d.layerNormEps, 1e-12);
    assert.equal(d.typeVocabSize, 0);
    const r = parseTransformerConfig({ model_type: 'xlm-roberta', hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, vocab_size: 100, max_position_embeddings: 514, pad_token_id: 1, layer_norm_eps: 1e-5 });
    assert.equal(r.family, 'roberta');
    assert.equal(r.maxSequenceLength, 512);
  });
  it('refuses a size beyond its bound before building anything (fuzzing: num_hidden_layers 2^31 exhausted the heap)', () => {
    const base = { model_type: 'modernbert', hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, vocab_size: 10, max_position_embeddings: 16 };
    expectCode(() => parseTransformerConfig({ ...base, num_hidden_layers: 2 ** 31 }), 'ERR_INVALID_CONFIG', 'num_hidden_layers');
    expectCode(() => parseTransformerConfig({ ...base, vocab_size: 4_000_001 }), 'ERR_INVALID_CONFIG', 'vocab_size');
  });
  it('reports a missing size as ERR_INVALID_CONFIG', () => {
    expectCode(() => parseTransformerConfig({ model_type: 'bert', num_hidden_layers: 1, max_position_embeddings: 16 }), 'ERR_INVALID_CONFIG', 'hidden_size');
  });
});

describe('buildSpladeGraph weight handling (splade-bert)', () => {
  let fx: FixtureModel;
  let reference: SpladeTransformer;
  let recs: RecordedResult[];
  const batch = () => ({ ids: recs.map((r) => r.input_ids), typeIds: recs.map((r) => r.token_type_ids!) });

  before(async () => {
    fx = await loadSpladeFixture('splade-bert');
    recs = fx.expected.results['document']!.slice(0, 6);
    reference = await SpladeTransformer.create({ config: fx.config, weights: fx.weights, threads: 1 });
  });
  after(async () => reference?.dispose());

  const build = (weights: StateDict) => buildSpladeGraph(parseTransformerConfig(fx.config), weights, { pooling: 'max', activation: 'relu' });
  const without = (name: string): StateDict => new Map([...fx.weights].filter(([k]) => k !== name));

  it('names a missing tensor', () => {
    expectCode(() => build(without('bert.encoder.layer.1.output.dense.weight')), 'ERR_MISSING_WEIGHT', 'bert.encoder.layer.1.output.dense.weight');
  });

  it('names a tensor of the wrong shape', () => {
    const w = new Map(fx.weights);
    w.set('bert.encoder.layer.0.attention.self.query.weight', { shape: [32, 16], data: new Float32Array(512) });
    expectCode(() => build(w), 'ERR_SHAPE_MISMATCH', 'bert.encoder.layer.0.attention.self.query.weight');
  });

  it('accepts weights without the bert. prefix and an explicit decoder weight/bias, with identical results', async () => {
    const w: StateDict = new Map();
    for (const [k, v] of fx.weights) w.set(k.startsWith('bert.') ? k.slice(5) : k, v);
    w.set('cls.predictions.decoder.weight', fx.weights.get('bert.embeddings.word_embeddings.weight')!);
    w.set('cls.predictions.decoder.bias', w.get('cls.predictions.bias')!);
    w.delete('cls.predictions.bias');
    const m = await SpladeTransformer.create({ config: fx.config, weights: w, threads: 1 });
    try {
      const got = await m.encode(batch());
      got.forEach((v, i) => assert.equal(vectorMismatch(v, recs[i]!), undefined));
    } finally {
      await m.dispose();
    }
  });

  it('treats a missing output bias as zeros (the output changes, nothing throws)', async () => {
    const m = await SpladeTransformer.create({ config: fx.config, weights: without('cls.predictions.bias'), threads: 1 });
    try {
      const got = await m.encode(batch());
      assert.notEqual(vectorMismatch(got[0]!, recs[0]!), undefined);
    } finally {
      await m.dispose();
    }
  });

  it('rejects bad token batches before they reach onnxruntime', async () => {
    const ok = recs[0]!.input_ids;
    const cases: Array<[unknown, string]> = [
      [{ ids: [[101, 30522, 102]] }, 'outside the vocabulary'],
      [{ ids: [[101, -1, 102]] }, 'outside the vocabulary'],
      [{ ids: [[101, 1.5, 102]] }, 'outside the vocabulary'],
      [{ ids: [new Array(513).fill(100)] }, 'at most 512'],
      [{ ids: [ok], typeIds: [[0]] }, 'typeIds row 0'],
      [{ ids: [ok], typeIds: [ok.map(() => 2)] }, 'token type id 2'],
      [{ ids: [ok, ok], typeIds: [ok.map(() => 0)] }, 'one row per ids row'],
      [{ ids: 'nope' }, 'ids'],
    ];
    for (const [b, msg] of cases) {
      await assert.rejects(reference.encode(b as never), (err: unknown) => {
        assert.ok(isSparseEncoderError(err, 'ERR_INVALID_INPUT'), String(err));
        assert.ok((err as Error).message.includes(msg), (err as Error).message);
        return true;
      });
    }
  });

  it('returns an empty vector for an empty row and [] for an empty batch', async () => {
    const [empty, one] = await reference.encode({ ids: [[], recs[0]!.input_ids] });
    assert.equal(empty!.indices.length, 0);
    assert.equal(empty!.dim, 30522);
    assert.equal(vectorMismatch(one!, recs[0]!), undefined);
    assert.deepEqual(await reference.encode({ ids: [] }), []);
  });

  it('rejects bad runtime options with ERR_INVALID_ARGUMENT', async () => {
    for (const bad of [{ threads: 0 }, { maxTokensPerRun: 0 }, { maxTokensPerRun: 1.5 }, { pooling: 'mean' as never }]) {
      await assert.rejects(SpladeTransformer.create({ config: fx.config, weights: fx.weights, ...bad }), (err: unknown) => isSparseEncoderError(err, 'ERR_INVALID_ARGUMENT'));
    }
  });

  it('max pooling ignores padded positions, and a row of padding only pools to zeros', async () => {
    // Padded positions get the first real token's head input: the recorded vector must survive
    // heavy right padding, and an all-padding row must give zeros (transformers' logits × mask).
    const session = await OnnxSession.create(build(fx.weights), { intraOpNumThreads: 1 });
    try {
      const row = recs[0]!.input_ids;
      const S = row.length + 7;
      const ids = new BigInt64Array(2 * S);
      const mask = new BigInt64Array(2 * S);
      row.forEach((id, p) => {
        ids[p] = BigInt(id);
        mask[p] = 1n;
      });
      const t = (data: BigInt64Array) => ({ type: 'int64' as const, data, dims: [2, S] });
      const out = await session.run({ input_ids: t(ids), attention_mask: t(mask), token_type_ids: t(new BigInt64Array(2 * S)) });
      const dense = out['sparse_embedding']!.data as Float32Array;
      const V = dense.length / 2;
      const indices = [...dense.subarray(0, V).keys()].filter((i) => dense[i] !== 0);
      const got = { indices: Uint32Array.from(indices), values: Float32Array.from(indices, (i) => dense[i]!) };
      assert.equal(vectorMismatch(got, recs[0]!), undefined);
      assert.ok(dense.subarray(V).every((x) => x === 0), 'the all-padding row must pool to zeros');
    } finally {
      await session.dispose();
    }
  });

  it('throws ERR_DISPOSED after dispose()', async () => {
    const m = await SpladeTransformer.create({ config: fx.config, weights: fx.weights, threads: 1 });
    await m.dispose();
    await m.dispose();
    await assert.rejects(m.encode(batch()), (err: unknown) => isSparseEncoderError(err, 'ERR_DISPOSED'));
  });
});

describe('SPLADE activation precision', () => {
  it('keeps tiny positive logits as log1p does (Log(1 + x) would round them to 0)', async () => {
    // A 1-layer BERT whose logits are exactly the output bias: all weights zero except LayerNorm.
    const H = 4, V = 6, I = 8;
    const config = parseTransformerConfig({ model_type: 'bert', hidden_size: H, num_hidden_layers: 1, num_attention_heads: 1, intermediate_size: I, vocab_size: V, max_position_embeddings: 8, type_vocab_size: 1 });
    const w: StateDict = new Map();
    const z = (name: string, shape: number[]) => w.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    z('bert.embeddings.word_embeddings.weight', [V, H]);
    z('bert.embeddings.position_embeddings.weight', [8, H]);
    z('bert.embeddings.token_type_embeddings.weight', [1, H]);
    for (const ln of ['bert.embeddings.LayerNorm', 'bert.encoder.layer.0.attention.output.LayerNorm', 'bert.encoder.layer.0.output.LayerNorm', 'cls.predictions.transform.LayerNorm']) {
      w.set(`${ln}.weight`, { shape: [H], data: new Float32Array(H).fill(1) });
      z(`${ln}.bias`, [H]);
    }
    for (const l of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) z(`bert.encoder.layer.0.${l}.weight`, [H, H]);
    z('bert.encoder.layer.0.intermediate.dense.weight', [I, H]);
    z('bert.encoder.layer.0.output.dense.weight', [H, I]);
    z('cls.predictions.transform.dense.weight', [H, H]);
    const bias = Float32Array.of(1e-9, 3e-8, -1, 0, 0.5, 2);
    w.set('cls.predictions.bias', { shape: [V], data: bias });
    for (const activation of ['relu', 'log1p_relu'] as const) {
      const m = await SpladeTransformer.create({ config, weights: w, activation, threads: 1 });
      try {
        const [v] = await m.encode({ ids: [[1, 2, 3]] });
        assert.deepEqual(Array.from(v!.indices), [0, 1, 4, 5]);
        const f = (x: number) => (activation === 'relu' ? Math.log1p(x) : Math.log1p(Math.log1p(x)));
        Array.from(v!.indices).forEach((idx, k) => {
          const want = f(bias[idx]!);
          assert.ok(Math.abs(v!.values[k]! - want) <= 1e-6 * want, `${activation} dim ${idx}: ${v!.values[k]} vs ${want}`);
        });
      } finally {
        await m.dispose();
      }
    }
  });
});
