import type { RopeConfig } from './config.js';
import { GraphBuilder, MS_DOMAIN } from './graph-builder.js';
import { ONNX_DTYPE } from './onnx-proto.js';

/**
 * Attention pieces shared by the rotary families (GTE, ModernBERT): rotary tables and their
 * application, full attention one head at a time, and sliding-window attention in blocks.
 */

/**
 * Rotary tables as transformers and GTE's remote code compute them, in float32:
 * inv_freq[j] = 1 / base^(2j/d) (base = theta × f with NTK scaling, then inv_freq /= f^(2/d)),
 * freqs = position × inv_freq, cos/sin of freqs. Returned as [positions, d/2]: the genuine
 * cos(cat(freqs, freqs)) repeats the same half, which is the layout onnxruntime's
 * RotaryEmbedding takes.
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

/** Applies rotary embeddings (half rotation, not interleaved) to [batch, sequence, heads × d]. */
export class Rotary {
  private readonly cos: string;
  private readonly sin: string;
  private readonly start: string;

  constructor(
    private readonly g: GraphBuilder,
    rope: RopeConfig,
    private readonly heads: number,
    headSize: number,
    positions: number,
    hint: string,
  ) {
    const t = ropeTables(rope, headSize, positions);
    this.cos = g.float(`${hint}_cos`, t.cos, [positions, headSize / 2]);
    this.sin = g.float(`${hint}_sin`, t.sin, [positions, headSize / 2]);
    // Every row uses positions 0..S-1 (right padding), so one start position serves the batch.
    this.start = g.int64(`${hint}_start`, [0], [1]);
  }

  apply(t: string, hint: string): string {
    return this.g.node('RotaryEmbedding', [t, this.start, this.cos, this.sin], hint, { interleaved: 0, num_heads: this.heads }, MS_DOMAIN);
  }
}

/**
 * Full attention with padded keys masked (`maskI32` [batch, sequence]), scale 1/sqrt(d), as one
 * single-head com.microsoft MultiHeadAttention per head: onnxruntime's CPU kernel holds a
 * [heads, S, S] score tensor when given a padding mask (peak 3.5 GB at 8,192 tokens for 12
 * heads); per head it holds one [S, S]. No slower at 256-512 tokens, 1.5× slower at 8,192
 * (npm run bench:graph).
 */
export function perHeadAttention(g: GraphBuilder, q: string, k: string, v: string, maskI32: string, heads: number, headSize: number, hint: string): string {
  const split = g.int64(`${hint}_head_split`, new Array<number>(heads).fill(headSize));
  const byHead = (t: string, name: string): string[] =>
    heads === 1 ? [t] : g.nodeN('Split', [t, split], Array.from({ length: heads }, (_, h) => `${hint}_${name}_h${h}`), { axis: 2 });
  const [qh, kh, vh] = [byHead(q, 'q'), byHead(k, 'k'), byHead(v, 'v')];
  const ctx = qh.map((_, h) => g.node('MultiHeadAttention', [qh[h]!, kh[h]!, vh[h]!, '', maskI32], `${hint}_ctx_h${h}`, { num_heads: 1 }, MS_DOMAIN));
  return heads === 1 ? ctx[0]! : g.node('Concat', ctx, `${hint}_context`, { axis: 2 });
}

/**
 * The additive mask of {@link portableAttention}: [batch, 1, 1, sequence], 0 for a real key and
 * -10000 for a padded one (onnxruntime's `mask_filter_value`, which its Attention kernels add;
 * exp() of it is 0 in float32 next to any real score, as transformers' float32-min mask gives).
 */
export function portableMaskBias(g: GraphBuilder, mask: string): string {
  const m = g.node('Unsqueeze', [g.node('Cast', [mask], 'mask_bias_f', { to: ONNX_DTYPE.FLOAT }), g.int64('mask_bias_axes', [1, 2])], 'mask_bias_f4');
  return g.node('Mul', [g.node('Sub', [m, g.scalarFloat('mask_bias_one', 1)], 'mask_bias_neg'), g.scalarFloat('mask_filter_value', 10000)], 'mask_bias');
}

/**
 * Full attention from standard ONNX ops only (Reshape, Transpose, MatMul, Softmax), for
 * execution providers that lack com.microsoft Attention / MultiHeadAttention with a padding mask
 * (onnxruntime-web's WebGPU: "Mask not supported" on its JSEP build, no `key_padding_mask` on the
 * native one). As transformers' eager attention: softmax(q·kᵀ / sqrt(d) + mask)·v per head, q, k,
 * v [batch, sequence, heads × d] in, the context in the same layout out. Holds [batch, heads, S, S]
 * scores, so it is the choice only where the fused kernels cannot run.
 */
