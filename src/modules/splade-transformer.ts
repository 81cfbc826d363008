import { SparseEncoderError } from '../errors.js';
import { parseTransformerConfig } from '../graph/config.js';
import type { TransformerConfig } from '../graph/config.js';
import { buildSpladeModel, GRAPH_NAMES, takesTokenTypeIds } from '../graph/transformer-graph.js';
import type { SpladeActivation, SpladePoolingMode } from '../graph/transformer-graph.js';
import { OnnxSession } from '../runtime/session.js';
import type { GraphOptimizationLevel } from '../runtime/session.js';
import { padSubBatch, planSubBatches, validateTokenBatch } from '../runtime/token-batches.js';
import type { TokenBatch } from '../runtime/token-batches.js';
import { emptyVector } from '../sparse/vector.js';
import type { SparseVector } from '../sparse/vector.js';
import type { StateDict } from '../weights/types.js';

export type { TokenBatch } from '../runtime/token-batches.js';
export type { SpladeActivation, SpladePoolingMode } from '../graph/transformer-graph.js';

/** Default cap on rows × padded length per onnxruntime run (MatMul is ~25% faster below ~2048 rows). */
export const DEFAULT_MAX_TOKENS_PER_RUN = 2048;

export interface TransformerRuntimeOptions {
  /** Intra-op threads. Default: `os.availableParallelism()`. */
  threads?: number;
  /** Cap on rows × padded length per run; bounds memory and keeps MatMuls fast. Default 2048. */
  maxTokensPerRun?: number;
  /** onnxruntime graph optimisation level. Default `'all'`. */
  graphOptimizationLevel?: GraphOptimizationLevel;
}

export interface SpladeTransformerOptions extends TransformerRuntimeOptions {
  /**
   * The MLM's config: a `TransformerConfig` from `parseTransformerConfig`, or the parsed
   * `config.json` object itself (BertForMaskedLM, DistilBertForMaskedLM, RobertaForMaskedLM, ...).
   */
  config: TransformerConfig | Record<string, unknown>;
  /** The MLM's weights; only read during `create()` (the session keeps its own copy). */
  weights: StateDict;
  /** SpladePooling `pooling_strategy`. Default `'max'`. */
  pooling?: SpladePoolingMode;
  /** SpladePooling `activation_function`. Default `'relu'`. */
  activation?: SpladeActivation;
}

/** Accepts an already parsed TransformerConfig or a raw config.json object. */
export function resolveTransformerConfig(config: TransformerConfig | Record<string, unknown>): TransformerConfig {
  const c = config as Partial<TransformerConfig>;
  if (typeof c.family === 'string' && typeof c.hiddenSize === 'number' && typeof c.vocabSize === 'number') return config as TransformerConfig;
  return parseTransformerConfig(config);
}

export function resolveMaxTokens(v: number | undefined): number {
  const m = v ?? DEFAULT_MAX_TOKENS_PER_RUN;
  if (!Number.isInteger(m) || m < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `maxTokensPerRun must be a positive integer, got ${m}`);
  return m;
}

/**
 * An MLM transformer followed by SpladePooling, computed in one onnxruntime session: token id
 * rows in, one sparse vector over the vocabulary per row out. The [batch, sequence, vocab]
 * logits stay inside the graph.
 */
export class SpladeTransformer {
  /** Output dimension (the vocabulary size). */
  readonly dim: number;
  /** Longest token row the model accepts (its position table). */
  readonly maxSequenceLength: number;
  /** Whether `encode()` uses `typeIds` (BERT); other families ignore them. */
  readonly usesTokenTypeIds: boolean;
  readonly config: TransformerConfig;

  private constructor(
    private readonly session: OnnxSession,
    config: TransformerConfig,
    private readonly maxTokens: number,
  ) {
    this.config = config;
    this.dim = config.vocabSize;
    this.maxSequenceLength = config.maxSequenceLength;
    this.usesTokenTypeIds = takesTokenTypeIds(config);
  }

  static async create(options: SpladeTransformerOptions): Promise<SpladeTransformer> {
    const config = resolveTransformerConfig(options.config);
    const maxTokens = resolveMaxTokens(options.maxTokensPerRun);
    const model = buildSpladeModel(config, options.weights, { pooling: options.pooling ?? 'max', activation: options.activation ?? 'relu' });
    const session = await OnnxSession.fromModel(model, {
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
      ...(options.graphOptimizationLevel !== undefined ? { graphOptimizationLevel: options.graphOptimizationLevel } : {}),
    });
    return new SpladeTransformer(session, config, maxTokens);
  }

  /**
   * Encodes token rows (in the caller's order). Rows are grouped longest first and each group is
   * padded to its own longest row. An empty row gives an empty vector.
   * Blocks the event loop while onnxruntime computes.
   */
  async encode(batch: TokenBatch): Promise<SparseVector[]> {
    validateTokenBatch(batch, {
      vocabSize: this.config.vocabSize,
      typeVocabSize: this.usesTokenTypeIds ? this.config.typeVocabSize : 0,
      maxSequenceLength: this.maxSequenceLength,
    });
    const V = this.dim;
    const out: SparseVector[] = batch.ids.map(() => emptyVector(V));
    for (const sub of planSubBatches(batch.ids.map((r) => r.length), this.maxTokens)) {
      const feeds = padSubBatch(batch, sub, this.config.padTokenId, this.usesTokenTypeIds);
      const result = await this.session.run({ ...feeds }, [GRAPH_NAMES.splade]);
      const dense = result[GRAPH_NAMES.splade]!.data as Float32Array;
      sub.rows.forEach((r, b) => {
        out[r] = sparsifyRow(dense, b * V, V);
      });
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

/** The non-zeros of dense[offset, offset + dim) as a SparseVector (indices ascending). */
function sparsifyRow(dense: Float32Array, offset: number, dim: number): SparseVector {
  let nnz = 0;
  for (let i = offset; i < offset + dim; i++) if (dense[i] !== 0) nnz++;
  const indices = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  let j = 0;
  for (let i = 0; i < dim; i++) {
    const v = dense[offset + i]!;
    if (v !== 0) {
      indices[j] = i;
      values[j++] = v;
    }
  }
  return { indices, values, dim };
}
