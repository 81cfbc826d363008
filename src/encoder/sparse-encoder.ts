import { SparseEncoderError } from '../errors.js';
import type { QuantizeOptions } from '../graph/quantize.js';
import { checkBackend, defaultBackend, webgpuUnavailable, type RuntimeBackend } from '../runtime/session.js';
import { mountFiles } from '../files/model-fs.js';
import type { ResolvedModel, ResolveProgressEvent } from '../hub/types.js';
// The platform seam (package.json imports): the Hub client and its cache under Node, a refusal elsewhere (load from files there).
import { resolveModel } from '#hub';
import { loadSparseModel, type SparseModel } from '../modules/load-model.js';
import { inspectRoute, type RouteEncodeOptions, type SentenceTransformersCompat, type SparseRoute, type TokenizedText } from '../modules/route.js';
import type { SparseVector } from '../sparse/vector.js';
import { cosine, dot, intersection as intersect, checkMaxActiveDims, mergeVectors, topEntries, topKByMagnitude } from '../sparse/vector.js';
import type { TokenizedBatch, TokenWindows, TruncationDirection } from '../tokenizer/text-tokenizer.js';
import { readEncoderConfig, type EncoderConfig, type SimilarityFnName } from './model-config.js';

export type { SimilarityFnName } from './model-config.js';
export type { SentenceTransformersCompat, TokenizedText } from '../modules/route.js';
export type { TokenWindows } from '../tokenizer/text-tokenizer.js';
export type { RuntimeBackend } from '../runtime/session.js';

/** Which branch of the model a call uses; for a model without a Router all three are the same. */
export type EncodeTask = 'query' | 'document';

/** Options of {@link SparseEncoder.fromPretrained}. */
export interface SparseEncoderLoadOptions {
  /** Hub branch, tag or commit. Default `'main'`. Ignored for local folders. */
  revision?: string;
  /** Hub token for gated/private repos. Default: env `HF_TOKEN`, else none. */
  token?: string;
  /** huggingface_hub cache folder. Default: env `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Hub base URL. Default: env `HF_ENDPOINT`, else `https://huggingface.co`. */
  endpoint?: string;
  /** Resolve from the cache only, never the network. Default: env `HF_HUB_OFFLINE`, else false. */
  localFilesOnly?: boolean;
  /** Download progress events, and `backend-fallback` when WebGPU is missing. Default: none. */
  onProgress?: (event: LoadProgressEvent) => void;
  /** onnxruntime intra-op threads per session. Default: the number of CPUs. */
  threads?: number;
  /**
   * Whether onnxruntime's idle threads spin between operators. `false` suits several models or
   * processes sharing the cores (a query and a document model, server workers): their spinning
   * threads otherwise slow each other (BENCHMARKS.md, query latency). Default true.
   */
  spinning?: boolean;
  /**
   * Default for every encode call's `maxActiveDims` (a load-time setting, never saved, as in
   * sentence-transformers). Default: the SparseAutoEncoder's `k` for CSR models, else no limit.
   */
  maxActiveDims?: number;
  /**
   * `'int8'`: quantize every linear layer's weights to int8 at load (per output channel,
   * symmetric) and run integer matmuls, with activations quantized per run; embeddings,
   * LayerNorm, softmax, GELU and pooling stay float32. Faster on CPU and about a quarter of the
   * weight memory, at a small, measured fidelity cost (README, BENCHMARKS.md). The static query
   * route of inference-free models has no matmul and is unaffected. Default `'none'` (fp32).
   */
  quantize?: 'none' | 'int8';
  /**
   * With `quantize: 'int8'`: whether the MLM head's vocabulary projection is int8 too. `false`
   * keeps that one matrix float32 (slower, slightly closer to fp32). Default true.
   */
  int8VocabProjection?: boolean;
  /**
   * Router models: load only these routes, e.g. `['query']` for an inference-free model's query
   * side alone (a tokenizer and a weight table: no transformer, no onnxruntime session). Tasks
   * whose route is not loaded fall back to the first loaded one. Default: all routes.
   */
  routes?: readonly string[];
  /**
   * Reproduce this sentence-transformers major version where 5.x and 6.x encode differently
   * (ORACLE.md, "What 6.0.1 does differently"). `'6'`: the text reaches the tokenizer verbatim
   * (a byte-level BPE tokenizer such as RoBERTa's or ModernBERT's turns leading/trailing spaces
   * into tokens), and a Router model's `maxSeqLength` is its routes' largest. `'5'`: the text is
   * stripped first (Python `str.strip()`), `maxSeqLength` is the first route's, and with
   * `maxActiveDims` a static query route tokenizes as the default (document) route does, [CLS]
   * and [SEP] included (5.x's Router quirk). Either way an empty query on a static route gives an
   * all-zero vector (5.x raised). Default `'6'`.
   */
  compat?: SentenceTransformersCompat;
  /**
   * `'native'`: onnxruntime-node and the Rust `tokenizers` bindings (Node's fastest). `'wasm'`:
   * onnxruntime-web's WebAssembly build and the pure-JavaScript tokenizer, what browsers, Deno and
   * Bun run, and Node where native binaries cannot load; the same vectors within float tolerance
   * (the parity suite runs every fixture on both), slower, one thread unless the first session
   * asks for more, weights up to 3 GiB, and `tokens()` (byte offsets) unavailable. `'webgpu'`:
   * onnxruntime-web's WebGPU execution provider (what transformers.js calls `device: 'webgpu'`),
   * with attention built from standard ONNX ops, which that provider accepts; operators it lacks
   * (int64 shape arithmetic, int8 matmuls) run on WebAssembly within the same session; where
   * WebGPU is missing the load falls back to `'wasm'` with a `backend-fallback` event. Needs the
   * `onnxruntime-web` package. Default `'native'` under Node (Deno and Bun included), `'wasm'` elsewhere.
   */
  backend?: RuntimeBackend;
}

/**
 * What a load reports: the download's progress ({@link ResolveProgressEvent}), and
 * `backend-fallback` when `backend: 'webgpu'` was asked where WebGPU is missing (no
 * `navigator.gpu`, no adapter): the model then runs on `wasm`, and `reason` says why.
 */
export type LoadProgressEvent = ResolveProgressEvent | { type: 'backend-fallback'; requested: 'webgpu'; backend: 'wasm'; reason: string };

/** Progress of an encode call, as data: `done` of `total` texts are encoded. */
export interface EncodeProgressEvent {
  type: 'encode-progress';
  done: number;
  total: number;
}