export function portableAttention(g: GraphBuilder, q: string, k: string, v: string, maskBias: string, heads: number, headSize: number, hint: string): string {
  const split = g.int64(`${hint}_heads_shape`, [0, 0, heads, headSize]);
  const heads4 = (t: string, name: string, perm: number[]): string => g.node('Transpose', [g.node('Reshape', [t, split], `${hint}_${name}_4d`)], `${hint}_${name}_heads`, { perm });
  const qh = heads4(q, 'q', [0, 2, 1, 3]);
  const kt = heads4(k, 'k', [0, 2, 3, 1]);
  const vh = heads4(v, 'v', [0, 2, 1, 3]);
  const scores = g.node('Mul', [g.node('MatMul', [qh, kt], `${hint}_qk`), g.scalarFloat(`${hint}_scale`, 1 / Math.sqrt(headSize))], `${hint}_scores`);
  const probs = g.node('Softmax', [g.node('Add', [scores, maskBias], `${hint}_scores_masked`)], `${hint}_probs`, { axis: -1 });
  const ctx = g.node('Transpose', [g.node('MatMul', [probs, vh], `${hint}_ctx_heads`)], `${hint}_ctx_t`, { perm: [0, 2, 1, 3] });
  return g.node('Reshape', [ctx, g.int64(`${hint}_ctx_shape`, [0, 0, heads * headSize])], `${hint}_context`);
}

/** A masked score: exp() of it is 0 in float32, and it stays finite when two masks add up. */
const MASKED = -1e30;

/** Each graph's band initializers by window, shared by its sliding layers. */
const BANDS = new WeakMap<GraphBuilder, Map<number, string>>();

/** The [b, 3b] band bias: query r of a block sees window key c (offset c - b from the block start) iff |c - b - r| <= halfWindow. */
function bandOf(g: GraphBuilder, b: number, halfWindow: number): string {
  let bands = BANDS.get(g);
  if (bands === undefined) BANDS.set(g, (bands = new Map()));
  let name = bands.get(halfWindow);
  if (name === undefined) {
    const band = new Float32Array(b * 3 * b);
    for (let r = 0; r < b; r++) for (let c = 0; c < 3 * b; c++) band[r * 3 * b + c] = Math.abs(c - b - r) <= halfWindow ? 0 : MASKED;
    name = g.float(`band_${halfWindow}`, band, [b, 3 * b]);
    bands.set(halfWindow, name);
  }
  return name;
}

/**
 * Symmetric sliding-window attention: query i sees key j iff |i - j| <= `halfWindow` and j is
 * not padding (ModernBERT's local layers). Costs O(S × window), not O(S²): the sequence is cut
 * into blocks of b = halfWindow positions (padded to a whole number of blocks), and each block's
 * queries attend the keys of the block itself and its two neighbours (3b keys), the band and the
 * padding masked by an additive bias. Inputs [batch, sequence, heads × d], q and k rotated
 * already; `maskF` the float 0/1 mask [batch, sequence]. Padded query positions come out finite
 * (a row whose keys are all masked averages them) and are ignored downstream.
 *
 * Each key and value block is gathered with its neighbours in one Gather, and the scores are one
 * com.microsoft FusedMatMul (transposed keys, the 1/sqrt(d) scale as its alpha): slicing the
 * neighbours apart and concatenating them, then transposing the keys to [d, 3b] (a transpose that
 * moves the innermost axis, onnxruntime's slow path) cost 14% of a ModernBERT-base forward.
 */
