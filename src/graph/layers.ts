import { SparseEncoderError } from '../errors.js';
import type { TransformerConfig } from './config.js';
import { GraphBuilder, MS_DOMAIN } from './graph-builder.js';
import { quantizeLinear, type LinearRows, type QuantizeOptions } from './quantize.js';
import { transpose2d, WeightResolver } from './weight-resolver.js';

/** Building blocks every family's graph uses: Linear layers (fp32 or int8) and the post-LN residual step. */

export interface EncoderValues {
  embeddingOutput: string;
  lastHidden: string;
  /** attention_mask as float [batch, sequence, 1]. */
  maskF: string;
}

/** Which parts of the graph are int8: the encoder and head linears, and the vocabulary projection. */
export function quantizeMode(q: QuantizeOptions | undefined): { layers: boolean; vocab: boolean } {
  const precision = q?.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'int8') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `precision must be "fp32" or "int8", got ${JSON.stringify(precision)}`);
  }
  const layers = precision === 'int8';
  return { layers, vocab: layers && q?.vocabProjection !== false };
}

export interface Linear extends LinearRows {
  bias: Float32Array;
}

/** A Linear layer's weight [out, in] and bias (zeros when absent). */
export function linear(w: WeightResolver, base: string, inDim: number, outDim: number, prefixed = true): Linear {
  const weight = w.required([`${base}.weight`], [outDim, inDim], prefixed);
  return { weight, name: `${base}.weight`, bias: w.biasOrZeros([`${base}.bias`], outDim, prefixed), inDim, outDim };
}

/**
 * `input · weightᵀ` for torch Linear weights (rows [r0, r1) of each part, side by side as output
 * columns), without bias. fp32: a MatMul whose right-hand side is transposed only when the model
 * is serialized. int8: com.microsoft DynamicQuantizeMatMul (the activation is quantized to uint8
 * per run, the weight per output column; onnxruntime runs it as one integer GEMM).
 */
export function project(g: GraphBuilder, input: string, parts: readonly LinearRows[], hint: string, int8: boolean, out = `${hint}_out`): string {
  if (int8) {
    const q = quantizeLinear(parts);
    const b = g.int8Deferred(`${hint}_q`, [q.inDim, q.outDim], (dst) => q.fill(dst));
    return g.node('DynamicQuantizeMatMul', [input, b, g.float(`${hint}_scale`, q.scales, [q.outDim])], out, {}, MS_DOMAIN);
  }
  if (parts.length !== 1) throw new Error('project: fp32 takes one weight');
  const l = parts[0]!;
  const r0 = l.r0 ?? 0;
  const r1 = l.r1 ?? l.outDim;
  const b = g.floatDeferred(hint, [l.inDim, r1 - r0], (dst) => transpose2d(l.weight, l.outDim, l.inDim, r0, r1, dst));
  return g.node('MatMul', [input, b], out);
}

/**
 * LayerNorm(projection + bias + residual), the post-LN step of BERT layers. Written as two Adds
 * and a LayerNormalization rather than com.microsoft SkipLayerNormalization: onnxruntime's CPU
 * SkipLayerNormalization is a scalar loop (a division per element) and took about twice as long
 * as the three vectorized ops together (measured on BERT-base, 8 × 256 tokens).
 */
export function residualNorm(g: GraphBuilder, config: TransformerConfig, ln: { gamma: Float32Array; beta: Float32Array }, proj: string, bias: Float32Array, residual: string, hint: string): string {
  const H = config.hiddenSize;
  const biased = g.node('Add', [proj, g.float(`${hint}_bias`, bias, [H])], `${hint}_biased`);
  const sum = g.node('Add', [biased, residual], `${hint}_sum`);
  return g.node('LayerNormalization', [sum, g.float(`${hint}_ln_g`, ln.gamma, [H]), g.float(`${hint}_ln_b`, ln.beta, [H])], hint, {
    axis: -1,
    epsilon: { float: config.layerNormEps },
  });
}

