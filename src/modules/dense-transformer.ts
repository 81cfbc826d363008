import type { TransformerConfig } from '../graph/config.js';
import { buildMeanPooledModel, GRAPH_NAMES } from '../graph/transformer-graph.js';
import type { TokenBatch } from '../runtime/token-batches.js';
import type { StateDict } from '../weights/types.js';
import { portableAttentionFor, TransformerModule, TransformerSession } from './splade-transformer.js';
import type { TransformerRuntimeOptions } from './splade-transformer.js';

export interface MeanPooledTransformerOptions extends TransformerRuntimeOptions {
  /** The encoder's config: a `TransformerConfig` or the parsed `config.json` object (BertModel, ...). */
  config: TransformerConfig | Record<string, unknown>;
  /** The encoder's weights (with or without the `bert.` prefix); only read during `create()`. */
  weights: StateDict;
}

/**
 * A bare transformer followed by sentence-transformers' mean pooling over attention-masked
 * tokens (the dense front of CSR models): token rows in, one [hidden] vector per row out
 * (`dim` = the hidden size).
 */
export class MeanPooledTransformer extends TransformerModule {
  private constructor(runner: TransformerSession) {
    super(runner, runner.config.hiddenSize);
  }

  static async create(options: MeanPooledTransformerOptions): Promise<MeanPooledTransformer> {
    return new MeanPooledTransformer(await TransformerSession.create(options.config, options, (config) => buildMeanPooledModel(config, options.weights, options.quantize, portableAttentionFor(options))));
  }

  /** Mean-pooled embeddings in the caller's order; an empty row gives zeros (as the 1e-9 clamp does). */
  async encode(batch: TokenBatch): Promise<Float32Array[]> {
    const H = this.dim;
    const out: Array<Float32Array | undefined> = [];
    await this.runner.run(batch, GRAPH_NAMES.meanPooled, (rows, data) => {
      rows.forEach((r, b) => {
        out[r] = data.slice(b * H, (b + 1) * H);
      });
    });
    return batch.ids.map((_, r) => out[r] ?? new Float32Array(H));
  }
}
