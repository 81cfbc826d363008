import { SparseEncoderError } from '../errors.js';

/**
 * Weight precision of a built transformer graph. `int8`: every linear layer's weight is int8,
 * symmetric, one scale per output channel, and activations are quantized per run by onnxruntime
 * (DynamicQuantizeMatMul / QAttention); embeddings, LayerNorm, softmax, GELU and the SPLADE
 * pooling stay float32.
 */
export type WeightPrecision = 'fp32' | 'int8';

/** How a graph is quantized. */
export interface QuantizeOptions {
  /** Default `'fp32'`. */
  precision: WeightPrecision;
  /**
   * With `int8`: also quantize the MLM head's vocabulary projection (the largest single matrix,
   * ~21% of BERT-base's FLOPs at 256 tokens). Default true; false keeps it float32.
   */
  vocabProjection?: boolean;
}

/**
 * Largest magnitude of a quantized weight. 127 would use the full int8 range, but on x86 CPUs
 * without VNNI onnxruntime's u8×s8 kernels multiply with VPMADDUBSW, which adds two u8·s8
 * products in a saturating int16: 2·255·127 = 64,770 overflows it, 2·255·63 = 32,130 does not.
 * onnxruntime's own quantizer offers `reduce_range` (7-bit weights) for the same reason. One
 * bit less precision is the price of results that do not depend on the CPU.
 */
export const INT8_WEIGHT_MAX = 63;

/** One torch Linear weight [out, in] (row-major), of which output rows [r0, r1) are used. */
export interface LinearRows {
  weight: Float32Array;
  /** Tensor name, for errors. */
  name: string;
  outDim: number;
  inDim: number;
  r0?: number;
  r1?: number;
}

/**
 * A MatMul right-hand side [in, Σ(r1 - r0)] in int8: the given Linear weights' rows become
 * columns, side by side, each column with its own scale (value ≈ q · scale).
 */
export interface QuantizedMatrix {
  readonly inDim: number;
  readonly outDim: number;
  /** One scale per output column. */
  readonly scales: Float32Array;
  /** Writes the int8 values, row-major [inDim, outDim]. */
  fill(dst: Int8Array): void;
}

/**
 * Per-output-channel symmetric quantization of one or more Linear weights sharing an input
 * dimension. Scales are computed now (one pass); the int8 values are written by `fill` when the
 * model is serialized, so no second copy of the weights is held. Non-finite weights are refused:
 * they would make every vector they touch NaN.
 */
export function quantizeLinear(parts: readonly LinearRows[]): QuantizedMatrix {
  const inDim = parts[0]!.inDim;
  if (parts.some((p) => p.inDim !== inDim)) throw new Error('quantizeLinear: parts must share their input dimension');
  const ranges = parts.map((p) => ({ p, r0: p.r0 ?? 0, r1: p.r1 ?? p.outDim }));
  const outDim = ranges.reduce((a, r) => a + r.r1 - r.r0, 0);
  const scales = new Float32Array(outDim);
  let col = 0;
  for (const { p, r0, r1 } of ranges) {
    for (let o = r0; o < r1; o++, col++) {
      let max = 0;
      const row = o * inDim;
      for (let i = 0; i < inDim; i++) {
        const a = Math.abs(p.weight[row + i]!);
        // NaN fails every comparison, so test for it explicitly.
        if (!(a <= Number.MAX_VALUE)) {
          throw new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `weight ${p.name} holds a non-finite value (${p.weight[row + i]}) at [${o}, ${i}]`, {
            details: { tensor: p.name, index: [o, i] },
          });
        }
        if (a > max) max = a;
      }
      // An all-zero channel quantizes to zeros whatever its scale.
      scales[col] = max > 0 ? max / INT8_WEIGHT_MAX : 1;
    }
  }
  return {
    inDim,
    outDim,
    scales,
    fill(dst: Int8Array): void {
      let c0 = 0;
      for (const { p, r0, r1 } of ranges) {
        // Blocked over output rows so that the strided writes stay in cache.
        const B = 64;
        for (let ob = r0; ob < r1; ob += B) {
          const oe = Math.min(ob + B, r1);
          for (let o = ob; o < oe; o++) {
            const c = c0 + o - r0;
            const inv = 1 / scales[c]!;
            const row = o * inDim;
            for (let i = 0; i < inDim; i++) dst[i * outDim + c] = Math.round(p.weight[row + i]! * inv);
          }
        }
        c0 += r1 - r0;
      }
    },
  };
}
