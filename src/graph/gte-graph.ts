import type { RopeConfig, TransformerConfig } from './config.js';
import { GraphBuilder, MS_DOMAIN } from './graph-builder.js';
import { linear, project, residualNorm, type EncoderValues } from './layers.js';
import { ONNX_DTYPE } from './onnx-proto.js';
import type { WeightResolver } from './weight-resolver.js';

/**
 * Alibaba's GTE "new" encoder (NewModel of the `Alibaba-NLP/new-impl` remote code), built from
 * what the genuine code computes (shared/fixtures/ORACLE.md, "GTE fixtures"): word (+ token-type
 * when `type_vocab_size` > 0) embeddings and LayerNorm, no position table; rotary embeddings on q
 * and k (half rotation, NTK scaling as the genuine code applies it); a packed `qkv_proj`; post-norm
 * layers; a gated MLP `down_proj(gelu(gate) * up)` with `up_gate_proj` = [up; gate].
 */

/**
 * The genuine code's rotary tables, in float32 as it computes them: inv_freq[j] = 1 / base^(2j/d)
 * (base = theta × f with NTK scaling, then inv_freq /= f^(2/d)), freqs = position × inv_freq,
 * cos/sin of freqs. Returned as [positions, d/2]: the genuine cos(cat(freqs, freqs)) repeats
 * the same half, which is the layout onnxruntime's RotaryEmbedding takes.
 */
export function ropeTables(rope: RopeConfig, headSize: number, positions: number): { invFreq: Float32Array; cos: Float32Array; sin: Float32Array } {
  const f = Math.fround;
  const half = headSize / 2;
  const base = f(rope.ntkFactor === 1 ? rope.theta : rope.theta * rope.ntkFactor);
  const invFreq = new Float32Array(half);
  const ntkDivisor = f(rope.ntkFactor ** (2 / headSize));
  for (let j = 0; j < half; j++) {
    const exponent = f(f(2 * j) / headSize);
    let inv = f(1 / f(Math.pow(base, exponent)));
    if (rope.ntkFactor !== 1) inv = f(inv / ntkDivisor);
    invFreq[j] = inv;
  }
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < half; j++) {
      const angle = f(p * invFreq[j]!);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return { invFreq, cos, sin };
}

