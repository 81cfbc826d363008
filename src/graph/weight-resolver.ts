import { SparseEncoderError } from '../errors.js';
import type { StateDict } from '../weights/types.js';

/**
 * Looks tensors up in a state dict under the family prefix (`bert.`, `roberta.`, `distilbert.`)
 * or without it (checkpoints saved from the bare model), and checks their shapes.
 */
export class WeightResolver {
  constructor(
    private readonly weights: StateDict,
    private readonly prefix: string,
  ) {}

  private lookup(candidates: readonly string[]): { name: string; data: Float32Array; shape: readonly number[] } | undefined {
    for (const name of candidates) {
      const t = this.weights.get(name);
      if (t !== undefined) return { name, data: t.data, shape: t.shape };
    }
    return undefined;
  }

  private check(name: string, data: Float32Array, shape: readonly number[], expected: readonly number[]): Float32Array {
    const same = shape.length === expected.length && shape.every((d, i) => d === expected[i]);
    if (!same) {
      throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `weight ${name} has shape [${shape.join(', ')}], expected [${expected.join(', ')}]`, {
        details: { tensor: name, shape: [...shape], expected: [...expected] },
      });
    }
    const n = expected.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `weight ${name} holds ${data.length} values but its shape [${shape.join(', ')}] needs ${n}`, {
        details: { tensor: name },
      });
    }
    return data;
  }

  private candidates(name: string, prefixed: boolean): string[] {
    return prefixed ? [this.prefix + name, name] : [name];
  }

  /** A tensor of the base model (`embeddings.*`, `encoder.*`): with or without the prefix. */
  base(name: string, shape: readonly number[]): Float32Array {
    return this.required([name], shape, true);
  }

  /**
   * The first present of several alternative names; throws ERR_MISSING_WEIGHT naming the first.
   * `prefixed` adds the family prefix as a first choice for each name.
   */
  required(names: readonly string[], shape: readonly number[], prefixed = false): Float32Array {
    const found = this.lookup(names.flatMap((n) => this.candidates(n, prefixed)));
    if (found === undefined) {
      const primary = prefixed ? this.prefix + names[0]! : names[0]!;
      throw new SparseEncoderError('ERR_MISSING_WEIGHT', `missing weight ${primary}`, { details: { tensor: primary, alternatives: names } });
    }
    return this.check(found.name, found.data, found.shape, shape);
  }

  optional(names: readonly string[], shape: readonly number[], prefixed = false): Float32Array | undefined {
    const found = this.lookup(names.flatMap((n) => this.candidates(n, prefixed)));
    return found === undefined ? undefined : this.check(found.name, found.data, found.shape, shape);
  }

  /** A bias that may be absent (treated as zeros, as the model was built with bias=False). */
  biasOrZeros(names: readonly string[], size: number, prefixed = false): Float32Array {
    return this.optional(names, [size], prefixed) ?? new Float32Array(size);
  }

  /**
   * LayerNorm scale and shift; old checkpoints name them `gamma`/`beta` (transformers renames on
   * load). `weightOnly`: LayerNorms built with bias=False (ModernBERT) have no shift: zeros.
   */
  layerNorm(base: string, size: number, prefixed = true, weightOnly = false): { gamma: Float32Array; beta: Float32Array } {
    const beta = [`${base}.bias`, `${base}.beta`];
    return {
      gamma: this.required([`${base}.weight`, `${base}.gamma`], [size], prefixed),
      beta: weightOnly ? this.biasOrZeros(beta, size, prefixed) : this.required(beta, [size], prefixed),
    };
  }
}

/** Row-major [rows, cols] → [cols, rows]; optionally only rows [r0, r1); into `out` when given. */
export function transpose2d(data: Float32Array, rows: number, cols: number, r0 = 0, r1 = rows, out?: Float32Array): Float32Array {
  const n = r1 - r0;
  out ??= new Float32Array(n * cols);
  // Blocked to stay cache-friendly on 768×30522 matrices.
  const B = 64;
  for (let rb = r0; rb < r1; rb += B) {
    const re = Math.min(rb + B, r1);
    for (let cb = 0; cb < cols; cb += B) {
      const ce = Math.min(cb + B, cols);
      for (let r = rb; r < re; r++) {
        const src = r * cols;
        const dstCol = r - r0;
        for (let c = cb; c < ce; c++) out[c * n + dstCol] = data[src + c]!;
      }
    }
  }
  return out;
}
