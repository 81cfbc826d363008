import type { StateDict } from '../src/weights/types.js';
import { randomArray } from './lib-matmul.js';

export interface BertShape {
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  typeVocab: number;
}

export const BERT_BASE: BertShape = { hidden: 768, layers: 12, heads: 12, intermediate: 3072, vocab: 30522, maxPositions: 512, typeVocab: 2 };

/** config.json of a BertForMaskedLM with this shape (as transformers writes it, trimmed). */
export function bertConfigJson(s: BertShape): Record<string, unknown> {
  return {
    architectures: ['BertForMaskedLM'],
    attention_probs_dropout_prob: 0.1,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: s.hidden,
    initializer_range: 0.02,
    intermediate_size: s.intermediate,
    layer_norm_eps: 1e-12,
    max_position_embeddings: s.maxPositions,
    model_type: 'bert',
    num_attention_heads: s.heads,
    num_hidden_layers: s.layers,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    type_vocab_size: s.typeVocab,
    vocab_size: s.vocab,
  };
}

/** A state dict being filled: `rand` uniform with std ≈ 0.02 (a new stream per tensor), `fill` a constant. */
function weightWriter(seed: number) {
  const w: StateDict = new Map();
  let k = seed;
  const a = 0.02 * Math.sqrt(3);
  const size = (shape: number[]): number => shape.reduce((x, y) => x * y, 1);
  return {
    w,
    rand: (name: string, shape: number[]) => w.set(name, { shape, data: randomArray(size(shape), a, ++k * 7919) }),
    fill: (name: string, shape: number[], v: number) => w.set(name, { shape, data: new Float32Array(size(shape)).fill(v) }),
  };
}

/**
 * Random BertForMaskedLM weights (uniform with std ≈ 0.02, LayerNorms at identity), tied decoder.
 * The output bias is shifted down so that, as in trained SPLADE models, only a few hundred
 * vocabulary entries per document end up non-zero.
 */
export function randomBertWeights(s: BertShape, seed = 1): StateDict {
  const { w, rand, fill } = weightWriter(seed);
  const H = s.hidden;
  rand('bert.embeddings.word_embeddings.weight', [s.vocab, H]);
  rand('bert.embeddings.position_embeddings.weight', [s.maxPositions, H]);
  rand('bert.embeddings.token_type_embeddings.weight', [s.typeVocab, H]);
  fill('bert.embeddings.LayerNorm.weight', [H], 1);
  fill('bert.embeddings.LayerNorm.bias', [H], 0);
  for (let i = 0; i < s.layers; i++) {
    const p = `bert.encoder.layer.${i}`;
    for (const n of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      rand(`${p}.${n}.weight`, [H, H]);
      fill(`${p}.${n}.bias`, [H], 0);
    }
    rand(`${p}.intermediate.dense.weight`, [s.intermediate, H]);
    fill(`${p}.intermediate.dense.bias`, [s.intermediate], 0);
    rand(`${p}.output.dense.weight`, [H, s.intermediate]);
    fill(`${p}.output.dense.bias`, [H], 0);
    for (const n of ['attention.output.LayerNorm', 'output.LayerNorm']) {
      fill(`${p}.${n}.weight`, [H], 1);
      fill(`${p}.${n}.bias`, [H], 0);
    }
  }
  rand('cls.predictions.transform.dense.weight', [H, H]);
  fill('cls.predictions.transform.dense.bias', [H], 0);
  fill('cls.predictions.transform.LayerNorm.weight', [H], 1);
  fill('cls.predictions.transform.LayerNorm.bias', [H], 0);
  fill('cls.predictions.bias', [s.vocab], -2);
  return w;
}

/**
 * Model FLOPs of one SPLADE forward over rows of the given real (unpadded) token counts n:
 * per layer 2n·H·3H (QKV) + 2n·H·H (attention output) + 2·2n·H·I (FFN) + 2·2n²·H (scores and
 * context), plus the MLM head 2n·H·H (transform) + 2n·H·V (vocabulary projection).
 */