/** Options of {@link SparseEncoder.encode}, {@link SparseEncoder.encodeQuery}, {@link SparseEncoder.encodeDocument}. */
export interface EncodeOptions {
  /**
   * A literal prompt prepended to every text; takes precedence over `promptName`. Default: none.
   */
  prompt?: string;
  /**
   * Name of a saved prompt (`config_sentence_transformers.json`). Default: `query` for
   * encodeQuery, the first of `document`/`passage`/`corpus` for encodeDocument, the model's
   * `default_prompt_name` for encode.
   */
  promptName?: string;
  /** Texts per model run. Default 32. */
  batchSize?: number;
  /**
   * Keep only the `maxActiveDims` largest |values| of each vector. Default: the load option, else
   * the SparseAutoEncoder's `k` for CSR models, else no limit.
   */
  maxActiveDims?: number;
  /** Called after each batch. Default: none. */
  onProgress?: (event: EncodeProgressEvent) => void;
  /**
   * `false`: refuse (ERR_INPUT_TOO_LONG) any text longer than the model's `maxSeqLength` tokens
   * instead of truncating it, as text-embeddings-inference does with `truncate: false`. Default
   * true (sentence-transformers truncates).
   */
  truncate?: boolean;
  /**
   * Most padded tokens (texts × longest text) per model run. Texts are then grouped by their token
   * counts, longest first, so a run holds many short texts or few long ones and pads little.
   * Default: none (runs of `batchSize` texts, grouped by character length as sentence-transformers does).
   */
  maxBatchTokens?: number;
  /** Called after each model run with its size in texts, real tokens and padded tokens. Default: none. */
  onBatch?: (batch: BatchStats) => void;
  /**
   * Texts longer than the model's `maxSeqLength` tokens: `'truncate'` cuts them there (what
   * sentence-transformers does); `'window'` cuts the text's tokens into windows of `windowTokens`
   * (special tokens included), encodes each window as the model encodes a text of exactly those
   * tokens, and merges the window vectors by the pooling's own rule: elementwise max for max
   * pooling (and a static route's presence vectors), sum for sum pooling (windows must then not
   * overlap). CSR models refuse it. A text that fits is encoded exactly as with `'truncate'`.
   * `truncate: false` has nothing to refuse then. Default `'truncate'`.
   */
  longDocuments?: LongDocuments;
  /**
   * Which end of a text over `maxSeqLength` tokens truncation cuts off: `'right'` (its end, as
   * sentence-transformers does) or `'left'` (its start, keeping the last tokens; TEI's
   * `truncation_direction: "left"`). Default `'right'`.
   */
  truncationDirection?: TruncationDirection;
  /**
   * `false`: the tokenizer adds no special tokens ([CLS], [SEP]) around the text, as TEI encodes
   * its token-id inputs (decoded back to text, special tokens included in it). Default true.
   */
  addSpecialTokens?: boolean;
  /** With `longDocuments: 'window'`: tokens per window, special tokens included. Default: `maxSeqLength`. */
  windowTokens?: number;
  /**
   * With `longDocuments: 'window'`: tokens shared by consecutive windows (Hugging Face's overflow
   * `stride`); must be 0 for sum pooling. Default 0.
   */
  stride?: number;
}

/** What {@link EncodeOptions.longDocuments} accepts. */
export type LongDocuments = 'truncate' | 'window';

/** The window settings of {@link SparseEncoder.tokenWindows}. */
export interface WindowOptions {
  task?: EncodeTask;
  prompt?: string;
  promptName?: string;
  /** Tokens per window, special tokens included. Default: the route's `maxSeqLength`. */
  windowTokens?: number;
  /** Tokens shared by consecutive windows. Default 0. */
  stride?: number;
}

/** One model run: how many texts, their tokens, and the tokens after padding to the longest. */
export interface BatchStats {
  texts: number;
  tokens: number;
  paddedTokens: number;
}

/** Options of {@link SparseEncoder.encodeStream}. */
export interface EncodeStreamOptions extends EncodeOptions {
  /** Which branch to use: `query`, `document`, or undefined for plain encode. Default: undefined. */
  task?: EncodeTask;
  /** Texts read ahead and encoded together (sorted by length inside the chunk). Default 1024. */
  chunkSize?: number;
}

/** Sparsity statistics of a set of vectors. */
export interface SparsityStats {
  /** Mean number of non-zeros per vector. */
  activeDims: number;
  minActiveDims: number;
  maxActiveDims: number;
  /** 1 - activeDims / dim. */
  sparsityRatio: number;
  count: number;
}

/** Where the model came from and what it is, for display. */
export interface ModelInfo {
  /** Local folder holding the files. */
  folder: string;
  /** `memory`: {@link SparseEncoder.fromFiles}; `url`: fetched from a URL prefix (web). */
  source: 'local' | 'cache' | 'hub' | 'url' | 'memory';
  repoId?: string;
  commit?: string;
  /** The module pipeline, e.g. `MLMTransformer → SpladePooling`. */
  modules: string;
  /** Route names (`default` for a model without a Router). */
  routes: string[];
  defaultRoute: string;
  /** What encodes queries: `static` for inference-free models (a table lookup, no transformer run). */
  queryKind: 'splade' | 'static' | 'csr';
  /**
   * Weights of the transformer graphs: `fp32`, `int8`, or `int8+fp32-vocab` (int8 with a float32
   * vocabulary projection). Models without a transformer (static embeddings alone) report `fp32`.
   */
  precision: Precision;
  /** Which onnxruntime and tokenizer run the model (the `backend` load option). */
  backend: RuntimeBackend;
}

/** What `modelInfo.precision` reports. */
export type Precision = 'fp32' | 'int8' | 'int8+fp32-vocab';

type InputText = string | readonly string[];

const DOCUMENT_PROMPT_NAMES = ['document', 'passage', 'corpus'] as const;

/**
 * A sentence-transformers SparseEncoder (SPLADE, inference-free SPLADE, CSR) running on onnxruntime.
 *
 * Create with {@link SparseEncoder.fromPretrained}; release the native sessions with {@link dispose}.
 *
 * Behaves as sentence-transformers 6.x by default, as 5.x with `compat: '5'` (see the load
 * option). One deliberate difference from 5.x remains: an empty query on an inference-free
 * (Router) model gives an all-zero vector (as 6.x does, and 5.x inside a larger batch), where
 * 5.x alone raises.
 */
export class SparseEncoder {
  private disposed = false;

  private constructor(
    private readonly model: SparseModel,
    private readonly config: EncoderConfig,
    private readonly info: ModelInfo,
    private readonly defaultMaxActiveDims: number | undefined,
    private readonly compat: SentenceTransformersCompat,
  ) {}

