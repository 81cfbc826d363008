import { SparseEncoderError } from '../errors.js';
import type { StateDict } from '../weights/types.js';
import type { TransformerConfig, TransformerFamily } from './config.js';
import { GraphBuilder, MS_DOMAIN } from './graph-builder.js';
import type { ExternalDataModel } from './graph-builder.js';
import { ONNX_DTYPE } from './onnx-proto.js';
import { buildGteEncoder } from './gte-graph.js';
import { buildModernBertEncoder } from './modernbert-graph.js';
import { portableAttention, portableMaskBias } from './attention.js';
import { linear, project, quantizeMode, residualNorm, type EncoderValues, type Linear } from './layers.js';
import { quantizeLinear, type LinearRows, type QuantizeOptions } from './quantize.js';
import { transpose2d, WeightResolver } from './weight-resolver.js';

export type SpladePoolingMode = 'max' | 'sum';
export type SpladeActivation = 'relu' | 'log1p_relu';

export interface SpladeGraphOptions {
  /** How token activations are pooled over the sequence (SpladePooling `pooling_strategy`). */
  pooling: SpladePoolingMode;
  /** `relu` = log1p(relu(x)); `log1p_relu` = log1p(log1p(relu(x))) (SpladePooling `activation_function`). */
  activation: SpladeActivation;
  /**
   * The vocabulary projection is computed in column blocks of at most this many entries, each
   * pooled at once, so the [batch, sequence, vocab] logits never exist in full. Default 8192.
   * (2048 measured about 2% faster on BERT-base but raised the benchmark's peak RSS by ~200 MiB.)
   */
  vocabChunkSize?: number;
  /**
   * Internal: also output `embedding_output`, `last_hidden_state` and the full `logits`
   * [batch, sequence, vocab] (for parity tests against transformers' intermediate values).
   */
  debugOutputs?: boolean;
  /** Weight precision. Default `{ precision: 'fp32' }`. */
  quantize?: QuantizeOptions;
  /**
   * Attention from standard ONNX ops (portableAttention) instead of com.microsoft Attention /
   * MultiHeadAttention, for execution providers without their padding masks (WebGPU). Default false.
   */
  portableAttention?: boolean;
  /**
   * Max pooling: the flag input `explain` (a bool scalar; the runtime feeds false) and the output `max_position`:
   * with `explain` true, for every vocabulary entry the sequence position whose logit won the max
   * ([batch, vocab] int64; the first such position on ties); with it false, an empty [0, 0] tensor,
   * and nothing is computed (the ArgMax sits in an If branch). Default true, except with
   * `portableAttention` (WebGPU would copy every logits chunk to the CPU for the If).
   */
  explainOutput?: boolean;
}

/** Graph input/output names; the runner feeds int64 [batch, sequence] tensors. */
export const GRAPH_NAMES = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  tokenTypeIds: 'token_type_ids',
  /** SPLADE output [batch, vocab]. */
  splade: 'sparse_embedding',
  /** Optional bool input: compute {@link GRAPH_NAMES.maxPosition} in this run. */
  explain: 'explain',
  /** With `explain`: the position whose logit won each vocabulary entry's max, int64 [batch, vocab]. */
  maxPosition: 'max_position',
  /** Mean-pooled output [batch, hidden]. */
  meanPooled: 'sentence_embedding',
} as const;

/** Whether the graph takes `token_type_ids`: BERT, and GTE models with token types (RoBERTa adds type row 0 itself). */
export function takesTokenTypeIds(config: TransformerConfig): boolean {
  return config.family === 'bert' || (config.family === 'gte' && config.typeVocabSize > 0);
}

const PREFIX: Record<TransformerFamily, string> = { bert: 'bert.', roberta: 'roberta.', distilbert: 'distilbert.', gte: 'new.', modernbert: 'model.' };

interface LayerNaming {
  q: string;
  k: string;
  v: string;
  attnOut: string;
  attnNorm: string;
  inter: string;
  out: string;
  outNorm: string;
}