export function spladeFlops(s: BertShape, tokenCounts: readonly number[]): number {
  const H = s.hidden;
  let f = 0;
  for (const n of tokenCounts) {
    f += s.layers * (2 * n * H * 3 * H + 2 * n * H * H + 4 * n * H * s.intermediate + 4 * n * n * H);
    f += 2 * n * H * H + 2 * n * H * s.vocab;
  }
  return f;
}

/** A GTE-base-shaped NewForMaskedLM (gte-base-en-v1.5's settings, doc-v3-gte's type_vocab_size 0), max length 512. */
export function gteConfigJson(s: BertShape): Record<string, unknown> {
  return {
    architectures: ['NewForMaskedLM'],
    hidden_act: 'gelu',
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    layer_norm_eps: 1e-12,
    layer_norm_type: 'layer_norm',
    logn_attention_scale: false,
    max_position_embeddings: s.maxPositions,
    model_type: 'new',
    num_attention_heads: s.heads,
    num_hidden_layers: s.layers,
    pack_qkv: true,
    pad_token_id: 0,
    position_embedding_type: 'rope',
    rope_scaling: { factor: 2.0, type: 'ntk' },
    rope_theta: 500000,
    type_vocab_size: 0,
    unpad_inputs: false,
    use_memory_efficient_attention: false,
    vocab_size: s.vocab,
  };
}

/** Random NewForMaskedLM weights, as randomBertWeights: std ≈ 0.02, identity LayerNorms, tied decoder, shifted output bias. */
export function randomGteWeights(s: BertShape, seed = 1): StateDict {
  const { w, rand, fill } = weightWriter(seed);
  const H = s.hidden;
  rand('new.embeddings.word_embeddings.weight', [s.vocab, H]);
  fill('new.embeddings.LayerNorm.weight', [H], 1);
  fill('new.embeddings.LayerNorm.bias', [H], 0);
  for (let i = 0; i < s.layers; i++) {
    const p = `new.encoder.layer.${i}`;
    rand(`${p}.attention.qkv_proj.weight`, [3 * H, H]);
    fill(`${p}.attention.qkv_proj.bias`, [3 * H], 0);
    rand(`${p}.attention.o_proj.weight`, [H, H]);
    fill(`${p}.attention.o_proj.bias`, [H], 0);
    rand(`${p}.mlp.up_gate_proj.weight`, [2 * s.intermediate, H]);
    rand(`${p}.mlp.down_proj.weight`, [H, s.intermediate]);
    fill(`${p}.mlp.down_proj.bias`, [H], 0);
    for (const n of ['attn_ln', 'mlp_ln']) {
      fill(`${p}.${n}.weight`, [H], 1);
      fill(`${p}.${n}.bias`, [H], 0);
    }
  }
  rand('lm_head.dense.weight', [H, H]);
  fill('lm_head.dense.bias', [H], 0);
  fill('lm_head.norm.weight', [H], 1);
  fill('lm_head.norm.bias', [H], 0);
  fill('lm_head.decoder.bias', [s.vocab], -2);
  return w;
}

/** As spladeFlops for the GTE layout: the gated MLP has an up and a gate projection, 2n·H·2I + 2n·I·H per layer. */
export function gteSpladeFlops(s: BertShape, tokenCounts: readonly number[]): number {
  let extra = 0;
  for (const n of tokenCounts) extra += s.layers * 2 * n * s.hidden * s.intermediate;
  return spladeFlops(s, tokenCounts) + extra;
}

/** ModernBERT's shape: BERT's fields, plus the sliding window and how often a layer attends globally. */
export interface ModernBertShape extends BertShape {
  localAttention: number;
  /** Layer i attends globally iff i % globalEvery == 0 (the Hub configs' global_attn_every_n_layers). */
  globalEvery: number;
}

/** answerdotai/ModernBERT-base: hidden 768, 22 layers, 12 heads, intermediate 1152, window 128, vocabulary 50368, 8192 positions. */
export const MODERNBERT_BASE: ModernBertShape = { hidden: 768, layers: 22, heads: 12, intermediate: 1152, vocab: 50368, maxPositions: 8192, typeVocab: 0, localAttention: 128, globalEvery: 3 };

