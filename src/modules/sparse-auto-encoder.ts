import { SparseEncoderError } from '../errors.js';
import { exists, joinPath } from '../files/model-fs.js';
import type { SparseVector } from '../sparse/vector.js';
import { readSafetensors } from '../weights/read-file.js';
import type { StateDict } from '../weights/types.js';
import { optionalBoolean, optionalNumber, readJsonObject } from './json.js';

/**
 * SparseAutoEncoder (CSR models): `latents = relu(topk_by_value((x - pre_bias) Wᵀ + latent_bias, k))`,
 * where the input is optionally standardised first (`normalize`: centre, divide by the unbiased std
 * + 1e-5). `W` is `encoder.weight`, saved as `decoder.linear.weight` (the two names share one tensor
 * and safetensors keeps one). Computed in float64 over float32 weights: the matrices are small.
 */
export class SparseAutoEncoder {
  private constructor(
    readonly inputDim: number,
    readonly hiddenDim: number,
    /** Non-zeros kept by the SAE's own top-k (also the model's default `maxActiveDims`). */
    readonly k: number,
    readonly normalize: boolean,
    private readonly weight: Float32Array,
    private readonly preBias: Float32Array,
    private readonly latentBias: Float32Array,
  ) {}

  static async load(folder: string): Promise<SparseAutoEncoder> {
    const configPath = joinPath(folder, 'config.json');
    const config = (await readJsonObject(configPath)) ?? {};
    const inputDim = optionalNumber(config, 'input_dim', configPath);
    const hiddenDim = optionalNumber(config, 'hidden_dim', configPath);
    const k = optionalNumber(config, 'k', configPath);
    for (const [key, v] of [['input_dim', inputDim], ['hidden_dim', hiddenDim], ['k', k]] as const) {
      if (v === undefined || !Number.isInteger(v) || v < 1) {
        throw new SparseEncoderError('ERR_INVALID_CONFIG', `${configPath}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`, {
          details: { path: configPath, key },
        });
      }
    }
    const weightsPath = joinPath(folder, 'model.safetensors');
    if (!(await exists(weightsPath))) {
      throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `SparseAutoEncoder weights not found: ${weightsPath}`, { details: { path: weightsPath } });
    }
    const dict = await readSafetensors(weightsPath);
    const w = tensor(dict, ['encoder.weight', 'decoder.linear.weight'], [hiddenDim!, inputDim!], weightsPath);
    const pre = tensor(dict, ['pre_bias'], [inputDim!], weightsPath);
    const lat = tensor(dict, ['latent_bias'], [hiddenDim!], weightsPath);
    return new SparseAutoEncoder(inputDim!, hiddenDim!, k!, optionalBoolean(config, 'normalize', configPath) ?? false, w, pre, lat);
  }

  /** Sparse latent code of one pooled embedding, keeping the top `k` latents (default: the SAE's k). */
  encode(input: Float32Array, k: number = this.k): SparseVector {
    const n = this.inputDim;
    const h = this.hiddenDim;
    if (input.length !== n) {
      throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `SparseAutoEncoder expects ${n} inputs, got ${input.length}`);
    }
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = input[i]!;
    if (this.normalize) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += x[i]!;
      mean /= n;
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (x[i]! - mean) ** 2;
      const std = Math.sqrt(ss / Math.max(1, n - 1));
      for (let i = 0; i < n; i++) x[i] = (x[i]! - mean) / (std + 1e-5);
    }
    for (let i = 0; i < n; i++) x[i] = x[i]! - this.preBias[i]!;
    const pre = new Float64Array(h);
    for (let j = 0; j < h; j++) {
      let s = this.latentBias[j]!;
      const row = j * n;
      for (let i = 0; i < n; i++) s += this.weight[row + i]! * x[i]!;
      pre[j] = s;
    }
    // top-k by value (not magnitude), then relu: fewer than k may stay non-zero.
    const order = Array.from({ length: h }, (_, j) => j).sort((a, b) => pre[b]! - pre[a]! || a - b);
    const keep = order.slice(0, Math.min(k, h)).filter((j) => Math.fround(pre[j]!) > 0).sort((a, b) => a - b);
    return { indices: Uint32Array.from(keep), values: Float32Array.from(keep, (j) => pre[j]!), dim: h };
  }
}

function tensor(dict: StateDict, names: readonly string[], shape: readonly number[], path: string): Float32Array {
  for (const name of names) {
    const t = dict.get(name);
    if (t === undefined) continue;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `${path}: tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`, {
        details: { path, tensor: name },
      });
    }
    return t.data;
  }
  throw new SparseEncoderError('ERR_MISSING_WEIGHT', `${path}: missing tensor "${names[0]}"`, { details: { path, tensor: names[0] } });
}
