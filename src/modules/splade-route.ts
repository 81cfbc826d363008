import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { emptyVector, topKByMagnitude } from '../sparse/vector.js';
import { loadStateDict } from '../weights/load.js';
import { loadOptionsOf, SpladeTransformer, tokenizerEngineOf } from './splade-transformer.js';
import type { TransformerLoadOptions } from './splade-transformer.js';
import type { SpladePoolingConfig } from './splade-pooling.js';
import { architectureOf } from './transformer-config.js';
import { TransformerInput } from './transformer-input.js';
import { TransformerRoute } from './transformer-route.js';
import type { RouteEncodeOptions, SparseRoute } from './route.js';
import type { TokenizedBatch } from '../tokenizer/text-tokenizer.js';

/** onnxruntime threads and weight precision. Default: onnxruntime's choice of threads, fp32. */
export type SpladeRouteOptions = TransformerLoadOptions;

/**
 * MLMTransformer followed by SpladePooling, run as one fused graph: the vocabulary-sized logits
 * stay inside onnxruntime and only the pooled sparse vector reaches JavaScript.
 */
export class SpladeRoute extends TransformerRoute implements SparseRoute {
  readonly kind = 'splade' as const;
  readonly defaultMaxActiveDims = undefined;

  private constructor(
    input: TransformerInput,
    private readonly transformer: SpladeTransformer,
    readonly windowMerge: 'max' | 'sum',
  ) {
    super(input);
  }

  static async load(folder: string, pooling: SpladePoolingConfig, options: SpladeRouteOptions = {}): Promise<SpladeRoute> {
    const input = await TransformerInput.load(folder, options.compat, tokenizerEngineOf(options.backend));
    const architecture = architectureOf(input.module.modelConfig);
    if (architecture !== undefined && !architecture.endsWith('ForMaskedLM')) {
      // transformers would attach a freshly initialised MLM head: the output would be noise.
      throw new SparseEncoderError(
        'ERR_UNTRAINED_HEAD',
        `${folder}: a SPLADE module needs a masked-LM checkpoint, but config.json names ${architecture} (its MLM head would be randomly initialised)`,
        { details: { folder, architecture } },
      );
    }
    if (pooling.dimension !== undefined && pooling.dimension !== input.config.vocabSize) {
      throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `${folder}: SpladePooling says dimension ${pooling.dimension} but the MLM's vocabulary has ${input.config.vocabSize} entries`, {
        details: { folder },
      });
    }
    const weights = await loadStateDict(folder);
    const transformer = await SpladeTransformer.create({
      config: input.module.modelConfig,
      weights,
      pooling: pooling.pooling,
      activation: pooling.activation,
      ...loadOptionsOf(options),
    });
    return new SpladeRoute(input, transformer, pooling.pooling);
  }

  get dim(): number {
    return this.input.config.vocabSize;
  }

  explainTokens(batch: TokenizedBatch): Promise<Array<{ vector: SparseVector; positions: Uint32Array }>> {
    if (!this.transformer.explains) throw new SparseEncoderError('ERR_NOT_SUPPORTED', 'this model sums its tokens (or runs on WebGPU): no one token produced a term');
    return this.transformer.explain(batch.typeIds === undefined ? { ids: batch.ids } : { ids: batch.ids, typeIds: batch.typeIds });
  }

  async encode(texts: readonly string[], options: RouteEncodeOptions = {}): Promise<SparseVector[]> {
    if (texts.length === 0) return [];
    return this.encodeTokens(await this.tokenizeForEncode(texts, options), options);
  }

  async encodeTokens(batch: TokenizedBatch, options: RouteEncodeOptions = {}): Promise<SparseVector[]> {
    // A tokenizer without special tokens can produce an empty row: nothing to pool.
    const live = batch.ids.map((row, i) => (row.length > 0 ? i : -1)).filter((i) => i >= 0);
    const out: SparseVector[] = batch.ids.map(() => emptyVector(this.dim));
    if (live.length > 0) {
      const ids = live.map((i) => batch.ids[i]!);
      const typeIds = batch.typeIds === undefined ? undefined : live.map((i) => batch.typeIds![i]!);
      const vectors = await this.transformer.encode(typeIds === undefined ? { ids } : { ids, typeIds });
      live.forEach((i, j) => {
        out[i] = vectors[j]!;
      });
    }
    const k = options.maxActiveDims;
    return k === undefined ? out : out.map((v) => topKByMagnitude(v, k));
  }

  async dispose(): Promise<void> {
    await this.transformer.dispose();
  }
}