function layerNaming(family: TransformerFamily, i: number): LayerNaming {
  if (family === 'distilbert') {
    const p = `transformer.layer.${i}`;
    return {
      q: `${p}.attention.q_lin`,
      k: `${p}.attention.k_lin`,
      v: `${p}.attention.v_lin`,
      attnOut: `${p}.attention.out_lin`,
      attnNorm: `${p}.sa_layer_norm`,
      inter: `${p}.ffn.lin1`,
      out: `${p}.ffn.lin2`,
      outNorm: `${p}.output_layer_norm`,
    };
  }
  const p = `encoder.layer.${i}`;
  return {
    q: `${p}.attention.self.query`,
    k: `${p}.attention.self.key`,
    v: `${p}.attention.self.value`,
    attnOut: `${p}.attention.output.dense`,
    attnNorm: `${p}.attention.output.LayerNorm`,
    inter: `${p}.intermediate.dense`,
    out: `${p}.output.dense`,
    outNorm: `${p}.output.LayerNorm`,
  };
}

interface HeadNaming {
  dense: string;
  norm: string;
  decoderWeight: string[];
  decoderBias: string[];
  /** The word embedding table the decoder is tied to when the file has no decoder weight. */
  tiedTo: string;
  /** LayerNorm without a shift (bias=False) unless the file has one. */
  weightOnlyNorm?: boolean;
}

const HEAD: Record<TransformerFamily, HeadNaming> = {
  bert: {
    dense: 'cls.predictions.transform.dense',
    norm: 'cls.predictions.transform.LayerNorm',
    decoderWeight: ['cls.predictions.decoder.weight'],
    decoderBias: ['cls.predictions.bias', 'cls.predictions.decoder.bias'],
    tiedTo: 'embeddings.word_embeddings.weight',
  },
  roberta: {
    dense: 'lm_head.dense',
    norm: 'lm_head.layer_norm',
    decoderWeight: ['lm_head.decoder.weight'],
    decoderBias: ['lm_head.bias', 'lm_head.decoder.bias'],
    tiedTo: 'embeddings.word_embeddings.weight',
  },
  distilbert: {
    dense: 'vocab_transform',
    norm: 'vocab_layer_norm',
    decoderWeight: ['vocab_projector.weight'],
    decoderBias: ['vocab_projector.bias'],
    tiedTo: 'embeddings.word_embeddings.weight',
  },
  // NewForMaskedLM: the decoder is tied to the word embeddings (no lm_head.decoder.weight saved).
  gte: {
    dense: 'lm_head.dense',
    norm: 'lm_head.norm',
    decoderWeight: ['lm_head.decoder.weight'],
    decoderBias: ['lm_head.decoder.bias', 'lm_head.bias'],
    tiedTo: 'embeddings.word_embeddings.weight',
  },
  // ModernBertForMaskedLM: head.dense (no bias) → gelu → head.norm (weight-only), decoder tied to tok_embeddings, with bias.
  modernbert: {
    dense: 'head.dense',
    norm: 'head.norm',
    decoderWeight: ['decoder.weight'],
    decoderBias: ['decoder.bias'],
    tiedTo: 'embeddings.tok_embeddings.weight',
    weightOnlyNorm: true,
  },
};

function validateDims(config: TransformerConfig): void {
  if (config.hiddenSize % config.numHeads !== 0) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `hidden size ${config.hiddenSize} is not divisible by the ${config.numHeads} attention heads`);
  }
  for (const [k, v] of Object.entries({ hiddenSize: config.hiddenSize, numHeads: config.numHeads, vocabSize: config.vocabSize, intermediateSize: config.intermediateSize })) {
    if (v <= 0) throw new SparseEncoderError('ERR_INVALID_CONFIG', `config ${k} must be positive, got ${v}`);
  }
}

/**
 * `hidden` [batch, sequence, H] with every padded position replaced by the row's first real
 * token (the first position whose mask is 1; position 0 when the row has none).
 */
