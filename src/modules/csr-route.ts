import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { topKByMagnitude } from '../sparse/vector.js';
import { loadStateDict } from '../weights/load.js';
import { MeanPooledTransformer } from './dense-transformer.js';
import { loadOptionsOf, tokenizerEngineOf } from './splade-transformer.js';
import type { TransformerLoadOptions } from './splade-transformer.js';
import type { PoolingMode } from './pooling-config.js';
import type { SparseAutoEncoder } from './sparse-auto-encoder.js';
import { TransformerInput } from './transformer-input.js';
import { TransformerRoute } from './transformer-route.js';
import type { RouteEncodeOptions, SparseRoute } from './route.js';
import type { TokenizedBatch } from '../tokenizer/text-tokenizer.js';

/** onnxruntime threads and weight precision. Default: onnxruntime's choice of threads, fp32. */
export type CsrRouteOptions = TransformerLoadOptions;

/**
 * CSR (Contrastive Sparse Representation): Transformer + mean Pooling + SparseAutoEncoder.
 * The transformer runs in onnxruntime; the pooled embedding goes through the SAE in JavaScript.
 */
export class CsrRoute extends TransformerRoute implements SparseRoute {
  readonly kind = 'csr' as const;
  /** Mean pooling feeds a top-k autoencoder: a text's windows have no merge that gives its vector. */
  readonly windowMerge = undefined;

  private constructor(
    input: TransformerInput,
    private readonly transformer: MeanPooledTransformer,
    private readonly sae: SparseAutoEncoder,
  ) {
    super(input);
  }

  static async load(folder: string, pooling: readonly PoolingMode[], sae: SparseAutoEncoder, options: CsrRouteOptions = {}): Promise<CsrRoute> {
    if (pooling.length !== 1 || pooling[0] !== 'mean') {
      throw new SparseEncoderError('ERR_UNSUPPORTED_MODULE', `Pooling mode ${pooling.join('+')} before a SparseAutoEncoder is not supported (only mean)`, {
        details: { folder, pooling },
      });
    }
    const input = await TransformerInput.load(folder, options.compat, tokenizerEngineOf(options.backend));
    if (input.config.hiddenSize !== sae.inputDim) {
      throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `${folder}: transformer hidden size ${input.config.hiddenSize} does not match the SparseAutoEncoder input_dim ${sae.inputDim}`);
    }
    const weights = await loadStateDict(folder);
    const transformer = await MeanPooledTransformer.create({
      config: input.config,
      weights,
      ...loadOptionsOf(options),
    });
    return new CsrRoute(input, transformer, sae);
  }

  get dim(): number {
    return this.sae.hiddenDim;
  }

  get defaultMaxActiveDims(): number {
    return this.sae.k;
  }

  async encode(texts: readonly string[], options: RouteEncodeOptions = {}): Promise<SparseVector[]> {
    if (texts.length === 0) return [];
    return this.encodeTokens(await this.tokenizeForEncode(texts, options), options);
  }

  async encodeTokens(batch: TokenizedBatch, options: RouteEncodeOptions = {}): Promise<SparseVector[]> {
    if (batch.ids.length === 0) return [];
    const pooled = await this.transformer.encode(batch.typeIds === undefined ? { ids: batch.ids } : { ids: batch.ids, typeIds: batch.typeIds });
    // sentence-transformers passes max_active_dims into the SAE as its k, then prunes again.
    const k = options.maxActiveDims ?? this.sae.k;
    return pooled.map((x) => topKByMagnitude(this.sae.encode(x, k), k));
  }

  async dispose(): Promise<void> {
    await this.transformer.dispose();
  }
}
