import { SparseEncoderError } from '../errors.js';
import { parseTransformerConfig } from '../graph/config.js';
import type { TransformerConfig } from '../graph/config.js';
import type { QuantizeOptions } from '../graph/quantize.js';
import { buildSpladeModel, GRAPH_NAMES, takesTokenTypeIds } from '../graph/transformer-graph.js';
import type { SpladeActivation, SpladePoolingMode } from '../graph/transformer-graph.js';
import { OnnxSession } from '../runtime/session.js';
import type { GraphOptimizationLevel, RuntimeBackend, TensorData } from '../runtime/session.js';
import type { TokenizerEngineKind } from '../tokenizer/text-tokenizer.js';
import { padSubBatch, planSubBatches, validateTokenBatch } from '../runtime/token-batches.js';
import type { TokenBatch } from '../runtime/token-batches.js';
import { emptyVector } from '../sparse/vector.js';
import type { SparseVector } from '../sparse/vector.js';
import type { StateDict } from '../weights/types.js';
import type { SentenceTransformersCompat } from './route.js';

export type { TokenBatch } from '../runtime/token-batches.js';
export type { SpladeActivation, SpladePoolingMode } from '../graph/transformer-graph.js';

/** Default cap on rows × padded length per onnxruntime run (MatMul is ~25% faster below ~2048 rows). */
export const DEFAULT_MAX_TOKENS_PER_RUN = 2048;

export interface TransformerRuntimeOptions {
  /** Which onnxruntime runs the graph: `native` (onnxruntime-node) or `wasm` (onnxruntime-web). Default `native`. */
  backend?: RuntimeBackend;
  /** Intra-op threads. Default: `os.availableParallelism()`. */
  threads?: number;
  /**
   * Whether onnxruntime's idle intra-op threads spin, waiting for the next operator. Spinning saves
   * a wake-up per operator when one model runs alone; when several models or processes share the
   * cores, each one's spinning threads take time from the others (BENCHMARKS.md, query latency).
   * Default true (onnxruntime's default).
   */
  spinning?: boolean;
  /** Cap on rows × padded length per run; bounds memory and keeps MatMuls fast. Default 2048. */
  maxTokensPerRun?: number;
  /** onnxruntime graph optimisation level. Default `'all'`. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Weight precision of the graph. Default `{ precision: 'fp32' }`. */
  quantize?: QuantizeOptions;
  /**
   * `fused`: com.microsoft Attention / MultiHeadAttention (fastest on CPU). `portable`: standard
   * ONNX ops (what WebGPU accepts). Default `portable` on the `webgpu` backend, else `fused`.
   */
  attention?: 'fused' | 'portable';
}

/** Whether a transformer's graph is built with portable attention (see `attention`). */
export function portableAttentionFor(options: Pick<TransformerRuntimeOptions, 'attention' | 'backend'>): boolean {
  return (options.attention ?? (options.backend === 'webgpu' ? 'portable' : 'fused')) === 'portable';
}

/** What a model loader passes down to each transformer module. */
export type TransformerLoadOptions = Pick<TransformerRuntimeOptions, 'threads' | 'spinning' | 'quantize' | 'backend'> & {
  /** Text preparation of which sentence-transformers version. Default `'6'`. */
  compat?: SentenceTransformersCompat;
};

/** `options` without its undefined fields (exactOptionalPropertyTypes). */
export function loadOptionsOf(options: TransformerLoadOptions): TransformerLoadOptions {
  return {
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.spinning === undefined ? {} : { spinning: options.spinning }),
    ...(options.quantize === undefined ? {} : { quantize: options.quantize }),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  };
}