function firstRealTokenForPadding(g: GraphBuilder, hidden: string, maskF: string, H: number): string {
  const first = g.node('ArgMax', [maskF], 'first_real_pos', { axis: 1, keepdims: 1 });
  const index = g.node('Expand', [first, g.node('Concat', [g.node('Shape', [first], 'first_real_shape', { end: 2 }), g.int64('hidden_dim', [H])], 'first_real_dims', { axis: 0 })], 'first_real_index');
  const firstRow = g.node('GatherElements', [hidden, index], 'first_real_hidden', { axis: 1 });
  const isReal = g.node('Cast', [maskF], 'mask_bool3', { to: ONNX_DTYPE.BOOL });
  return g.node('Where', [isReal, hidden, firstRow], 'head_input');
}

/**
 * Multi-head self-attention with the packed q | k | v projection, as one com.microsoft op.
 * The raw 0/1 mask [B, S]: ORT adds mask_filter_value (-10000) to masked scores; transformers
 * adds float32 min. Both give exp(...) = 0 in float32, so the softmax is the same.
 * int8: QAttention, fed the activation quantized once by DynamicQuantizeLinear (uint8, per run)
 * and the [H, 3H] weight quantized per output column.
 */
function attention(g: GraphBuilder, config: TransformerConfig, x: string, qkv: readonly Linear[], bias: string, mask: { i32: string; bias: string | undefined }, hint: string, int8: boolean): string {
  const H = config.hiddenSize;
  const attrs = { num_heads: config.numHeads };
  if (int8 && mask.bias === undefined) {
    const q = quantizeLinear(qkv);
    const [xq, xScale, xZero] = g.nodeN('DynamicQuantizeLinear', [x], [`${hint}_x_q`, `${hint}_x_scale`, `${hint}_x_zero`]);
    const wq = g.int8Deferred(`${hint}_qkv_q`, [H, 3 * H], (dst) => q.fill(dst));
    return g.node('QAttention', [xq!, wq, bias, xScale!, g.float(`${hint}_qkv_scale`, q.scales, [3 * H]), mask.i32, xZero!], `${hint}_context`, attrs, MS_DOMAIN);
  }
  // Attention wants one [H, 3H] weight: q | k | v (each transposed) side by side.
  const qkvW = (): string =>
    g.floatDeferred(`${hint}_qkv_w`, [H, 3 * H], (dst) => {
      qkv.forEach((l, part) => {
        for (let o = 0; o < H; o++) {
          for (let inp = 0; inp < H; inp++) dst[inp * 3 * H + part * H + o] = l.weight[o * H + inp]!;
        }
      });
    });
  if (mask.bias !== undefined) {
    const packed = int8 ? project(g, x, qkv, `${hint}_qkv_w`, true, `${hint}_qkv`) : g.node('MatMul', [x, qkvW()], `${hint}_qkv`);
    const [q, k, v] = g.nodeN('Split', [g.node('Add', [packed, bias], `${hint}_qkv_biased`), g.int64(`${hint}_qkv_split`, [H, H, H])], [`${hint}_q`, `${hint}_k`, `${hint}_v`], { axis: 2 });
    return portableAttention(g, q!, k!, v!, mask.bias, config.numHeads, H / config.numHeads, hint);
  }
  return g.node('Attention', [x, qkvW(), bias, mask.i32], `${hint}_context`, attrs, MS_DOMAIN);
}