/** Graph inputs are added by the caller's conventions: `input_ids`, `attention_mask`, and `token_type_ids` when the model has token types. */
export function buildGteEncoder(
  g: GraphBuilder,
  config: TransformerConfig,
  w: WeightResolver,
  int8: boolean,
  inputs: { ids: string; mask: string; typeIds: string | undefined },
): EncoderValues {
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const heads = config.numHeads;
  const d = H / heads;
  const { ids, mask, typeIds } = inputs;

  const wordTable = w.base('embeddings.word_embeddings.weight', [config.vocabSize, H]);
  let x = g.node('Gather', [g.float('word_embeddings', wordTable, [config.vocabSize, H]), ids], 'inputs_embeds');
  if (typeIds !== undefined) {
    const table = w.base('embeddings.token_type_embeddings.weight', [config.typeVocabSize, H]);
    x = g.node('Add', [x, g.node('Gather', [g.float('token_type_embeddings', table, [config.typeVocabSize, H]), typeIds], 'token_type_embeds')], 'emb_plus_type');
  }
  const embLn = w.layerNorm('embeddings.LayerNorm', H);
  x = g.node('LayerNormalization', [x, g.float('emb_ln_gamma', embLn.gamma, [H]), g.float('emb_ln_beta', embLn.beta, [H])], 'emb_ln', {
    axis: -1,
    epsilon: { float: config.layerNormEps },
  });
  const embeddingOutput = x;

  // Every row uses positions 0..S-1 (right padding), so one start position serves the batch.
  const { cos, sin } = ropeTables(config.rope!, d, config.maxSequenceLength);
  const cosCache = g.float('rope_cos', cos, [config.maxSequenceLength, d / 2]);
  const sinCache = g.float('rope_sin', sin, [config.maxSequenceLength, d / 2]);
  const start = g.int64('rope_start', [0], [1]);
  const maskI32 = g.node('Cast', [mask], 'mask_i32', { to: ONNX_DTYPE.INT32 });
  const maskF = g.node('Unsqueeze', [g.node('Cast', [mask], 'mask_f', { to: ONNX_DTYPE.FLOAT }), g.int64('axes2', [2])], 'mask_f3');
  const thirds = g.int64('qkv_split', [H, H, H]);
  const halves = g.int64('up_gate_split', [I, I]);
  const headSplit = g.int64('head_split', new Array<number>(heads).fill(d));

  for (let i = 0; i < config.numLayers; i++) {
    const p = `encoder.layer.${i}`;
    const qkv = linear(w, `${p}.attention.qkv_proj`, H, 3 * H);
    const packed = g.node('Add', [project(g, x, [qkv], `l${i}_qkv_w`, int8, `l${i}_qkv`), g.float(`l${i}_qkv_b`, qkv.bias, [3 * H])], `l${i}_qkv_biased`);
    const [q, k, v] = g.nodeN('Split', [packed, thirds], [`l${i}_q`, `l${i}_k`, `l${i}_v`], { axis: 2 });
    // Half rotation (not interleaved), per head, on q and k only.
    const rotary = (t: string, hint: string): string =>
      g.node('RotaryEmbedding', [t, start, cosCache, sinCache], hint, { interleaved: 0, num_heads: heads }, MS_DOMAIN);
    // One single-head MultiHeadAttention per head: onnxruntime's CPU kernel holds a [heads, S, S]
    // score tensor when given a padding mask (peak 3.5 GB at 8,192 tokens for 12 heads); per head it
    // holds one [S, S] (478 MB there). No slower at 256-512 tokens, 1.5× slower at 8,192
    // (npm run bench:graph). Scale 1/sqrt(d).
    const heads3 = (t: string, hint: string): string[] =>
      g.nodeN('Split', [t, headSplit], Array.from({ length: heads }, (_, h) => `${hint}_h${h}`), { axis: 2 });
    const [qh, kh, vh] = [heads3(rotary(q!, `l${i}_q_rot`), `l${i}_q`), heads3(rotary(k!, `l${i}_k_rot`), `l${i}_k`), heads3(v!, `l${i}_v`)];
    const ctxHeads = qh.map((_, h) => g.node('MultiHeadAttention', [qh[h]!, kh[h]!, vh[h]!, '', maskI32], `l${i}_ctx_h${h}`, { num_heads: 1 }, MS_DOMAIN));
    const ctx = heads === 1 ? ctxHeads[0]! : g.node('Concat', ctxHeads, `l${i}_context`, { axis: 2 });
    const o = linear(w, `${p}.attention.o_proj`, H, H);
    const x1 = residualNorm(g, config, w.layerNorm(`${p}.attn_ln`, H), project(g, ctx, [o], `l${i}_o_w`, int8, `l${i}_o`), o.bias, x, `l${i}_attn_output`);
    // up_gate_proj has no bias: its output is [up | gate] along the last axis.
    const upGate = linear(w, `${p}.mlp.up_gate_proj`, H, 2 * I);
    const [up, gate] = g.nodeN('Split', [project(g, x1, [upGate], `l${i}_up_gate_w`, int8, `l${i}_up_gate`), halves], [`l${i}_up`, `l${i}_gate`], { axis: 2 });
    // Gelu (com.microsoft) is the exact erf form, as hidden_act "gelu".
    const gated = g.node('Mul', [g.node('Gelu', [gate!], `l${i}_gate_gelu`, {}, MS_DOMAIN), up!], `l${i}_gated`);
    const down = linear(w, `${p}.mlp.down_proj`, I, H);
    x = residualNorm(g, config, w.layerNorm(`${p}.mlp_ln`, H), project(g, gated, [down], `l${i}_down_w`, int8, `l${i}_down`), down.bias, x1, `l${i}_output`);
  }
  return { embeddingOutput, lastHidden: x, maskF };
}