/** The tokenizer engine that goes with a backend: the Rust bindings with onnxruntime-node, pure JavaScript with the wasm backend. */
export function tokenizerEngineOf(backend: RuntimeBackend | undefined): TokenizerEngineKind {
  return backend === 'wasm' || backend === 'webgpu' ? 'js' : 'native';
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
  /** Whether max pooling graphs carry the `explain` flag and `max_position` output (SpladeGraphOptions). Default true except on WebGPU. */
  explainOutput?: boolean;
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

/** A built graph not yet serialized (what `buildSpladeModel` / `buildMeanPooledModel` return). */
type TransformerModel = Parameters<typeof OnnxSession.fromModel>[0];

/**
 * What the SPLADE and mean-pooled transformers share: one onnxruntime session over a graph built
 * from a transformer config, and the loop that validates token rows, groups them longest first
 * into runs of at most `maxTokensPerRun` padded tokens and runs them.
 */
export class TransformerSession {
  /** Longest token row the model accepts (its position table). */
  readonly maxSequenceLength: number;
  /** Whether the graph takes `typeIds` (BERT); other families ignore them. */
  readonly usesTokenTypeIds: boolean;

  private constructor(
    private readonly session: OnnxSession,
    readonly config: TransformerConfig,
    private readonly maxTokens: number,
  ) {
    this.maxSequenceLength = config.maxSequenceLength;
    this.usesTokenTypeIds = takesTokenTypeIds(config);
  }

  /** Builds the graph with `build(config)` and loads it; `options` as the transformers' own. */
  static async create(
    config: TransformerConfig | Record<string, unknown>,
    options: TransformerRuntimeOptions,
    build: (config: TransformerConfig) => TransformerModel,
  ): Promise<TransformerSession> {
    const resolved = resolveTransformerConfig(config);
    const maxTokens = resolveMaxTokens(options.maxTokensPerRun);
    const session = await OnnxSession.fromModel(build(resolved), {
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
      ...(options.spinning !== undefined ? { allowSpinning: options.spinning } : {}),
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
      ...(options.graphOptimizationLevel !== undefined ? { graphOptimizationLevel: options.graphOptimizationLevel } : {}),
    });
    return new TransformerSession(session, resolved, maxTokens);
  }

  /**
   * Validates `batch` (ERR_INVALID_INPUT), runs every non-empty row and hands each run's float32 `output` (one row per entry
   * of `rows`, indices into `batch.ids`) to `take`. Blocks the event loop while onnxruntime computes.
   */
  async run(
    batch: TokenBatch,
    output: string,
    take: (rows: readonly number[], data: Float32Array, extra: Readonly<Record<string, TensorData>>) => void,
    options: { flags?: Readonly<Record<string, boolean>>; extraOutputs?: readonly string[] } = {},
  ): Promise<void> {
    validateTokenBatch(batch, {
      vocabSize: this.config.vocabSize,
      typeVocabSize: this.usesTokenTypeIds ? this.config.typeVocabSize : 0,
      maxSequenceLength: this.maxSequenceLength,
    });
    for (const sub of planSubBatches(batch.ids.map((r) => r.length), this.maxTokens)) {
      const feeds = padSubBatch(batch, sub, this.config.padTokenId, this.usesTokenTypeIds);
      const result = await this.session.run({ ...feeds }, [output, ...(options.extraOutputs ?? [])], options.flags);
      const data = result[output]!.data as Float32Array;
      // Never let NaN or ±Inf out (they are no JSON and poison an index); finite weights should not produce them.
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v - v !== 0) throw new SparseEncoderError('ERR_RUNTIME', `the model produced a non-finite value (${v}) for input row ${sub.rows[Math.floor(i / (data.length / sub.rows.length))]}`);
      }
      take(sub.rows, data, result);
    }
  }

  /** Whether the graph has this output (`max_position` exists only in max-pooling graphs built with it). */
  hasOutput(name: string): boolean {
    return this.session.outputNames.includes(name);
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

/** The fields and the release the transformer modules share; `dim` is each one's output size. */
export abstract class TransformerModule {
  /** Longest token row the model accepts (its position table). */
  readonly maxSequenceLength: number;
  /** Whether `encode()` uses `typeIds` (BERT); other families ignore them. */
  readonly usesTokenTypeIds: boolean;
  readonly config: TransformerConfig;

  protected constructor(
    protected readonly runner: TransformerSession,
    /** Output dimension. */
    readonly dim: number,
  ) {
    this.config = runner.config;
    this.maxSequenceLength = runner.maxSequenceLength;
    this.usesTokenTypeIds = runner.usesTokenTypeIds;
  }

  async dispose(): Promise<void> {
    await this.runner.dispose();
  }
}

/**
 * An MLM transformer followed by SpladePooling, computed in one onnxruntime session: token id
 * rows in, one sparse vector over the vocabulary per row out (`dim` = the vocabulary size). The
 * [batch, sequence, vocab] logits stay inside the graph.
 */
export class SpladeTransformer extends TransformerModule {
  private constructor(runner: TransformerSession) {
    super(runner, runner.config.vocabSize);
  }

  static async create(options: SpladeTransformerOptions): Promise<SpladeTransformer> {
    const graph = {
      pooling: options.pooling ?? 'max',
      activation: options.activation ?? 'relu',
      ...(options.quantize === undefined ? {} : { quantize: options.quantize }),
      portableAttention: portableAttentionFor(options),
      ...(options.explainOutput === undefined ? {} : { explainOutput: options.explainOutput }),
    } as const;
    return new SpladeTransformer(await TransformerSession.create(options.config, options, (config) => buildSpladeModel(config, options.weights, graph)));
  }

  /**
   * Encodes token rows (in the caller's order). Rows are grouped longest first and each group is
   * padded to its own longest row. An empty row gives an empty vector.
   * Blocks the event loop while onnxruntime computes.
   */
  async encode(batch: TokenBatch): Promise<SparseVector[]> {
    const V = this.dim;
    const out: Array<SparseVector | undefined> = [];
    await this.runner.run(batch, GRAPH_NAMES.splade, (rows, dense) => {
      rows.forEach((r, b) => {
        out[r] = sparsifyRow(dense, b * V, V);
      });
    });
    return batch.ids.map((_, r) => out[r] ?? emptyVector(V));
  }

  /** Whether {@link explain} can say which position produced each term (max pooling graphs). */
  get explains(): boolean {
    return this.runner.hasOutput(GRAPH_NAMES.maxPosition);
  }

  /**
   * As {@link encode}, and for every active term the token position (into the row) whose logit won
   * the max: the graph's `max_position` output, computed in the same run only here.
   */
  async explain(batch: TokenBatch): Promise<Array<{ vector: SparseVector; positions: Uint32Array }>> {
    if (!this.explains) throw new SparseEncoderError('ERR_NOT_SUPPORTED', 'this model does not say which token produced a term (sum pooling, or a WebGPU graph)');
    const V = this.dim;
    const out: Array<{ vector: SparseVector; positions: Uint32Array } | undefined> = [];
    await this.runner.run(
      batch,
      GRAPH_NAMES.splade,
      (rows, dense, extra) => {
        const pos = extra[GRAPH_NAMES.maxPosition]!.data as BigInt64Array;
        rows.forEach((r, b) => {
          const vector = sparsifyRow(dense, b * V, V);
          out[r] = { vector, positions: Uint32Array.from(vector.indices, (i) => Number(pos[b * V + i]!)) };
        });
      },
      { flags: { [GRAPH_NAMES.explain]: true }, extraOutputs: [GRAPH_NAMES.maxPosition] },
    );
    return batch.ids.map((_, r) => out[r] ?? { vector: emptyVector(V), positions: new Uint32Array(0) });
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