/** Embeddings and the transformer layers, as transformers computes them (eval mode). */
function buildEncoder(g: GraphBuilder, config: TransformerConfig, w: WeightResolver, int8: boolean, portable: boolean): EncoderValues {
  const H = config.hiddenSize;
  const fam = config.family;
  const ids = g.input(GRAPH_NAMES.inputIds, ONNX_DTYPE.INT64, ['batch', 'sequence']);
  const mask = g.input(GRAPH_NAMES.attentionMask, ONNX_DTYPE.INT64, ['batch', 'sequence']);
  const typeIds = takesTokenTypeIds(config) ? g.input(GRAPH_NAMES.tokenTypeIds, ONNX_DTYPE.INT64, ['batch', 'sequence']) : undefined;
  // GTE's and ModernBERT's encoders live in their own files; BERT, RoBERTa and DistilBERT follow here.
  if (fam === 'gte') return buildGteEncoder(g, config, w, int8, { ids, mask, typeIds }, portable);
  if (fam === 'modernbert') return buildModernBertEncoder(g, config, w, int8, { ids, mask }, portable);

  // --- embeddings: word (+ type) + position, then LayerNorm
  const wordTable = w.base('embeddings.word_embeddings.weight', [config.vocabSize, H]);
  let x = g.node('Gather', [g.float('word_embeddings', wordTable, [config.vocabSize, H]), ids], 'inputs_embeds');

  if (typeIds !== undefined) {
    const table = w.base('embeddings.token_type_embeddings.weight', [config.typeVocabSize, H]);
    const t = g.node('Gather', [g.float('token_type_embeddings', table, [config.typeVocabSize, H]), typeIds], 'token_type_embeds');
    x = g.node('Add', [x, t], 'emb_plus_type');
  } else if (fam === 'roberta') {
    // RoBERTa's tokenizer returns no token types: transformers adds row 0 (zeros ids).
    const table = w.base('embeddings.token_type_embeddings.weight', [config.typeVocabSize, H]);
    x = g.node('Add', [x, g.float('token_type_row0', table.slice(0, H), [H])], 'emb_plus_type');
  }

  const posTable = w.base('embeddings.position_embeddings.weight', [config.maxPositionEmbeddings, H]);
  const posInit = g.float('position_embeddings', posTable, [config.maxPositionEmbeddings, H]);
  let pos: string;
  if (fam === 'roberta') {
    // position id = padding_idx + cumsum(not_pad) * not_pad, with not_pad from input_ids (as transformers).
    const isPad = g.node('Equal', [ids, g.int64('pad_id', [config.padTokenId], [])], 'is_pad');
    const notPad = g.node('Cast', [g.node('Not', [isPad], 'not_pad_b')], 'not_pad', { to: ONNX_DTYPE.INT64 });
    const cs = g.node('CumSum', [notPad, g.int64('axis1', [1], [])], 'not_pad_cumsum');
    const inc = g.node('Mul', [cs, notPad], 'pos_increment');
    const posIds = g.node('Add', [inc, g.int64('pad_offset', [config.padTokenId], [])], 'position_ids');
    pos = g.node('Gather', [posInit, posIds], 'position_embeds');
  } else {
    // positions 0..S-1: the first S rows of the table, broadcast over the batch.
    const seqLen = g.node('Shape', [ids], 'seq_len', { start: 1, end: 2 });
    pos = g.node('Slice', [posInit, g.int64('zero1', [0]), seqLen, g.int64('axes0', [0])], 'position_embeds');
  }
  x = g.node('Add', [x, pos], 'emb_sum');
  const embLn = w.layerNorm('embeddings.LayerNorm', H);
  x = g.node('LayerNormalization', [x, g.float('emb_ln_gamma', embLn.gamma, [H]), g.float('emb_ln_beta', embLn.beta, [H])], 'emb_ln', {
    axis: -1,
    epsilon: { float: config.layerNormEps },
  });
  const embeddingOutput = x;

  const masks = { i32: g.node('Cast', [mask], 'mask_i32', { to: ONNX_DTYPE.INT32 }), bias: portable ? portableMaskBias(g, mask) : undefined };
  const maskF = g.node('Unsqueeze', [g.node('Cast', [mask], 'mask_f', { to: ONNX_DTYPE.FLOAT }), g.int64('axes2', [2])], 'mask_f3');

  // --- transformer layers (post-LayerNorm, as BERT/RoBERTa/DistilBERT)
  for (let i = 0; i < config.numLayers; i++) {
    const n = layerNaming(fam, i);
    const q = linear(w, n.q, H, H);
    const k = linear(w, n.k, H, H);
    const v = linear(w, n.v, H, H);
    const qkvB = new Float32Array(3 * H);
    qkvB.set(q.bias, 0);
    qkvB.set(k.bias, H);
    qkvB.set(v.bias, 2 * H);
    const ctx = attention(g, config, x, [q, k, v], g.float(`l${i}_qkv_b`, qkvB, [3 * H]), masks, `l${i}`, int8);
    const o = linear(w, n.attnOut, H, H);
    const attnProj = project(g, ctx, [o], `l${i}_attn_out_w`, int8, `l${i}_attn_proj`);
    const x1 = residualNorm(g, config, w.layerNorm(n.attnNorm, H), attnProj, o.bias, x, `l${i}_attn_output`);
    const I = config.intermediateSize;
    const fc1 = linear(w, n.inter, H, I);
    const h = project(g, x1, [fc1], `l${i}_fc1_w`, int8, `l${i}_fc1`);
    // BiasGelu is the exact erf GELU (FastGelu would be the tanh approximation).
    const act = g.node('BiasGelu', [h, g.float(`l${i}_fc1_b`, fc1.bias, [I])], `l${i}_gelu`, {}, MS_DOMAIN);
    const fc2 = linear(w, n.out, I, H);
    const y = project(g, act, [fc2], `l${i}_fc2_w`, int8, `l${i}_fc2`);
    x = residualNorm(g, config, w.layerNorm(n.outNorm, H), y, fc2.bias, x1, `l${i}_output`);
  }
  return { embeddingOutput, lastHidden: x, maskF };
}