  /**
   * Loads a model from a local folder or a Hub id (downloaded into huggingface_hub's cache). In
   * browsers and workers (the `sparse-encoder/web` entry): a Hub id, fetched into memory and kept
   * in the Cache API (reused offline and when the Hub is down), or a URL prefix where the model's
   * files are served (`https://host/models/splade/`, `/models/splade/`).
   * Throws SparseEncoderError: ERR_MODEL_NOT_FOUND, ERR_UNSUPPORTED_MODULE, ERR_UNTRAINED_HEAD,
   * ERR_UNSUPPORTED_ARCHITECTURE, ERR_FILE_NOT_FOUND, ERR_INVALID_CONFIG, ...
   */
  static async fromPretrained(idOrPath: string, options: SparseEncoderLoadOptions = {}): Promise<SparseEncoder> {
    SparseEncoder.checkLoadOptions(options);
    const resolved = await resolveModel(idOrPath, {
      ...(options.revision !== undefined ? { revision: options.revision } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.localFilesOnly !== undefined ? { localFilesOnly: options.localFilesOnly } : {}),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    });
    try {
      return await SparseEncoder.load(resolved, options);
    } finally {
      resolved.release?.();
    }
  }

  /**
   * Loads a model from its files in memory: `{ 'modules.json': bytes | text, '1_SpladePooling/config.json': ..., 'model.safetensors': bytes, ... }`
   * (paths relative to the model folder, as the Hub repo lays them out): what a page fetched, a
   * dropped folder, a worker's bundle. Every check of a folder load applies (sizes, JSON, weights,
   * hostile configs); the files are let go once the model is built. Runs anywhere with
   * `backend: 'wasm'`. `modelInfo.source` is `'memory'`.
   */
  static async fromFiles(files: ModelFileSource, options: SparseEncoderLoadOptions = {}): Promise<SparseEncoder> {
    SparseEncoder.checkLoadOptions(options);
    if (files === null || typeof files !== 'object') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'files must map paths to bytes or text, or be File objects');
    const mount = mountFiles(await fileEntries(files));
    try {
      return await SparseEncoder.load({ folder: mount.root, source: 'memory' }, options);
    } finally {
      mount.release();
    }
  }

  private static checkLoadOptions(options: SparseEncoderLoadOptions): void {
    if (options.maxActiveDims !== undefined) checkMaxActiveDims(options.maxActiveDims);
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `threads must be a positive integer, got ${options.threads}`);
    }
    if (options.spinning !== undefined && typeof options.spinning !== 'boolean') {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `spinning must be true or false, got ${JSON.stringify(options.spinning)}`);
    }
    checkBackend(options.backend ?? defaultBackend);
    const compat = options.compat ?? '6';
    if (compat !== '5' && compat !== '6') {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `compat must be "5" or "6", got ${JSON.stringify(compat)}`);
    }
  }

  /** The model in `resolved.folder` (on disk, or `mem://` files), with checked `options`. */
  private static async load(resolved: Pick<ResolvedModel, 'folder' | 'repoId' | 'commit'> & { source: ModelInfo['source'] }, options: SparseEncoderLoadOptions): Promise<SparseEncoder> {
    let backend = options.backend ?? defaultBackend;
    if (backend === 'webgpu') {
      const reason = await webgpuUnavailable();
      if (reason !== undefined) {
        backend = 'wasm';
        options.onProgress?.({ type: 'backend-fallback', requested: 'webgpu', backend, reason });
      }
    }
    const compat = options.compat ?? '6';
    const config = await readEncoderConfig(resolved.folder);
    const quantize = quantizeOptionsOf(options);
    if (options.routes !== undefined && (!Array.isArray(options.routes) || options.routes.length === 0 || options.routes.some((r) => typeof r !== 'string'))) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'routes must be a non-empty array of route names');
    }
    const model = await loadSparseModel(resolved.folder, {
      ...(options.routes === undefined ? {} : { routes: options.routes }),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.spinning === undefined ? {} : { spinning: options.spinning }),
      ...(quantize === undefined ? {} : { quantize }),
      compat,
      backend,
    });
    const info: ModelInfo = {
      folder: resolved.folder,
      source: resolved.source,
      ...(resolved.repoId !== undefined ? { repoId: resolved.repoId } : {}),
      ...(resolved.commit !== undefined ? { commit: resolved.commit } : {}),
      modules: model.description,
      routes: [...model.routes.keys()],
      defaultRoute: model.defaultRoute,
      queryKind: (model.routes.get('query') ?? model.routes.get(model.defaultRoute)!).kind,
      precision: quantize === undefined ? 'fp32' : quantize.vocabProjection === false ? 'int8+fp32-vocab' : 'int8',
      backend,
    };
    return new SparseEncoder(model, config, info, options.maxActiveDims, compat);
  }

  /** Output dimension (vocabulary size, or the SAE's hidden size for CSR). */
  get dim(): number {
    return this.route(undefined).dim;
  }

  /**
   * Truncation length in tokens, special tokens included. For a Router, as sentence-transformers
   * reports it: 6.x the largest of its routes', 5.x the first route's.
   */
  get maxSeqLength(): number | undefined {
    const lengths = [...this.model.routes.values()].map((r) => r.maxSeqLength).filter((l): l is number => l !== undefined);
    if (lengths.length === 0) return undefined;
    return this.compat === '5' ? lengths[0] : Math.max(...lengths);
  }

  /** Which sentence-transformers version's behaviour this model reproduces (the `compat` load option). */
  get compatibility(): SentenceTransformersCompat {
    return this.compat;
  }

  get similarityFnName(): SimilarityFnName {
    return this.config.similarityFnName;
  }

  /** Saved prompts merged over `{query: "", document: ""}`. */
  get prompts(): Readonly<Record<string, string>> {
    return { ...this.config.prompts };
  }

  get defaultPromptName(): string | undefined {
    return this.config.defaultPromptName;
  }

  /** True when queries and documents take different branches (a Router, e.g. inference-free SPLADE). */
  get isRouter(): boolean {
    return this.model.isRouter;
  }

  get modelInfo(): ModelInfo {
    return { ...this.info, routes: [...this.info.routes] };
  }

  /** Encodes with the model's default prompt and default route. A string gives one vector, an array one per text. */
  encode(text: string, options?: EncodeOptions): Promise<SparseVector>;
  encode(texts: readonly string[], options?: EncodeOptions): Promise<SparseVector[]>;
  encode(input: InputText, options: EncodeOptions = {}): Promise<SparseVector | SparseVector[]> {
    return this.encodeTask(input, undefined, options);
  }

  /** Encodes queries: prompt `query`, route `query`. */
  encodeQuery(text: string, options?: EncodeOptions): Promise<SparseVector>;
  encodeQuery(texts: readonly string[], options?: EncodeOptions): Promise<SparseVector[]>;
  encodeQuery(input: InputText, options: EncodeOptions = {}): Promise<SparseVector | SparseVector[]> {
    return this.encodeTask(input, 'query', options);
  }

  /** Encodes documents: the first of prompts `document`/`passage`/`corpus`, route `document`. */
  encodeDocument(text: string, options?: EncodeOptions): Promise<SparseVector>;
  encodeDocument(texts: readonly string[], options?: EncodeOptions): Promise<SparseVector[]>;
  encodeDocument(input: InputText, options: EncodeOptions = {}): Promise<SparseVector | SparseVector[]> {
    return this.encodeTask(input, 'document', options);
  }

  /**
   * Encodes a (possibly huge) iterable or async iterable of texts, reading `chunkSize` texts at a
   * time and yielding their vectors in input order.
   */
  async *encodeStream(texts: Iterable<string> | AsyncIterable<string>, options: EncodeStreamOptions = {}): AsyncGenerator<SparseVector> {
    const chunkSize = options.chunkSize ?? 1024;
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `chunkSize must be a positive integer, got ${chunkSize}`);
    }
    const { task, chunkSize: _c, ...encodeOptions } = options;
    let chunk: string[] = [];
    let offset = 0;
    const flush = async (): Promise<SparseVector[]> => {
      const out = await this.run(chunk, task, encodeOptions, offset);
      offset += chunk.length;
      chunk = [];
      return out;
    };
    for await (const text of texts as AsyncIterable<string>) {
      chunk.push(text);
      if (chunk.length >= chunkSize) yield* await flush();
    }
    if (chunk.length > 0) yield* await flush();
  }

  /** What the tokenizer sees for `text` in this task (after prompt, strip and truncation). */
  async tokenize(text: string, options: { task?: EncodeTask; prompt?: string; promptName?: string } = {}): Promise<TokenizedText> {
    this.checkAlive();
    checkTexts([text]);
    const prompt = this.resolvePrompt(options.task, options);
    return inspectRoute(this.route(options.task), prompt + text);
  }

  /**
   * Every token of `text` as the model's tokenizer produces it for `task` (prompt included):
   * id, vocabulary string, special or not, and its UTF-8 byte span in the tokenized string.
   */
  async tokens(text: string, options: { task?: EncodeTask; promptName?: string; addSpecialTokens?: boolean; truncate?: boolean } = {}) {
    this.checkAlive();
    checkTexts([text]);
    const route = this.route(options.task);
    const input = route.prepare(this.resolvePrompt(options.task, options) + text);
    return { input, tokens: await route.tokenizer.tokens(input, options.addSpecialTokens ?? true, options.truncate ?? true) };
  }

  /** Token counts of `texts` as `task` tokenizes them (prompt included, truncated to maxSeqLength). */
  async tokenCounts(texts: readonly string[], options: { task?: EncodeTask; promptName?: string } = {}): Promise<number[]> {
    this.checkAlive();
    checkTexts(texts);
    const route = this.route(options.task);
    const prompt = this.resolvePrompt(options.task, options);
    return (await route.tokenizer.lengths(texts.map((t) => route.prepare(prompt + t)))).map((l) => l.tokens);
  }

  /**
   * The token windows `longDocuments: 'window'` encodes for `text` in this task (prompt included):
   * each row as the model sees it, special tokens included.
   */
  async tokenWindows(text: string, options: WindowOptions = {}): Promise<TokenWindows> {
    this.checkAlive();
    checkTexts([text]);
    const route = this.route(options.task);
    const { windowTokens, stride } = windowSettings(route, options);
    return (await route.tokenizer.windows([route.prepare(this.resolvePrompt(options.task, options) + text)], windowTokens, stride))[0]!;
  }

  /**
   * Encodes rows of token ids exactly as they are (special tokens included, no truncation: a row
   * longer than the model's position table is ERR_INVALID_INPUT), one vector per row, with the
   * task's route: e.g. the rows of {@link tokenWindows} or {@link tokenize}. Token type ids are 0.
   */
  async encodeTokens(rows: readonly (readonly number[])[], options: { task?: EncodeTask; maxActiveDims?: number } = {}): Promise<SparseVector[]> {
    this.checkAlive();
    if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) throw new SparseEncoderError('ERR_INVALID_INPUT', 'rows must be an array of arrays of token ids');
    const maxActiveDims = options.maxActiveDims ?? this.defaultMaxActiveDims;
    if (maxActiveDims !== undefined) checkMaxActiveDims(maxActiveDims);
    const ids = rows.map((r) => [...r]);
    const route = this.route(options.task);
    return route.encodeTokens({ ids, typeIds: ids.map((r) => new Array<number>(r.length).fill(0)) }, maxActiveDims === undefined ? {} : { maxActiveDims });
  }

  /** The text of token ids (the default route's tokenizer). */
  async decodeIds(ids: readonly number[], skipSpecialTokens = true): Promise<string> {
    this.checkAlive();
    return this.route(undefined).tokenizer.decodeIds(ids, skipSpecialTokens);
  }

  /**
   * Similarity matrix with the model's function (`similarityFnName`): rows are `a`, columns `b`.
   * Returned as `number[][]` (plain, JSON-friendly; values are float64 sums of float32 products).
   */
  similarity(a: SparseVector | readonly SparseVector[], b: SparseVector | readonly SparseVector[]): number[][] {
    const fn = this.config.similarityFnName === 'cosine' ? cosine : dot;
    const rows = asArray(a);
    const cols = asArray(b);
    return rows.map((x) => cols.map((y) => fn(x, y)));
  }

  /**
   * What the model does to a query and, optionally, a document: each text's terms (heaviest first)
   * with their vocabulary strings, whether each is a token of the input or an expansion, and the
   * input token that produced it (SPLADE max pooling: the position whose logit won, computed in the
   * same model run; a static query route: the token itself); and, with a document, the score
   * broken down by shared term: `contributions` (sorted, largest first) sum to `score`, the
   * model's similarity. Options as `encode` (`maxActiveDims`, prompts).
   */
  async explain(query: string, document?: string, options: Pick<EncodeOptions, 'maxActiveDims' | 'prompt' | 'promptName'> = {}): Promise<Explanation> {
    this.checkAlive();
    if (typeof query !== 'string' || (document !== undefined && typeof document !== 'string')) throw new SparseEncoderError('ERR_INVALID_INPUT', 'explain takes a query string and an optional document string');
    const q = await this.explainText(query, { ...options, task: 'query' });
    if (document === undefined) return { query: q, similarity: this.config.similarityFnName };
    const d = await this.explainText(document, { task: 'document', ...(options.maxActiveDims === undefined ? {} : { maxActiveDims: options.maxActiveDims }) });
    const shared = intersect(q.vector, d.vector);
    const scale = this.config.similarityFnName === 'cosine' ? 1 / (Math.hypot(...q.vector.values) * Math.hypot(...d.vector.values) || 1) : 1;
    const contributions = Array.from(shared.indices, (index, i) => {
      const qi = bisect(q.vector.indices, index);
      const di = bisect(d.vector.indices, index);
      return { index, token: this.tokenOf(index), query: q.vector.values[qi]!, document: d.vector.values[di]!, contribution: shared.values[i]! * scale };
    }).sort((a, b) => b.contribution - a.contribution || a.index - b.index);
    const score = this.similarity(q.vector, d.vector)[0]![0]!;
    return { query: q, document: d, similarity: this.config.similarityFnName, score, contributions };
  }

  /**
   * One text explained as `task` encodes it (`encode`'s default route and prompt without a task):
   * its terms, input vs expansion, and the input token that produced each (see {@link explain}).
   */
  async explainText(text: string, options: Pick<EncodeOptions, 'maxActiveDims' | 'prompt' | 'promptName'> & { task?: EncodeTask } = {}): Promise<ExplainedText> {
    this.checkAlive();
    if (typeof text !== 'string') throw new SparseEncoderError('ERR_INVALID_INPUT', `expected a string, got ${describe(text)}`);
    checkTexts([text]);
    const task = options.task;
    const maxActiveDims = options.maxActiveDims ?? this.defaultMaxActiveDims;
    if (maxActiveDims !== undefined) checkMaxActiveDims(maxActiveDims);
    const route = this.route(task);
    const routeName = [...this.model.routes].find(([, r]) => r === route)?.[0] ?? this.model.defaultRoute;
    const prompt = this.resolvePrompt(task, options);
    const routeOptions = this.routeOptions(route, {}, undefined);
    const batch = await route.tokenizeForEncode([prompt + text], routeOptions);
    const ids = batch.ids[0]!;
    let explained: { vector: SparseVector; positions: Uint32Array | undefined };
    try {
      explained = route.explainTokens !== undefined ? (await route.explainTokens(batch))[0]! : { vector: (await route.encodeTokens(batch, routeOptions))[0]!, positions: undefined };
    } catch (err) {
      if (!(err instanceof SparseEncoderError && err.code === 'ERR_NOT_SUPPORTED')) throw err;
      explained = { vector: (await route.encodeTokens(batch, routeOptions))[0]!, positions: undefined };
    }
    let { vector, positions } = explained;
    if (maxActiveDims !== undefined && vector.indices.length > maxActiveDims) {
      const kept = topKByMagnitude(vector, maxActiveDims);
      if (positions !== undefined) {
        const all = positions;
        positions = Uint32Array.from(kept.indices, (i) => all[bisect(vector.indices, i)]!);
      }
      vector = kept;
    }
    const vocabulary = route.kind !== 'csr';
    const inInput = new Set(ids);
    const tokens = ids.map((id) => ({ id, token: route.tokenizer.idToToken(id) ?? `[${id}]` }));
    const terms = Array.from(vector.indices, (index, i): ExplainedTerm => {
      const term: ExplainedTerm = { index, token: vocabulary ? this.tokenOf(index) : `[${index}]`, weight: vector.values[i]!, source: !vocabulary ? 'latent' : inInput.has(index) ? 'input' : 'expansion' };
      if (positions !== undefined) term.position = positions[i]!;
      return term;
    }).sort((a, b) => b.weight - a.weight || a.index - b.index);
    return { text, task, route: routeName, kind: route.kind, tokens, vector, terms, activeDims: vector.indices.length };
  }

  /** Similarity of a[i] and b[i] for every i (the arrays must have the same length). */
  similarityPairwise(a: readonly SparseVector[], b: readonly SparseVector[]): number[] {
    if (a.length !== b.length) {
      throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `similarityPairwise needs equal lengths, got ${a.length} and ${b.length}`);
    }
    const fn = this.config.similarityFnName === 'cosine' ? cosine : dot;
    return a.map((x, i) => fn(x, b[i]!));
  }

  /**
   * The non-zeros of `vector` as `[token, weight]` with raw vocabulary strings (`##ing`, `Ġworld`,
   * `[CLS]`), by descending weight; only the first `topK` when given. Indices outside the
   * vocabulary decode as `[<index>]`.
   */
  decode(vector: SparseVector, topK?: number): Array<[token: string, weight: number]> {
    this.checkAlive();
    if (topK !== undefined && (!Number.isInteger(topK) || topK < 0)) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `topK must be a non-negative integer, got ${topK}`);
    }
    return topEntries(vector, topK).map(([i, w]) => [this.tokenOf(i), w]);
  }

  /** The vocabulary string of output dimension `index` (`##ing`, `[CLS]`), or `[<index>]` outside the vocabulary. */
  tokenOf(index: number): string {
    this.checkAlive();
    return this.route(undefined).tokenizer.idToToken(index) ?? `[${index}]`;
  }

  /** Mean/min/max non-zeros and the sparsity ratio of `vectors` (all zero for an empty list). */
  sparsity(vectors: SparseVector | readonly SparseVector[]): SparsityStats {
    const list = asArray(vectors);
    if (list.length === 0) return { activeDims: 0, minActiveDims: 0, maxActiveDims: 0, sparsityRatio: 1, count: 0 };
    let sum = 0;
    let min = Infinity;
    let max = 0;
    for (const v of list) {
      const n = v.indices.length;
      sum += n;
      if (n < min) min = n;
      if (n > max) max = n;
    }
    const mean = sum / list.length;
    const dim = list[0]!.dim;
    return { activeDims: mean, minActiveDims: min, maxActiveDims: max, sparsityRatio: dim > 0 ? 1 - mean / dim : 1, count: list.length };
  }

  /** Dimensions active in both vectors, with the product of their weights. */
  intersection(a: SparseVector, b: SparseVector): SparseVector {
    return intersect(a, b);
  }

  /** Releases the onnxruntime sessions. Further calls throw ERR_DISPOSED. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.model.dispose();
  }

  private async encodeTask(input: InputText, task: EncodeTask | undefined, options: EncodeOptions): Promise<SparseVector | SparseVector[]> {
    if (typeof input === 'string') return (await this.run([input], task, options, 0))[0]!;
    if (!Array.isArray(input)) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `expected a string or an array of strings, got ${describe(input)}`);
    }
    return this.run(input, task, options, 0);
  }

  private async run(texts: readonly string[], task: EncodeTask | undefined, options: EncodeOptions, indexOffset: number): Promise<SparseVector[]> {
    this.checkAlive();
    checkTexts(texts, indexOffset);
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`);
    }
    const maxActiveDims = options.maxActiveDims ?? this.defaultMaxActiveDims;
    if (maxActiveDims !== undefined) checkMaxActiveDims(maxActiveDims);
    if (texts.length === 0) return [];
    const route = this.route(task);
    const prompt = this.resolvePrompt(task, options);
    const maxBatchTokens = options.maxBatchTokens;
    if (maxBatchTokens !== undefined && (!Number.isInteger(maxBatchTokens) || maxBatchTokens < 1)) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `maxBatchTokens must be a positive integer, got ${maxBatchTokens}`);
    }
    const longDocuments = options.longDocuments ?? 'truncate';
    if (longDocuments === 'window') return this.runWindows(texts, route, prompt, options, maxActiveDims);
    if (longDocuments !== 'truncate') {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `longDocuments must be "truncate" or "window", got ${JSON.stringify(longDocuments)}`);
    }
    const out = new Array<SparseVector>(texts.length);
    const routeOptions = this.routeOptions(route, options, maxActiveDims);
    // When runs are planned by tokens (or over-long texts refused), every text is tokenized once here and its rows encoded as they are.
    const needLengths = maxBatchTokens !== undefined || options.truncate === false || options.onBatch !== undefined;
    const batch = needLengths ? await route.tokenizeForEncode(texts.map((t) => prompt + t), routeOptions) : undefined;
    const tokenLengths = batch?.ids.map((row) => ({ tokens: row.length }));
    if (options.truncate === false && batch !== undefined) refuseTruncated(batch, route, indexOffset);
    let done = 0;
    const runOne = async (idx: number[]): Promise<void> => {
      const vectors = batch !== undefined ? await route.encodeTokens(rowsOf(batch, idx), routeOptions) : await route.encode(idx.map((i) => prompt + texts[i]!), routeOptions);
      idx.forEach((i, j) => {
        out[i] = vectors[j]!;
      });
      done += idx.length;
      options.onProgress?.({ type: 'encode-progress', done, total: texts.length });
    };
    if (maxBatchTokens !== undefined) {
      for (const run of planRuns(tokenLengths!.map((l) => l.tokens), maxBatchTokens, batchSize)) {
        await runOne(run.indices);
        options.onBatch?.({ texts: run.indices.length, tokens: run.tokens, paddedTokens: run.paddedTokens });
      }
      return out;
    }
    // Longest first, as sentence-transformers sorts (by length in code points), so batches pad little.
    const order = texts.map((_, i) => i);
    const lengths = texts.map(codePointLength);
    order.sort((x, y) => lengths[y]! - lengths[x]! || x - y);
    for (let start = 0; start < order.length; start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      await runOne(idx);
      if (options.onBatch !== undefined && tokenLengths !== undefined) {
        let tokens = 0;
        let longest = 0;
        for (const i of idx) {
          tokens += tokenLengths[i]!.tokens;
          longest = Math.max(longest, tokenLengths[i]!.tokens);
        }
        options.onBatch({ texts: idx.length, tokens, paddedTokens: longest * idx.length });
      }
    }
    return out;
  }

  /** What a route's encode takes from the call's options (checked here). */
  private routeOptions(route: SparseRoute, options: Pick<EncodeOptions, 'truncationDirection' | 'addSpecialTokens'>, maxActiveDims: number | undefined): RouteEncodeOptions {
    const direction = options.truncationDirection ?? 'right';
    if (direction !== 'right' && direction !== 'left') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `truncationDirection must be "right" or "left", got ${JSON.stringify(direction)}`);
    if (options.addSpecialTokens !== undefined && typeof options.addSpecialTokens !== 'boolean') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'addSpecialTokens must be a boolean');
    const routeOptions: RouteEncodeOptions = {
      ...(maxActiveDims === undefined ? {} : { maxActiveDims }),
      ...(direction === 'left' ? { truncationDirection: 'left' as const } : {}),
      ...(options.addSpecialTokens === false ? { addSpecialTokens: false } : {}),
    };
    // 5.x's Router quirk: with max_active_dims, a static route's tokenize() failed on the extra argument and the Router retried through its default route.
    const defaultRoute = this.route(undefined);
    if (this.compat === '5' && maxActiveDims !== undefined && this.model.isRouter && route.kind === 'static' && route !== defaultRoute) {
      routeOptions.tokenizeWith = defaultRoute;
    }
    return routeOptions;
  }

  /**
   * Tokenizes `texts` once, exactly as an encode call with these options would (task, prompt,
   * truncation and its direction, special tokens, `maxActiveDims`), for callers that plan their own
   * runs from the token counts (`lengths`): the server merges requests this way. Then
   * {@link encodePrepared} encodes any subset of them, as often as needed. `truncate: false`
   * refuses an over-long text here (ERR_INPUT_TOO_LONG); `longDocuments: 'window'` is not for this.
   */
  async prepareTexts(texts: readonly string[], options: Omit<EncodeOptions, 'longDocuments' | 'batchSize' | 'maxBatchTokens' | 'onBatch' | 'onProgress'> & { task?: EncodeTask } = {}): Promise<PreparedTexts> {
    this.checkAlive();
    checkTexts(texts);
    if ((options as EncodeOptions).longDocuments === 'window') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'prepareTexts does not cut windows: encode long documents with longDocuments "window"');
    const maxActiveDims = options.maxActiveDims ?? this.defaultMaxActiveDims;
    if (maxActiveDims !== undefined) checkMaxActiveDims(maxActiveDims);
    const route = this.route(options.task);
    const prompt = this.resolvePrompt(options.task, options);
    const routeOptions = this.routeOptions(route, options, maxActiveDims);
    const batch = await route.tokenizeForEncode(texts.map((t) => prompt + t), routeOptions);
    if (options.truncate === false) refuseTruncated(batch, route, 0);
    return new PreparedTexts(this, batch, (rows) => route.encodeTokens(rows, routeOptions));
  }

  /** Encodes the texts at `indices` of `prepared` (from this encoder's {@link prepareTexts}), in that order. */
  async encodePrepared(prepared: PreparedTexts, indices: readonly number[]): Promise<SparseVector[]> {
    this.checkAlive();
    if (!(prepared instanceof PreparedTexts) || prepared.owner !== this) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'prepared texts must come from this encoder\'s prepareTexts');
    const n = prepared.lengths.length;
    if (!Array.isArray(indices) || indices.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `indices must be integers in [0, ${n})`);
    if (indices.length === 0) return [];
    return prepared.encodeRows(rowsOf(prepared.batch, indices));
  }

  /**
   * `longDocuments: 'window'`: every text tokenized once and cut into windows; the windows of all
   * texts encoded in runs (a text's windows side by side), then merged per text.
   */
  private async runWindows(texts: readonly string[], route: SparseRoute, prompt: string, options: EncodeOptions, maxActiveDims: number | undefined): Promise<SparseVector[]> {
    const merge = route.windowMerge;
    if (merge === undefined) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `longDocuments "window" needs max or sum pooling; this model's ${route.kind} route has no rule to merge window vectors`);
    }
    const { windowTokens, stride } = windowSettings(route, options);
    if (merge === 'sum' && stride !== 0) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `this model sums its tokens (sum pooling): windows must not overlap, so stride must be 0 (got ${stride})`);
    }
    const windows = await route.tokenizer.windows(texts.map((t) => route.prepare(prompt + t)), windowTokens, stride);
    const rows: number[][] = [];
    const typeRows: number[][] = [];
    const owner: number[] = [];
    windows.forEach((w, i) => {
      w.rows.forEach((r, j) => {
        rows.push(r);
        typeRows.push(w.typeIds?.[j] ?? new Array<number>(r.length).fill(0));
        owner.push(i);
      });
    });
    const vectors = new Array<SparseVector>(rows.length);
    const batchSize = options.batchSize ?? 32;
    // Runs of batchSize windows in order (a text's windows side by side), or planned by padded tokens.
    const runs =
      options.maxBatchTokens !== undefined
        ? planRuns(rows.map((r) => r.length), options.maxBatchTokens, batchSize).map((r) => r.indices)
        : Array.from({ length: Math.ceil(rows.length / batchSize) }, (_, k) => Array.from({ length: Math.min(batchSize, rows.length - k * batchSize) }, (_, j) => k * batchSize + j));
    let finished = 0;
    const remaining = windows.map((w) => w.rows.length);
    for (const run of runs) {
      const got = await route.encodeTokens({ ids: run.map((i) => rows[i]!), typeIds: run.map((i) => typeRows[i]!) });
      run.forEach((i, j) => {
        vectors[i] = got[j]!;
        if (--remaining[owner[i]!]! === 0) finished++;
      });
      const tokens = run.reduce((a, i) => a + rows[i]!.length, 0);
      options.onBatch?.({ texts: run.length, tokens, paddedTokens: run.length * Math.max(...run.map((i) => rows[i]!.length)) });
      options.onProgress?.({ type: 'encode-progress', done: finished, total: texts.length });
    }
    let next = 0;
    return windows.map((w) => {
      const merged = mergeVectors(vectors.slice(next, (next += w.rows.length)), merge);
      return maxActiveDims === undefined ? merged : topKByMagnitude(merged, maxActiveDims);
    });
  }

  private resolvePrompt(task: EncodeTask | undefined, options: { prompt?: string; promptName?: string }): string {
    if (options.prompt !== undefined) {
      if (typeof options.prompt !== 'string') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'prompt must be a string');
      return options.prompt;
    }
    const prompts = this.config.prompts;
    let name = options.promptName;
    if (name !== undefined) {
      if (!Object.hasOwn(prompts, name)) {
        throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `prompt name "${name}" is not one of the model's prompts (${Object.keys(prompts).join(', ')})`, {
          details: { promptName: name },
        });
      }
    } else if (task === 'query') name = 'query';
    else if (task === 'document') name = DOCUMENT_PROMPT_NAMES.find((n) => Object.hasOwn(prompts, n));
    else name = this.config.defaultPromptName;
    return name === undefined ? '' : prompts[name] ?? '';
  }

  private route(task: EncodeTask | undefined): SparseRoute {
    const routes = this.model.routes;
    return (task !== undefined ? routes.get(task) : undefined) ?? routes.get(this.model.defaultRoute)!;
  }

  private checkAlive(): void {
    if (this.disposed) throw new SparseEncoderError('ERR_DISPOSED', 'this SparseEncoder has been disposed');
  }
}