/** The layer types of a ModernBERT shape (full_attention iff i % globalEvery == 0). */
export function modernBertLayerTypes(s: ModernBertShape): Array<'full_attention' | 'sliding_attention'> {
  return Array.from({ length: s.layers }, (_, i) => (i % s.globalEvery === 0 ? 'full_attention' : 'sliding_attention'));
}

/** config.json of a ModernBertForMaskedLM in the Hub's (legacy) form, as ModernBERT-base's; `layerTypes` writes transformers 5's form instead. */
export function modernBertConfigJson(s: ModernBertShape, layerTypes?: readonly string[]): Record<string, unknown> {
  return {
    architectures: ['ModernBertForMaskedLM'],
    attention_bias: false,
    classifier_activation: 'gelu',
    decoder_bias: true,
    global_attn_every_n_layers: s.globalEvery,
    global_rope_theta: 160000.0,
    hidden_activation: 'gelu',
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    local_attention: s.localAttention,
    local_rope_theta: 10000.0,
    max_position_embeddings: s.maxPositions,
    mlp_bias: false,
    model_type: 'modernbert',
    norm_bias: false,
    norm_eps: 1e-5,
    num_attention_heads: s.heads,
    num_hidden_layers: s.layers,
    pad_token_id: 50283,
    tie_word_embeddings: true,
    vocab_size: s.vocab,
    ...(layerTypes !== undefined ? { layer_types: layerTypes } : {}),
  };
}

/** Random ModernBertForMaskedLM weights (std ≈ 0.02, weight-only norms at 1, tied decoder, shifted output bias). */
export function randomModernBertWeights(s: ModernBertShape, seed = 1): StateDict {
  const { w, rand, fill } = weightWriter(seed);
  const H = s.hidden;
  rand('model.embeddings.tok_embeddings.weight', [s.vocab, H]);
  fill('model.embeddings.norm.weight', [H], 1);
  for (let i = 0; i < s.layers; i++) {
    const p = `model.layers.${i}`;
    if (i > 0) fill(`${p}.attn_norm.weight`, [H], 1);
    rand(`${p}.attn.Wqkv.weight`, [3 * H, H]);
    rand(`${p}.attn.Wo.weight`, [H, H]);
    fill(`${p}.mlp_norm.weight`, [H], 1);
    rand(`${p}.mlp.Wi.weight`, [2 * s.intermediate, H]);
    rand(`${p}.mlp.Wo.weight`, [H, s.intermediate]);
  }
  fill('model.final_norm.weight', [H], 1);
  rand('head.dense.weight', [H, H]);
  fill('head.norm.weight', [H], 1);
  fill('decoder.bias', [s.vocab], -2);
  return w;
}

/**
 * Model FLOPs of one ModernBERT SPLADE forward over rows of n real tokens: per layer 2n·H·3H (Wqkv)
 * + 2n·H·H (Wo) + 2n·H·2I (Wi) + 2n·I·H (MLP Wo), and attention 2·2·H per (query, key) pair it
 * attends: n² in a full layer, the keys within the window (|i - j| <= localAttention / 2) in a
 * sliding one; plus the head 2n·H·H + 2n·H·V. The blocked sliding attention computes 1.5× the
 * window's pairs; only the window's count.
 */
export function modernBertSpladeFlops(s: ModernBertShape, tokenCounts: readonly number[], layerTypes = modernBertLayerTypes(s)): number {
  const H = s.hidden;
  const half = Math.floor(s.localAttention / 2);
  let f = 0;
  for (const n of tokenCounts) {
    let windowPairs = 0;
    for (let i = 0; i < n; i++) windowPairs += Math.min(n - 1, i + half) - Math.max(0, i - half) + 1;
    for (const t of layerTypes) f += 2 * n * H * 3 * H + 2 * n * H * H + 2 * n * H * 2 * s.intermediate + 2 * n * s.intermediate * H + 4 * H * (t === 'full_attention' ? n * n : windowPairs);
    f += 2 * n * H * H + 2 * n * H * s.vocab;
  }
  return f;
}
