import { perHeadAttention, portableAttention, portableMaskBias, Rotary } from './attention.js';
import type { TransformerConfig } from './config.js';
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

/** Graph inputs are added by the caller's conventions: `input_ids`, `attention_mask`, and `token_type_ids` when the model has token types. */
export function buildGteEncoder(
  g: GraphBuilder,
  config: TransformerConfig,
  w: WeightResolver,
  int8: boolean,
  inputs: { ids: string; mask: string; typeIds: string | undefined },
  portable = false,
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

  const rotary = new Rotary(g, config.rope!, heads, d, config.maxSequenceLength, 'rope');
  const maskI32 = g.node('Cast', [mask], 'mask_i32', { to: ONNX_DTYPE.INT32 });
  const maskBias = portable ? portableMaskBias(g, mask) : undefined;
  const maskF = g.node('Unsqueeze', [g.node('Cast', [mask], 'mask_f', { to: ONNX_DTYPE.FLOAT }), g.int64('axes2', [2])], 'mask_f3');
  const thirds = g.int64('qkv_split', [H, H, H]);
  const halves = g.int64('up_gate_split', [I, I]);

  for (let i = 0; i < config.numLayers; i++) {
    const p = `encoder.layer.${i}`;
    const qkv = linear(w, `${p}.attention.qkv_proj`, H, 3 * H);
    const packed = g.node('Add', [project(g, x, [qkv], `l${i}_qkv_w`, int8, `l${i}_qkv`), g.float(`l${i}_qkv_b`, qkv.bias, [3 * H])], `l${i}_qkv_biased`);
    const [q, k, v] = g.nodeN('Split', [packed, thirds], [`l${i}_q`, `l${i}_k`, `l${i}_v`], { axis: 2 });
    // Half rotation (not interleaved), per head, on q and k only.
    const [qr, kr] = [rotary.apply(q!, `l${i}_q_rot`), rotary.apply(k!, `l${i}_k_rot`)];
    const ctx = maskBias !== undefined ? portableAttention(g, qr, kr, v!, maskBias, heads, d, `l${i}`) : perHeadAttention(g, qr, kr, v!, maskI32, heads, d, `l${i}`);
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