/**
 * Builds a SPLADE model (an MLM plus SpladePooling) as ONNX bytes: inputs int64 `input_ids`,
 * `attention_mask` [batch, sequence] (and `token_type_ids` for BERT), output float32
 * `sparse_embedding` [batch, vocab]. Per token: logits × mask → relu → log1p (twice for
 * `log1p_relu`), then max or sum over the sequence. The decoder is tied to the word embeddings
 * when its weight is absent.
 */
export function buildSpladeGraph(config: TransformerConfig, weights: StateDict, options: SpladeGraphOptions): Uint8Array {
  return buildSpladeModel(config, weights, options).toBytes();
}

/**
 * A built model not yet serialized: inline (`toBytes`) or with its weights in an external data
 * file (`toExternal`). Large weights are transposed only while serializing.
 */
export interface OnnxModel {
  /** Total bytes of the model's weights. */
  readonly initializerBytes: number;
  toBytes(): Uint8Array;
  toExternal(location: string, minBytes?: number): ExternalDataModel;
}

/** As `buildSpladeGraph`, without serializing. */
export function buildSpladeModel(config: TransformerConfig, weights: StateDict, options: SpladeGraphOptions): OnnxModel {
  validateDims(config);
  const { pooling, activation } = options;
  if (pooling !== 'max' && pooling !== 'sum') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `SPLADE pooling must be "max" or "sum", got ${JSON.stringify(pooling)}`);
  }
  if (activation !== 'relu' && activation !== 'log1p_relu') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `SPLADE activation must be "relu" or "log1p_relu", got ${JSON.stringify(activation)}`);
  }
  const chunkLimit = options.vocabChunkSize ?? 8192;
  if (!Number.isInteger(chunkLimit) || chunkLimit <= 0) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `vocabChunkSize must be a positive integer, got ${chunkLimit}`);
  }

  const H = config.hiddenSize;
  const V = config.vocabSize;
  const int8 = quantizeMode(options.quantize);
  const w = new WeightResolver(weights, PREFIX[config.family]);
  const g = new GraphBuilder('splade');
  const enc = buildEncoder(g, config, w, int8.layers, options.portableAttention === true);

  // --- MLM head transform: dense → GELU → LayerNorm
  const head = HEAD[config.family];
  const dense = linear(w, head.dense, H, H, false);
  let t = project(g, enc.lastHidden, [dense], 'head_dense_w', int8.layers, 'head_dense');
  t = g.node('BiasGelu', [t, g.float('head_dense_b', dense.bias, [H])], 'head_gelu', {}, MS_DOMAIN);
  const headLn = w.layerNorm(head.norm, H, false, head.weightOnlyNorm === true);
  const headEps = config.family === 'distilbert' ? 1e-12 : config.layerNormEps;
  t = g.node('LayerNormalization', [t, g.float('head_ln_g', headLn.gamma, [H]), g.float('head_ln_b', headLn.beta, [H])], 'head_transform', {
    axis: -1,
    epsilon: { float: headEps },
  });

  const tiedDecoder = w.optional(head.decoderWeight, [V, H]);
  const decoder = tiedDecoder ?? w.base(head.tiedTo, [V, H]);
  const decoderName = tiedDecoder === undefined ? head.tiedTo : head.decoderWeight[0]!;
  const bias = w.biasOrZeros(head.decoderBias, V);

  const one = g.scalarFloat('one', 1);
  const zero = g.scalarFloat('zero', 0);
  // ONNX has no log1p, and Log(1 + x) rounds x < 6e-8 to exactly 0, which would drop a dimension
  // torch keeps. For x >= 0: u = 1 + x; log1p(x) = x if u == 1 else log(u) · x / (u - 1).
  const log1p = (x: string, hint: string): string => {
    const u = g.node('Add', [x, one], `${hint}_u`);
    const d = g.node('Sub', [u, one], `${hint}_d`);
    const r = g.node('Div', [g.node('Mul', [g.node('Log', [u], `${hint}_logu`), x], `${hint}_num`), d], `${hint}_ratio`);
    return g.node('Where', [g.node('Equal', [d, zero], `${hint}_tiny`), x, r], `${hint}_log1p`);
  };
  const activate = (v: string, hint: string): string => {
    let y = g.node('Relu', [v], `${hint}_relu`);
    const times = activation === 'log1p_relu' ? 2 : 1;
    for (let k = 0; k < times; k++) y = log1p(y, `${hint}_${k}`);
    return y;
  };

  // Max pooling: transformers multiplies the logits by the mask (padded positions give relu 0)
  // and takes the max of log1p(relu(·)). As relu and log1p are monotone, the max of the real
  // positions' logits, activated afterwards, is the same value. Padded positions must not win
  // that max: their head input is replaced by the row's first real token, whose logits are in
  // the max anyway, so the [batch, sequence, vocab] logits need no masking pass.
  const headInput = pooling === 'max' ? firstRealTokenForPadding(g, t, enc.maskF, H) : t;
  const hasTokens = pooling === 'max' ? g.node('ReduceMax', [enc.maskF], 'has_tokens', { axes: [1], keepdims: 0 }) : undefined;

  const fullBias = pooling === 'max' || options.debugOutputs ? g.float('decoder_b', bias, [V]) : undefined;
  const explain = pooling === 'max' && (options.explainOutput ?? options.portableAttention !== true) ? g.flagInput(GRAPH_NAMES.explain) : undefined;
  const positions: string[] = [];
  const nChunks = Math.ceil(V / chunkLimit);
  const chunk = Math.ceil(V / nChunks);
  const pooledChunks: string[] = [];
  const rawChunks: string[] = [];
  for (let c = 0; c < nChunks; c++) {
    const c0 = c * chunk;
    const c1 = Math.min(V, c0 + chunk);
    const rows: LinearRows = { weight: decoder, name: decoderName, outDim: V, inDim: H, r0: c0, r1: c1 };
    const logits = project(g, headInput, [rows], `decoder_w_${c}`, int8.vocab, `logits_nobias_${c}`);
    // The debug logits are transformers' own, padded positions included (fp32 graphs only).
    if (options.debugOutputs) {
      if (int8.vocab) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'debugOutputs needs an fp32 vocabulary projection');
      rawChunks.push(headInput === t ? logits : project(g, t, [rows], `debug_decoder_w_${c}`, false, `debug_logits_nobias_${c}`));
    }
    if (pooling === 'max') {
      if (explain === undefined) {
        pooledChunks.push(g.node('ReduceMax', [logits], `max_${c}`, { axes: [1], keepdims: 0 }));
      } else {
        // The chunk's logits are read by the If alone (both branches take the max), so they are
        // freed as soon as it ran, as with a plain ReduceMax.
        const [max, pos] = g.ifElse(
          explain,
          [`max_${c}`, `max_position_${c}`],
          [ONNX_DTYPE.FLOAT, ONNX_DTYPE.INT64],
          (b) => [b.node('ReduceMax', [logits], `max_${c}_e`, { axes: [1], keepdims: 0 }), b.node('ArgMax', [logits], `argmax_${c}`, { axis: 1, keepdims: 0 })],
          (b) => [b.node('ReduceMax', [logits], `max_${c}_n`, { axes: [1], keepdims: 0 }), b.emptyInt64(`no_position_${c}`)],
        );
        pooledChunks.push(max!);
        positions.push(pos!);
      }
    } else {
      const bc = g.float(`decoder_b_${c}`, bias.slice(c0, c1), [c1 - c0]);
      const a = activate(g.node('Add', [logits, bc], `logits_${c}`), `act_${c}`);
      const m = g.node('Mul', [a, enc.maskF], `act_masked_${c}`);
      pooledChunks.push(g.node('ReduceSum', [m, g.int64(`axes1_${c}`, [1])], `sum_${c}`, { keepdims: 0 }));
    }
  }
  let pooled = nChunks === 1 ? pooledChunks[0]! : g.node('Concat', pooledChunks, 'pooled_chunks', { axis: 1 });
  if (hasTokens !== undefined) {
    // max_s(x_s + b) = max_s(x_s) + b exactly (float rounding is monotone): the bias and the
    // activation apply once to the pooled [batch, vocab] maxima.
    const activated = activate(g.node('Add', [pooled, fullBias!], 'max_bias'), 'act');
    // A row without any real token pools to zeros, as transformers' masked logits give.
    pooled = g.node('Mul', [activated, hasTokens], 'pooled');
  }
  g.exposeAs(pooled, GRAPH_NAMES.splade, ONNX_DTYPE.FLOAT, ['batch', V]);
  if (explain !== undefined) {
    const all = positions.length === 1 ? positions[0]! : g.node('Concat', positions, 'max_positions', { axis: 1 });
    g.exposeAs(all, GRAPH_NAMES.maxPosition, ONNX_DTYPE.INT64, ['explain_batch', 'explain_vocab']);
  }

  if (options.debugOutputs) {
    const all = nChunks === 1 ? rawChunks[0]! : g.node('Concat', rawChunks, 'logits_nobias', { axis: 2 });
    const logits = g.node('Add', [all, fullBias!], 'logits_full');
    g.exposeAs(enc.embeddingOutput, 'embedding_output', ONNX_DTYPE.FLOAT, ['batch', 'sequence', H]);
    g.exposeAs(enc.lastHidden, 'last_hidden_state', ONNX_DTYPE.FLOAT, ['batch', 'sequence', H]);
    g.exposeAs(logits, 'logits', ONNX_DTYPE.FLOAT, ['batch', 'sequence', V]);
  }
  return g;
}

