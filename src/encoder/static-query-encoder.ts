import { SparseEncoderError } from '../errors.js';
import { SparseStaticEmbedding } from '../modules/sparse-static-embedding.js';
import type { SparseVector } from '../sparse/vector.js';
import { checkMaxActiveDims, topEntries } from '../sparse/vector.js';
import { JsEngine } from '../tokenizer/js-engine.js';
import { specialTokensOf, TextTokenizer } from '../tokenizer/text-tokenizer.js';
import { refuseNonFinite } from '../weights/finite.js';
import { parseSafetensors } from '../weights/safetensors.js';

// Portable: no Node built-in, no native package, no ONNX Runtime (edge.ts's graph; test/architecture.test.ts checks).

/** The files of an inference-free model's query module (`query_0_SparseStaticEmbedding/`), in memory. */
export interface StaticQueryFiles {
  /** `tokenizer.json`: its text, or parsed. */
  tokenizer: string | Record<string, unknown>;
  /** `tokenizer_config.json`, parsed (its `model_max_length` is the truncation length). */
  tokenizerConfig?: Record<string, unknown>;
  /** `special_tokens_map.json`, parsed. */
  specialTokensMap?: Record<string, unknown>;
  /** `model.safetensors` (one tensor `weight`, one value per vocabulary id); or `idf`. */
  weights?: Uint8Array;
  /** `idf.json` `{token: weight}`, for modules saved without weights. */
  idf?: Record<string, unknown>;
}

/**
 * An inference-free model's query side alone: its tokenizer (pure JavaScript) and its static weights,
 * the vector of a query being `weight[id]` for every distinct token id. No ONNX Runtime, no file
 * system: what fits an edge worker (Cloudflare Workers: no WebAssembly compiled at run time, 128 MB).
 * The same vectors as `SparseEncoder.encodeQuery` on the full model.
 */
export class StaticQueryEncoder {
  private constructor(
    private readonly route: SparseStaticEmbedding,
    private readonly prompt: string,
  ) {}

  /** From the query module's files; `prompt` is the model's `query` prompt (config_sentence_transformers.json), usually empty. */
  static fromFiles(files: StaticQueryFiles, options: { prompt?: string } = {}): StaticQueryEncoder {
    const config = files.tokenizerConfig ?? {};
    const engine = JsEngine.create(files.tokenizer, config, 'tokenizer.json');
    const tokenizer = TextTokenizer.create(engine, config, specialTokensOf(files.specialTokensMap ?? {}), { addSpecialTokens: false });
    let route: SparseStaticEmbedding;
    if (files.weights !== undefined) {
      const dict = parseSafetensors(files.weights, { source: 'model.safetensors' });
      refuseNonFinite(dict, 'model.safetensors');
      route = SparseStaticEmbedding.fromStateDict(tokenizer, dict, 'model.safetensors');
    } else if (files.idf !== undefined) route = SparseStaticEmbedding.fromIdf(tokenizer, files.idf, 'idf.json');
    else throw new SparseEncoderError('ERR_FILE_NOT_FOUND', 'a static query module needs its weights (model.safetensors) or its idf.json');
    const prompt = options.prompt ?? '';
    if (typeof prompt !== 'string') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'prompt must be a string');
    return new StaticQueryEncoder(route, prompt);
  }

  /** Output dimension (the vocabulary size). */
  get dim(): number {
    return this.route.dim;
  }

  /** Query vectors; `maxActiveDims` keeps the k largest weights. A string gives one vector. */
  encodeQuery(text: string, options?: { maxActiveDims?: number }): Promise<SparseVector>;
  encodeQuery(texts: readonly string[], options?: { maxActiveDims?: number }): Promise<SparseVector[]>;
  async encodeQuery(input: string | readonly string[], options: { maxActiveDims?: number } = {}): Promise<SparseVector | SparseVector[]> {
    const texts = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw new SparseEncoderError('ERR_INVALID_INPUT', 'expected a string or an array of strings');
    const k = options.maxActiveDims;
    if (k !== undefined) checkMaxActiveDims(k);
    const vectors = await this.route.encode(texts.map((t) => this.prompt + t), k === undefined ? {} : { maxActiveDims: k });
    return typeof input === 'string' ? vectors[0]! : vectors;
  }

  /** `[token, weight]` pairs by descending weight (the first `topK` when given). */
  decode(vector: SparseVector, topK?: number): Array<[token: string, weight: number]> {
    return topEntries(vector, topK).map(([i, w]) => [this.route.tokenizer.idToToken(i) ?? `[${i}]`, w]);
  }
}