/** What {@link SparseEncoder.fromFiles} reads of a `Blob`: its bytes. */
export interface BlobLike {
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** What {@link SparseEncoder.fromFiles} reads of a `File`: its bytes, its name, and its path in a dropped folder. */
export interface FileLike extends BlobLike {
  readonly name: string;
  readonly webkitRelativePath?: string;
}

/**
 * A model's files for {@link SparseEncoder.fromFiles}: `{path: bytes | text | Blob}` (or such pairs), paths
 * relative to the model folder; or `File` objects, e.g. a dropped folder or an `<input webkitdirectory>`'s
 * `FileList`, placed by their `webkitRelativePath` without its first folder (else by their name).
 */
export type ModelFileSource = Record<string, Uint8Array | string | BlobLike> | Iterable<[string, Uint8Array | string | BlobLike]> | Iterable<FileLike>;

const isBlobLike = (v: unknown): v is BlobLike => typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && typeof (v as BlobLike).arrayBuffer === 'function';

async function fileEntries(files: ModelFileSource): Promise<Array<[string, Uint8Array | string]>> {
  const items: unknown[] = Symbol.iterator in Object(files) ? [...(files as Iterable<unknown>)] : Object.entries(files);
  return Promise.all(
    items.map(async (item): Promise<[string, Uint8Array | string]> => {
      if (isBlobLike(item) && typeof (item as FileLike).name === 'string') {
        const rel = (item as FileLike).webkitRelativePath ?? '';
        return [rel.includes('/') ? rel.slice(rel.indexOf('/') + 1) : (item as FileLike).name, new Uint8Array(await item.arrayBuffer())];
      }
      if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'files must map paths to bytes or text, or be File objects');
      const [name, body] = item as [string, unknown];
      if (isBlobLike(body)) return [name, new Uint8Array(await body.arrayBuffer())];
      return [name, body as Uint8Array | string];
    }),
  );
}

