import type { TransformerConfig } from '../graph/config.js';
import { buildMeanPooledModel, GRAPH_NAMES, takesTokenTypeIds } from '../graph/transformer-graph.js';
import { OnnxSession } from '../runtime/session.js';
import { padSubBatch, planSubBatches, validateTokenBatch } from '../runtime/token-batches.js';
import type { TokenBatch } from '../runtime/token-batches.js';
import type { StateDict } from '../weights/types.js';
import { resolveMaxTokens, resolveTransformerConfig } from './splade-transformer.js';
import type { TransformerRuntimeOptions } from './splade-transformer.js';

export interface MeanPooledTransformerOptions extends TransformerRuntimeOptions {
  /** The encoder's config: a `TransformerConfig` or the parsed `config.json` object (BertModel, ...). */
  config: TransformerConfig | Record<string, unknown>;
  /** The encoder's weights (with or without the `bert.` prefix); only read during `create()`. */
  weights: StateDict;
}

/**
 * A bare transformer followed by sentence-transformers' mean pooling over attention-masked
 * tokens (the dense front of CSR models): token rows in, one [hidden] vector per row out.
 */
export class MeanPooledTransformer {
  /** Output dimension (the hidden size). */
  readonly dim: number;
  readonly maxSequenceLength: number;
  readonly usesTokenTypeIds: boolean;
  readonly config: TransformerConfig;

  private constructor(
    private readonly session: OnnxSession,
    config: TransformerConfig,
    private readonly maxTokens: number,
  ) {
    this.config = config;
    this.dim = config.hiddenSize;
    this.maxSequenceLength = config.maxSequenceLength;
    this.usesTokenTypeIds = takesTokenTypeIds(config);
  }

  static async create(options: MeanPooledTransformerOptions): Promise<MeanPooledTransformer> {
    const config = resolveTransformerConfig(options.config);
    const maxTokens = resolveMaxTokens(options.maxTokensPerRun);
    const model = buildMeanPooledModel(config, options.weights);
    const session = await OnnxSession.fromModel(model, {
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
      ...(options.graphOptimizationLevel !== undefined ? { graphOptimizationLevel: options.graphOptimizationLevel } : {}),
    });
    return new MeanPooledTransformer(session, config, maxTokens);
  }

  /** Mean-pooled embeddings in the caller's order; an empty row gives zeros (as the 1e-9 clamp does). */
  async encode(batch: TokenBatch): Promise<Float32Array[]> {
    validateTokenBatch(batch, {
      vocabSize: this.config.vocabSize,
      typeVocabSize: this.usesTokenTypeIds ? this.config.typeVocabSize : 0,
      maxSequenceLength: this.maxSequenceLength,
    });
    const H = this.dim;
    const out: Float32Array[] = batch.ids.map(() => new Float32Array(H));
    for (const sub of planSubBatches(batch.ids.map((r) => r.length), this.maxTokens)) {
      const feeds = padSubBatch(batch, sub, this.config.padTokenId, this.usesTokenTypeIds);
      const result = await this.session.run({ ...feeds }, [GRAPH_NAMES.meanPooled]);
      const data = result[GRAPH_NAMES.meanPooled]!.data as Float32Array;
      sub.rows.forEach((r, b) => {
        out[r] = data.slice(b * H, (b + 1) * H);
      });
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
