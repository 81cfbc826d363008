// ModernBERT (issue 24): config forms and refusals, intermediate values of the longest fixture input
// against transformers 5.18 (expected.json `debug_modernbert`, ORACLE.md "ModernBERT as transformers
// 5.18 computes it"), the Hub's legacy config keys, and the blocked sliding-window attention against
// a brute-force reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { ropeTables, slidingWindowAttention } from '../../src/graph/attention.js';
import { parseTransformerConfig } from '../../src/graph/config.js';
import { GraphBuilder } from '../../src/graph/graph-builder.js';
import { ONNX_DTYPE } from '../../src/graph/onnx-proto.js';
import { buildSpladeGraph } from '../../src/graph/transformer-graph.js';
import { OnnxSession, type TensorData } from '../../src/runtime/session.js';
import { fixture } from '../helpers/paths.js';
import { loadSpladeFixture } from './fixture-models.js';
import { assertVector } from '../encoder/fixture-data.js';

const close = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol + tol * Math.abs(b);
const FIXTURE_CONFIG = JSON.parse(readFileSync(join(fixture('splade-modernbert'), 'config.json'), 'utf8')) as Record<string, unknown>;

/** The fixture's config.json with the layer layout written the Hub's older way. */
function legacyConfig(): Record<string, unknown> {
  const c: Record<string, unknown> = { ...FIXTURE_CONFIG, global_rope_theta: 160000.0, local_rope_theta: 10000.0 };
  delete c['layer_types'];
  delete c['rope_parameters'];
  return c;
}

test('both config forms give the same layout: layer types, rotary bases, half window', () => {
  const modern = parseTransformerConfig(FIXTURE_CONFIG);
  const legacy = parseTransformerConfig(legacyConfig());
  assert.equal(modern.family, 'modernbert');
  assert.deepEqual(modern.modernbert, {
    layerTypes: ['full_attention', 'sliding_attention', 'full_attention'],
    ropeTheta: { full_attention: 160000, sliding_attention: 10000 },
    slidingWindowHalf: 4,
  });
  assert.deepEqual(legacy, modern);
  assert.equal(modern.maxSequenceLength, 8192);
  assert.equal(modern.typeVocabSize, 0);
  assert.equal(modern.layerNormEps, 1e-5);
  // The Hub's ModernBERT-base: 22 layers, a global one every 3rd.
  const base = parseTransformerConfig({ ...legacyConfig(), num_hidden_layers: 22, global_attn_every_n_layers: 3, local_attention: 128 });
  assert.deepEqual(
    base.modernbert!.layerTypes.map((t, i) => (t === 'full_attention' ? i : -1)).filter((i) => i >= 0),
    [0, 3, 6, 9, 12, 15, 18, 21],
  );
  assert.equal(base.modernbert!.slidingWindowHalf, 64);
});