/**
 * Builds a bare encoder (BertModel and relatives, no head) followed by sentence-transformers'
 * mean pooling over attention-masked tokens: output float32 `sentence_embedding` [batch, hidden].
 */
export function buildMeanPooledGraph(config: TransformerConfig, weights: StateDict, quantize?: QuantizeOptions, portableAttention = false): Uint8Array {
  return buildMeanPooledModel(config, weights, quantize, portableAttention).toBytes();
}

/** As `buildMeanPooledGraph`, without serializing. */
export function buildMeanPooledModel(config: TransformerConfig, weights: StateDict, quantize?: QuantizeOptions, portableAttention = false): OnnxModel {
  validateDims(config);
  const H = config.hiddenSize;
  const w = new WeightResolver(weights, PREFIX[config.family]);
  const g = new GraphBuilder('mean_pooled');
  const enc = buildEncoder(g, config, w, quantizeMode(quantize).layers, portableAttention);
  const sum = g.node('ReduceSum', [g.node('Mul', [enc.lastHidden, enc.maskF], 'masked_hidden'), g.int64('axes1', [1])], 'hidden_sum', {
    keepdims: 0,
  });
  const count = g.node('ReduceSum', [enc.maskF, g.int64('axes1b', [1])], 'mask_count', { keepdims: 0 });
  // sentence-transformers clamps the token count at 1e-9 so an all-padding row gives zeros, not NaN.
  const denom = g.node('Max', [count, g.scalarFloat('min_count', 1e-9)], 'mask_count_clamped');
  g.exposeAs(g.node('Div', [sum, denom], 'mean'), GRAPH_NAMES.meanPooled, ONNX_DTYPE.FLOAT, ['batch', H]);
  return g;
}