/** One term of an {@link Explanation}. */
export interface ExplainedTerm {
  /** Output dimension (a vocabulary id, except for CSR). */
  index: number;
  /** Its vocabulary string (`##ing`, `Ġworld`); `[index]` for CSR's latent dimensions. */
  token: string;
  weight: number;
  /** `input`: a token of the text; `expansion`: a vocabulary entry the model added; `latent`: a CSR dimension. */
  source: 'input' | 'expansion' | 'latent';
  /** The position in `tokens` of the input token that produced the term, where one did (max pooling, static routes). */
  position?: number;
}

/** One text of an {@link Explanation}. */
export interface ExplainedText {
  text: string;
  /** The task it was encoded for; undefined: `encode`'s default. */
  task: EncodeTask | undefined;
  /** The Router route that encoded it (`default` without a Router). */
  route: string;
  /** `static`: a table lookup (inference-free query side), no transformer run. */
  kind: 'splade' | 'static' | 'csr';
  /** The input tokens as the model saw them (prompt and special tokens included). */
  tokens: Array<{ id: number; token: string }>;
  vector: SparseVector;
  /** The vector's entries, heaviest first. */
  terms: ExplainedTerm[];
  activeDims: number;
}

/** What {@link SparseEncoder.explain} returns. */
export interface Explanation {
  query: ExplainedText;
  document?: ExplainedText;
  similarity: SimilarityFnName;
  /** The model's similarity of the two vectors (with a document). */
  score?: number;
  /** Each shared term's share of `score`, largest first; they sum to `score`. */
  contributions?: Array<{ index: number; token: string; query: number; document: number; contribution: number }>;
}