export function slidingWindowAttention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  maskF: string,
  heads: number,
  headSize: number,
  halfWindow: number,
  hint: string,
): string {
  const b = Math.max(1, halfWindow);
  const H = heads * headSize;
  const i64 = (name: string, values: number[], dims?: number[]): string => g.int64(`${hint}_${name}`, values, dims);
  // S, the block count nb = ceil(S / b) and the padding to nb × b.
  const seq = g.node('Shape', [q], `${hint}_seq`, { start: 1, end: 2 });
  const nb = g.node('Div', [g.node('Add', [seq, i64('bm1', [b - 1])], `${hint}_seq_up`), i64('b', [b])], `${hint}_blocks`);
  const pad = g.node('Sub', [g.node('Mul', [nb, i64('b2', [b])], `${hint}_seq_padded`), seq], `${hint}_pad`);
  const padEnd = g.node('Add', [pad, i64('b3', [b])], `${hint}_pad_end`);
  const pads = (begin: number[], end: string, rest: number[], name: string): string => g.node('Concat', [i64(`${name}0`, begin), end, i64(`${name}1`, rest)], `${hint}_${name}`, { axis: 0 });
  // Block n's neighbours are padded blocks n, n + 1, n + 2 (one block of padding on each side): [nb, 3].
  const scalarNb = g.node('Squeeze', [nb, i64('axis0', [0])], `${hint}_nb`);
  const starts = g.node('Unsqueeze', [g.node('Range', [i64('zero', [0], []), scalarNb, i64('one', [1], [])], `${hint}_range`), i64('axis1', [1])], `${hint}_starts`);
  const windowIndex = g.node('Add', [starts, i64('offsets', [0, 1, 2], [1, 3])], `${hint}_window_index`);

  // q [B, h, nb, b, d].
  const qPadded = g.node('Pad', [q, pads([0, 0, 0, 0], pad, [0], 'pads_q')], `${hint}_q_pad`);
  const qb = g.node('Transpose', [g.node('Reshape', [qPadded, i64('q_shape', [0, -1, b, heads, headSize])], `${hint}_q_blocks`)], `${hint}_q_bh`, { perm: [0, 3, 1, 2, 4] });
  // Keys and values: [B, nb + 2, b, h, d] → each block's three neighbours [B, nb, 3b, h, d].
  const kvPads = pads([0, b, 0, 0], padEnd, [0], 'pads_kv');
  const windows = (t: string, name: string): string => {
    const blocks = g.node('Reshape', [g.node('Pad', [t, kvPads], `${hint}_${name}_pad`), i64(`${name}_shape`, [0, -1, b, heads, headSize])], `${hint}_${name}_blocks`);
    const gathered = g.node('Gather', [blocks, windowIndex], `${hint}_${name}_gathered`, { axis: 1 });
    return g.node('Reshape', [gathered, i64(`${name}_win_shape`, [0, -1, 3 * b, heads, headSize])], `${hint}_${name}_win`);
  };
  const kw = g.node('Transpose', [windows(k, 'k')], `${hint}_kw`, { perm: [0, 3, 1, 2, 4] });
  const vw = g.node('Transpose', [windows(v, 'v')], `${hint}_vw`, { perm: [0, 3, 1, 2, 4] });
  // q kᵀ / sqrt(d), as transformers computes the scores.
  const scores = g.node('FusedMatMul', [qb, kw], `${hint}_scores`, { alpha: { float: 1 / Math.sqrt(headSize) }, transB: 1 }, MS_DOMAIN);

  const band = bandOf(g, b, halfWindow);
  // Padding: the keys' mask laid out as the windows are, [B, 1, nb, 1, 3b].
  const maskBlocks = g.node('Reshape', [g.node('Pad', [maskF, pads([0, b, 0], padEnd, [], 'pads_m')], `${hint}_mask_pad`), i64('mask_blocked', [0, -1, b])], `${hint}_mask_blocks`);
  const maskWin = g.node('Reshape', [g.node('Gather', [maskBlocks, windowIndex], `${hint}_mask_gathered`, { axis: 1 }), i64('mask_win_shape', [0, -1, 3 * b])], `${hint}_mask_win`);
  const padBias = g.node('Mul', [g.node('Sub', [maskWin, g.scalarFloat(`${hint}_onef`, 1)], `${hint}_mask_off`), g.scalarFloat(`${hint}_masked`, -MASKED)], `${hint}_pad_bias`);
  const bias = g.node('Add', [band, g.node('Unsqueeze', [padBias, i64('axes13', [1, 3])], `${hint}_pad_bias5`)], `${hint}_bias`);
  const probs = g.node('Softmax', [g.node('Add', [scores, bias], `${hint}_scores_masked`)], `${hint}_probs`, { axis: -1 });
  const ctx = g.node('MatMul', [probs, vw], `${hint}_ctx_blocks`);
  // [B, h, nb, b, d] → [B, nb × b, H] → the first S positions.
  const merged = g.node('Reshape', [g.node('Transpose', [ctx], `${hint}_ctx_t`, { perm: [0, 2, 3, 1, 4] }), i64('merged_shape', [0, -1, H])], `${hint}_ctx_padded`);
  return g.node('Slice', [merged, i64('zero1', [0]), seq, i64('axis1b', [1])], `${hint}_context`);
}