test('settings whose math is not built are refused, naming the field', () => {
  const refused: Array<[Record<string, unknown>, string]> = [
    [{ hidden_activation: 'gelu_pytorch_tanh' }, 'hidden_activation'],
    [{ classifier_activation: 'silu' }, 'classifier_activation'],
    [{ rope_parameters: { full_attention: { rope_theta: 1e4, rope_type: 'yarn' } } }, 'rope_parameters.full_attention.rope_type'],
    [{ layer_types: ['full_attention', 'chunked_attention', 'full_attention'] }, 'layer_types'],
  ];
  for (const [patch, field] of refused) {
    assert.throws(
      () => parseTransformerConfig({ ...FIXTURE_CONFIG, ...patch }),
      (e: unknown) => isSparseEncoderError(e, 'ERR_UNSUPPORTED_ARCHITECTURE') && e.message.includes(`"${field}"`),
      field,
    );
  }
  assert.throws(() => parseTransformerConfig({ ...FIXTURE_CONFIG, layer_types: ['full_attention'] }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG'));
  // Sizes that would allocate without bound: rotary tables for every position, a band for a huge window.
  assert.throws(() => parseTransformerConfig({ ...FIXTURE_CONFIG, max_position_embeddings: 1e9 }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG') && e.message.includes('max_position_embeddings'));
  assert.throws(
    () => parseTransformerConfig({ ...FIXTURE_CONFIG, local_attention: 4096 }),
    (e: unknown) => isSparseEncoderError(e, 'ERR_UNSUPPORTED_ARCHITECTURE') && e.message.includes('"local_attention"'),
  );
  assert.throws(() => parseTransformerConfig({ ...FIXTURE_CONFIG, num_attention_heads: 32 }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG'));
});

test('rotary inv_freq of both layer types as transformers computes them', () => {
  const d = JSON.parse(readFileSync(join(fixture('splade-modernbert'), 'expected.json'), 'utf8')).debug_modernbert;
  for (const [type, theta] of [['full_attention', 160000], ['sliding_attention', 10000]] as const) {
    const t = ropeTables({ theta, ntkFactor: 1 }, d.head_dim, 2);
    (d.inv_freq[type] as number[]).forEach((v, j) => assert.ok(close(t.invFreq[j]!, v, 1e-6), `${type} inv_freq[${j}] ${t.invFreq[j]} vs ${v}`));
  }
});

test('the 64-token input: final_norm output and top-5 logits at positions 0, 1, 2 and 63 match transformers', async () => {
  const fx = await loadSpladeFixture('splade-modernbert');
  const d = fx.expected['debug_modernbert'] as Record<string, any>;
  const ids = fx.expected.results['document']!.find((r) => r.text_id === Number(d.text_id))!.input_ids;
  assert.equal(ids.length, d.n_tokens);
  const session = await OnnxSession.create(buildSpladeGraph(parseTransformerConfig(fx.config), fx.weights, { pooling: fx.pooling, activation: fx.activation, debugOutputs: true }), {
    intraOpNumThreads: 1,
  });
  try {
    const dims = [1, ids.length];
    const out = await session.run({
      input_ids: { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims },
      attention_mask: { type: 'int64', data: new BigInt64Array(ids.length).fill(1n), dims },
    });
    const hidden = out['last_hidden_state']!;
    const H = hidden.dims[2]!;
    const positions = d.positions as number[];
    positions.forEach((p, r) => {
      const row = Array.from((hidden.data as Float32Array).subarray(p * H, p * H + 8));
      (d.final_norm_output[r] as number[]).forEach((v, j) => assert.ok(close(row[j]!, v, 1e-4), `final_norm [${p}][${j}]: ${row[j]} vs ${v}`));
    });
    const logits = out['logits']!;
    const V = logits.dims[2]!;
    for (const want of d.logits_top5 as Array<{ position: number; ids: number[]; values: number[] }>) {
      const row = Array.from((logits.data as Float32Array).subarray(want.position * V, (want.position + 1) * V));
      const top = row.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
      assert.deepEqual(top.map((x) => x[1]), want.ids, `position ${want.position}`);
      top.forEach(([v], j) => assert.ok(close(v, want.values[j]!, 1e-4), `position ${want.position} logit ${j}`));
    }
  } finally {
    await session.dispose();
  }
});

test('a folder whose config.json has only the legacy keys gives bit-identical vectors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'modernbert-legacy-'));
  try {
    cpSync(fixture('splade-modernbert'), dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(legacyConfig()));
    const texts = (JSON.parse(readFileSync(join(fixture('texts.json')), 'utf8')).texts as Array<{ text: string }>).map((t) => t.text);
    const [a, b] = await Promise.all([SparseEncoder.fromPretrained(fixture('splade-modernbert'), { threads: 1 }), SparseEncoder.fromPretrained(dir, { threads: 1 })]);
    const va = await a.encodeDocument(texts);
    const vb = await b.encodeDocument(texts);
    va.forEach((v, i) => assert.deepEqual(vb[i], v, `text ${i}`));
    await Promise.all([a.dispose(), b.dispose()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a window spanning every position attends as a global layer: within 64 tokens the same vectors as a ±64-token window', async () => {
  // max_seq_length is 64: a window of ±64 sees every token of every fixture text, as the per-head global kernel does.
  const dir = mkdtempSync(join(tmpdir(), 'modernbert-window-'));
  try {
    cpSync(fixture('splade-modernbert'), dir, { recursive: true });
    const wide = { ...FIXTURE_CONFIG, max_position_embeddings: 64, local_attention: 1 << 20 };
    assert.equal(parseTransformerConfig(wide).modernbert!.slidingWindowHalf, 1 << 19);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(wide));
    const wide128 = join(dir, '..', `${dir.split('/').pop()}-128`);
    cpSync(fixture('splade-modernbert'), wide128, { recursive: true });
    writeFileSync(join(wide128, 'config.json'), JSON.stringify({ ...FIXTURE_CONFIG, local_attention: 128 }));
    const texts = (JSON.parse(readFileSync(join(fixture('texts.json')), 'utf8')).texts as Array<{ text: string }>).map((t) => t.text);
    const [a, b] = await Promise.all([SparseEncoder.fromPretrained(dir, { threads: 1 }), SparseEncoder.fromPretrained(wide128, { threads: 1 })]);
    const va = await a.encodeDocument(texts);
    const vb = await b.encodeDocument(texts);
    va.forEach((v, i) => assertVector(v, { indices: Array.from(vb[i]!.indices), values: Array.from(vb[i]!.values) }, `text ${i}`));
    await Promise.all([a.dispose(), b.dispose()]);
    rmSync(wide128, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Brute-force sliding-window attention for one row: query i sees key j iff |i - j| <= w and mask[j]. */
function reference(q: Float32Array, k: Float32Array, v: Float32Array, mask: number[], S: number, heads: number, d: number, w: number): Float64Array {
  const H = heads * d;
  const out = new Float64Array(S * H);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < S; i++) {
      const scores: Array<[number, number]> = [];
      for (let j = Math.max(0, i - w); j <= Math.min(S - 1, i + w); j++) {
        if (mask[j] === 0) continue;
        let s = 0;
        for (let c = 0; c < d; c++) s += q[i * H + h * d + c]! * k[j * H + h * d + c]!;
        scores.push([j, s / Math.sqrt(d)]);
      }
      if (scores.length === 0) continue;
      const m = Math.max(...scores.map((x) => x[1]));
      const e = scores.map(([j, s]) => [j, Math.exp(s - m)] as const);
      const z = e.reduce((a, x) => a + x[1], 0);
      for (const [j, p] of e) for (let c = 0; c < d; c++) out[i * H + h * d + c] += (p / z) * v[j * H + h * d + c]!;
    }
  }
  return out;
}

test('blocked sliding-window attention equals brute force (sequence ends inside, at and past block edges; padded rows)', async () => {
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  for (const [heads, d, w] of [[2, 4, 4], [1, 6, 1], [3, 2, 5]] as const) {
    const H = heads * d;
    const g = new GraphBuilder('swa');
    const names = ['q', 'k', 'v'].map((n) => g.input(n, ONNX_DTYPE.FLOAT, ['batch', 'sequence', H]));
    const mask = g.input('mask', ONNX_DTYPE.FLOAT, ['batch', 'sequence']);
    g.exposeAs(slidingWindowAttention(g, names[0]!, names[1]!, names[2]!, mask, heads, d, w, 'swa'), 'out', ONNX_DTYPE.FLOAT, ['batch', 'sequence', H]);
    const session = await OnnxSession.create(g.toBytes(), { intraOpNumThreads: 1 });
    try {
      for (const S of [1, w - 1, w, w + 1, 2 * w, 3 * w + 2, 7 * w + 3].filter((s) => s >= 1)) {
        // Row 0 is all real; row 1 is padded after ceil(S / 2) tokens (a shorter text in the batch).
        const real = [S, Math.ceil(S / 2)];
        const masks = real.map((n) => Array.from({ length: S }, (_, j) => (j < n ? 1 : 0)));
        const [q, k, v] = [0, 1, 2].map(() => Float32Array.from({ length: 2 * S * H }, rand)) as [Float32Array, Float32Array, Float32Array];
        const dims = [2, S, H];
        const out = await session.run({
          q: { type: 'float32', data: q, dims },
          k: { type: 'float32', data: k, dims },
          v: { type: 'float32', data: v, dims },
          mask: { type: 'float32', data: Float32Array.from(masks.flat()), dims: [2, S] },
        });
        const got = out['out']!.data as Float32Array;
        assert.deepEqual(out['out']!.dims, dims);
        for (let b = 0; b < 2; b++) {
          const slice = (t: Float32Array): Float32Array => t.subarray(b * S * H, (b + 1) * S * H);
          const want = reference(slice(q), slice(k), slice(v), masks[b]!, S, heads, d, w);
          for (let i = 0; i < S * H; i++) {
            assert.ok(Number.isFinite(got[b * S * H + i]!), `finite output (S ${S}, row ${b})`);
            // Positions past a row's real tokens are padding: their values are never used.
            if (Math.floor(i / H) >= real[b]!) continue;
            assert.ok(Math.abs(got[b * S * H + i]! - want[i]!) < 1e-5, `heads ${heads} d ${d} w ${w} S ${S} row ${b} [${Math.floor(i / H)}, ${i % H}]: ${got[b * S * H + i]} vs ${want[i]}`);
          }
        }
      }
    } finally {
      await session.dispose();
    }
  }
});

/** Runs long-input-child.ts: one row of `tokens` tokens through a small ModernBERT with these layers. */
function longInput(layerTypes: string[], tokens: number): { peakRssMiB: number; loadedRssMiB: number; nnz: number; finite: boolean } {
  const child = join(dirname(fileURLToPath(import.meta.url)), 'long-input-child.js');
  const r = spawnSync(process.execPath, [child, layerTypes.join(','), String(tokens)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// 8,192 tokens (max_position_embeddings), memory measured in child processes (growth of peak RSS over
// the loaded model). Measured here: sliding layers only, +79 MiB at 2,048 tokens and +315 MiB at 8,192
// (linear in the length; most of it is the vocabulary projection's [S, 8192] logits chunk, 256 MiB at
// 8,192); two global layers among sliding ones, +294 MiB (a global layer holds one head's [S, S] float32
// scores at a time, 256 MiB, released before the vocabulary projection). Sliding layers that held
// [heads, S, S] scores would grow 16-fold from 2,048 to 8,192 tokens (1 GiB for these 4 heads).
test('8,192 tokens run with bounded memory: sliding layers grow linearly with the length, global layers hold one head at a time', () => {
  const sliding = ['sliding_attention', 'sliding_attention', 'sliding_attention'];
  const short = longInput(sliding, 2048);
  const long = longInput(sliding, 8192);
  for (const r of [short, long]) assert.ok(r.finite && r.nnz > 0, JSON.stringify(r));
  const growth = (r: typeof long): number => r.peakRssMiB - r.loadedRssMiB;
  assert.ok(growth(long) <= 5 * growth(short), `sliding only: ${JSON.stringify({ short, long })}`);
  const mixed = longInput(['full_attention', 'sliding_attention', 'sliding_attention', 'full_attention'], 8192);
  assert.ok(mixed.finite && mixed.nnz > 0, JSON.stringify(mixed));
  assert.ok(growth(mixed) < 768, `global + sliding: ${JSON.stringify(mixed)}`);
});