/** The position of `x` in the ascending `a` (which holds it). */
function bisect(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Texts tokenized once by {@link SparseEncoder.prepareTexts}: their token counts, and what encodes their rows. */
export class PreparedTexts {
  /** Tokens of each text as the model will see it (special tokens included, truncated as asked). */
  readonly lengths: readonly number[];

  /** @internal */
  constructor(
    /** @internal */ readonly owner: SparseEncoder,
    /** @internal */ readonly batch: TokenizedBatch,
    /** @internal */ readonly encodeRows: (rows: TokenizedBatch) => Promise<SparseVector[]>,
  ) {
    this.lengths = batch.ids.map((r) => r.length);
  }
}

/** The rows of `batch` at `idx`, in that order. */
function rowsOf(batch: TokenizedBatch, idx: readonly number[]): TokenizedBatch {
  const ids = idx.map((i) => batch.ids[i]!);
  return batch.typeIds === undefined ? { ids } : { ids, typeIds: idx.map((i) => batch.typeIds![i]!) };
}

/** ERR_INPUT_TOO_LONG for the first row truncation cut (`truncate: false`). */
function refuseTruncated(batch: TokenizedBatch, route: SparseRoute, indexOffset: number): void {
  const i = batch.truncated?.findIndex((t) => t) ?? -1;
  if (i >= 0) {
    throw new SparseEncoderError('ERR_INPUT_TOO_LONG', `text ${indexOffset + i} has more than the model's ${route.maxSeqLength} tokens (truncate is off)`, {
      details: { index: indexOffset + i, maxSeqLength: route.maxSeqLength },
    });
  }
}

/** A run may pad its texts by at most this share of their real tokens (one longer text starts a new run). */
const RUN_PADDING_SLACK = 0.15;

/**
 * Model runs for texts of these token counts: shortest first (short texts finish first), each run
 * within `maxBatchTokens` padded tokens (texts × longest) and `batchSize` texts, and cut where the
 * next text would pad the run by more than 15% of its real tokens. On CPU a run's cost grows with
 * its padded tokens, so padding is pure loss; a run's fixed overhead is what merging saves.
 */
export function planRuns(lengths: readonly number[], maxBatchTokens: number, batchSize = Number.MAX_SAFE_INTEGER): Array<{ indices: number[]; tokens: number; paddedTokens: number }> {
  const order = lengths.map((_, i) => i).sort((x, y) => lengths[x]! - lengths[y]! || x - y);
  const runs: Array<{ indices: number[]; tokens: number; paddedTokens: number }> = [];
  let cur: { indices: number[]; tokens: number; paddedTokens: number } | undefined;
  for (const i of order) {
    const l = Math.max(1, lengths[i]!);
    if (cur !== undefined) {
      const n = cur.indices.length + 1;
      const padded = n * l;
      if (n <= batchSize && padded <= maxBatchTokens && padded <= (cur.tokens + l) * (1 + RUN_PADDING_SLACK)) {
        cur.indices.push(i);
        cur.tokens += l;
        cur.paddedTokens = padded;
        continue;
      }
    }
    cur = { indices: [i], tokens: l, paddedTokens: l };
    runs.push(cur);
  }
  return runs;
}

/** `windowTokens` (default and upper bound: the route's `maxSeqLength`) and `stride` (default 0), checked. */
function windowSettings(route: SparseRoute, options: { windowTokens?: number; stride?: number }): { windowTokens: number; stride: number } {
  const limit = route.maxSeqLength;
  const windowTokens = options.windowTokens ?? limit;
  if (windowTokens === undefined) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'this model has no maximum length: give windowTokens for longDocuments "window"');
  }
  if (!Number.isInteger(windowTokens) || windowTokens < 1 || (limit !== undefined && windowTokens > limit)) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `windowTokens must be an integer from 1 to the model's ${limit ?? 'maximum'} tokens, got ${windowTokens}`);
  }
  const stride = options.stride ?? 0;
  if (!Number.isInteger(stride) || stride < 0) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `stride must be a non-negative integer, got ${stride}`);
  return { windowTokens, stride };
}

function checkTexts(texts: readonly unknown[], offset = 0): void {
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `input ${offset + i} is ${describe(texts[i])}, expected a string`, {
        details: { index: offset + i, type: describe(texts[i]) },
      });
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' || t === 'undefined' ? `an ${t}` : `a ${t}`;
}

function asArray(v: SparseVector | readonly SparseVector[]): readonly SparseVector[] {
  return Array.isArray(v) ? v : [v as SparseVector];
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

/** The graph's quantization from the load options; undefined for fp32. */
function quantizeOptionsOf(options: SparseEncoderLoadOptions): QuantizeOptions | undefined {
  const q = options.quantize ?? 'none';
  if (q !== 'none' && q !== 'int8') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `quantize must be "none" or "int8", got ${JSON.stringify(q)}`);
  }
  const vocab = options.int8VocabProjection;
  if (vocab !== undefined && typeof vocab !== 'boolean') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `int8VocabProjection must be a boolean, got ${JSON.stringify(vocab)}`);
  }
  if (q === 'none') return undefined;
  return { precision: 'int8', ...(vocab === false ? { vocabProjection: false } : {}) };
}
