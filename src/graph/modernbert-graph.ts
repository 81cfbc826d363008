import { perHeadAttention, portableAttention, portableMaskBias, Rotary, slidingWindowAttention } from './attention.js';
import type { ModernBertLayerType, TransformerConfig } from './config.js';
import { GraphBuilder, MS_DOMAIN } from './graph-builder.js';
import { linear, project, type EncoderValues } from './layers.js';
import { ONNX_DTYPE } from './onnx-proto.js';
import type { WeightResolver } from './weight-resolver.js';

/**
 * ModernBERT's encoder (ModernBertModel), as transformers 5.18 computes it (shared/fixtures/ORACLE.md,
 * "ModernBERT as transformers 5.18 computes it"): token embeddings and a LayerNorm, no position or
 * token-type table; pre-norm layers (`x + Wo(attn(attn_norm(x)))`, then `x + mlp(mlp_norm(x))`;
 * layer 0 has no attn_norm); a packed bias-free `Wqkv`, rotary embeddings whose base depends on
 * the layer type; global layers attend every real key, sliding layers only keys within
 * `local_attention // 2` positions (in blocks: O(S × window) at long inputs); a gated MLP
 * `Wo(gelu(input) * gate)` with `Wi` = [input; gate]; `final_norm` after the last layer. Every
 * LayerNorm is weight-only unless the file has a bias (`norm_bias: true`), likewise the linears.
 */
export function buildModernBertEncoder(
  g: GraphBuilder,
  config: TransformerConfig,
  w: WeightResolver,
  int8: boolean,
  inputs: { ids: string; mask: string },
  portable = false,
): EncoderValues {
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const heads = config.numHeads;
  const d = H / heads;
  const layout = config.modernbert!;
  const { ids, mask } = inputs;

  const layerNorm = (x: string, base: string, hint: string): string => {
    const ln = w.layerNorm(base, H, true, true);
    return g.node('LayerNormalization', [x, g.float(`${hint}_g`, ln.gamma, [H]), g.float(`${hint}_b`, ln.beta, [H])], hint, {
      axis: -1,
      epsilon: { float: config.layerNormEps },
    });
  };
  /**
   * A Linear layer (with its bias when the file has one: attention_bias / mlp_bias), cut into
   * `parts` equal groups of output rows, each its own MatMul: the packed Wqkv and Wi then need no
   * Split (a copy of every activation).
   */
  const dense = (x: string, base: string, inDim: number, outDim: number, hint: string, parts = 1): string[] => {
    const l = linear(w, base, inDim, outDim);
    const n = outDim / parts;
    return Array.from({ length: parts }, (_, p) => {
      const h = parts === 1 ? hint : `${hint}_${p}`;
      const y = project(g, x, [{ ...l, r0: p * n, r1: (p + 1) * n }], `${h}_w`, int8, `${h}_nobias`);
      const bias = l.bias.subarray(p * n, (p + 1) * n);
      return bias.some((v) => v !== 0) ? g.node('Add', [y, g.float(`${h}_b`, bias.slice(), [n])], h) : y;
    });
  };

  const table = w.base('embeddings.tok_embeddings.weight', [config.vocabSize, H]);
  const embedded = g.node('Gather', [g.float('word_embeddings', table, [config.vocabSize, H]), ids], 'inputs_embeds');
  let x = layerNorm(embedded, 'embeddings.norm', 'emb_ln');
  const embeddingOutput = x;

  const positions = config.maxSequenceLength;
  const rotary: Record<ModernBertLayerType, Rotary> = {
    full_attention: new Rotary(g, { theta: layout.ropeTheta.full_attention, ntkFactor: 1 }, heads, d, positions, 'rope_global'),
    sliding_attention: new Rotary(g, { theta: layout.ropeTheta.sliding_attention, ntkFactor: 1 }, heads, d, positions, 'rope_local'),
  };
  const maskI32 = g.node('Cast', [mask], 'mask_i32', { to: ONNX_DTYPE.INT32 });
  const maskBias = portable ? portableMaskBias(g, mask) : undefined;
  const mask2 = g.node('Cast', [mask], 'mask_f', { to: ONNX_DTYPE.FLOAT });
  const maskF = g.node('Unsqueeze', [mask2, g.int64('axes2', [2])], 'mask_f3');

  for (let i = 0; i < config.numLayers; i++) {
    const p = `layers.${i}`;
    const type = layout.layerTypes[i]!;
    // Layer 0's attn_norm is an Identity in transformers (the file has no weight for it).
    const attnIn = i === 0 ? x : layerNorm(x, `${p}.attn_norm`, `l${i}_attn_norm`);
    // Wqkv's rows: q = [0, H), k = [H, 2H), v = [2H, 3H).
    const [q, k, v] = dense(attnIn, `${p}.attn.Wqkv`, H, 3 * H, `l${i}_qkv`, 3);
    const qr = rotary[type].apply(q!, `l${i}_q_rot`);
    const kr = rotary[type].apply(k!, `l${i}_k_rot`);
    // A sliding window that spans every position (local_attention / 2 >= positions - 1) masks nothing but padding.
    const windowed = type === 'sliding_attention' && layout.slidingWindowHalf < positions - 1;
    const ctx = windowed
      ? slidingWindowAttention(g, qr, kr, v!, mask2, heads, d, layout.slidingWindowHalf, `l${i}_local`)
      : maskBias !== undefined
        ? portableAttention(g, qr, kr, v!, maskBias, heads, d, `l${i}`)
        : perHeadAttention(g, qr, kr, v!, maskI32, heads, d, `l${i}`);
    x = g.node('Add', [x, dense(ctx, `${p}.attn.Wo`, H, H, `l${i}_attn_out`)[0]!], `l${i}_attn_residual`);
    // Wi's rows: input = [0, I), gate = [I, 2I).
    const [input, gate] = dense(layerNorm(x, `${p}.mlp_norm`, `l${i}_mlp_norm`), `${p}.mlp.Wi`, H, 2 * I, `l${i}_wi`, 2);
    // Gelu (com.microsoft) is the exact erf form, as hidden_activation "gelu"; ModernBERT applies it to the first half.
    const gated = g.node('Mul', [g.node('Gelu', [input!], `l${i}_gelu`, {}, MS_DOMAIN), gate!], `l${i}_gated`);
    x = g.node('Add', [x, dense(gated, `${p}.mlp.Wo`, I, H, `l${i}_mlp_out`)[0]!], `l${i}_output`);
  }
  return { embeddingOutput, lastHidden: layerNorm(x, 'final_norm', 'final_norm'), maskF };
}
