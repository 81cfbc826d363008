import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { topKByMagnitude } from '../sparse/vector.js';
import { MAX_TOKEN_ID } from '../tokenizer/engine.js';
import type { TextTokenizer, TokenizedBatch } from '../tokenizer/text-tokenizer.js';
import type { StateDict } from '../weights/types.js';
import type { RouteEncodeOptions, SparseRoute } from './route.js';

// Portable: no Node built-in (static-embedding-folder.ts reads a module folder on Node; edge.ts takes files in memory).

/**
 * SparseStaticEmbedding (inference-free query side): the vector of a text is `weight[id]` for
 * every distinct token id present (presence, not counts). The text is tokenized as it is: no
 * strip, no special tokens, truncation at the tokenizer's `model_max_length`.
 */
export class SparseStaticEmbedding implements SparseRoute {
  readonly kind = 'static' as const;
  readonly defaultMaxActiveDims = undefined;
  /** A presence vector: the union of a text's windows is their elementwise max. */
  readonly windowMerge = 'max' as const;

  private constructor(
    readonly tokenizer: TextTokenizer,
    /** One weight per vocabulary id. */
    readonly weight: Float32Array,
  ) {}

  /**
   * From a tokenizer (no special tokens, truncating at its `model_max_length`) and the module's
   * weights: one tensor `weight`, one value per vocabulary id. `where` names the weights in errors.
   */
  static fromStateDict(tokenizer: TextTokenizer, dict: StateDict, where: string): SparseStaticEmbedding {
    const w = dict.get('weight');
    if (w === undefined) {
      throw new SparseEncoderError('ERR_MISSING_WEIGHT', `${where} has no tensor "weight" (found: ${[...dict.keys()].join(', ') || 'none'})`, {
        details: { path: where, tensor: 'weight' },
      });
    }
    if (w.shape.length !== 1) {
      throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `${where}: tensor "weight" has shape [${w.shape.join(', ')}], expected one dimension`, {
        details: { path: where, tensor: 'weight' },
      });
    }
    return new SparseStaticEmbedding(tokenizer, w.data);
  }

  /**
   * From `{token: weight}` (an `idf.json`), as sentence-transformers' `SparseStaticEmbedding.from_json`:
   * tokens map through the vocabulary, an unknown token sets the unknown-token weight, later keys
   * overwrite earlier ones. Unlike the Python code (vector length max(id)+1) the vector always
   * spans the whole vocabulary, so query vectors keep the document side's dimension. `where` names
   * the source in errors.
   */
  static fromIdf(tokenizer: TextTokenizer, raw: unknown, where: string): SparseStaticEmbedding {
    return new SparseStaticEmbedding(tokenizer, weightsFromIdf(raw, tokenizer, where));
  }

  get dim(): number {
    return this.weight.length;
  }

  get maxSeqLength(): number | undefined {
    return this.tokenizer.maxLength;
  }

  prepare(text: string): string {
    return text;
  }

  tokenize(texts: readonly string[]): Promise<TokenizedBatch> {
    return this.tokenizer.encode(texts);
  }

  async tokenizeForEncode(texts: readonly string[], options: RouteEncodeOptions = {}): Promise<TokenizedBatch> {
    const via = options.tokenizeWith;
    return via === undefined ? this.tokenizer.encode(texts, options.truncationDirection) : via.tokenize(texts.map((t) => via.prepare(t)));
  }

  async encode(texts: readonly string[], options: RouteEncodeOptions = {}): Promise<SparseVector[]> {
    return this.encodeTokens(await this.tokenizeForEncode(texts, options), options);
  }

  async encodeTokens(batch: TokenizedBatch, options: RouteEncodeOptions = {}): Promise<SparseVector[]> {
    return batch.ids.map((row) => {
      const v = this.vectorOf(row);
      return options.maxActiveDims === undefined ? v : topKByMagnitude(v, options.maxActiveDims);
    });
  }

  async explainTokens(batch: TokenizedBatch): Promise<Array<{ vector: SparseVector; positions: Uint32Array }>> {
    return batch.ids.map((row) => {
      const vector = this.vectorOf(row);
      return { vector, positions: Uint32Array.from(vector.indices, (id) => row.indexOf(id)) };
    });
  }

  /** The vector of one tokenized text. Ids outside the weight vector contribute nothing. */
  vectorOf(ids: readonly number[]): SparseVector {
    const w = this.weight;
    const distinct = [...new Set(ids)].filter((id) => id < w.length && w[id] !== 0).sort((a, b) => a - b);
    return { indices: Uint32Array.from(distinct), values: Float32Array.from(distinct, (id) => w[id]!), dim: w.length };
  }

  async dispose(): Promise<void> {}
}

function weightsFromIdf(raw: unknown, tokenizer: TextTokenizer, path: string): Float32Array {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path} must hold a JSON object {token: weight}`, { details: { path } });
  }
  const unkToken = tokenizer.specialTokens['unk_token'];
  const unkId = unkToken === undefined ? undefined : tokenizer.tokenToId(unkToken);
  const entries: Array<[number, number]> = [];
  let maxId = tokenizer.vocabSize - 1;
  for (const [token, weight] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof weight !== 'number' || !Number.isFinite(weight)) {
      throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: weight of token ${JSON.stringify(token)} is not a finite number`, { details: { path, token } });
    }
    const id = tokenizer.tokenToId(token) ?? unkId;
    if (id === undefined) continue;
    if (id > MAX_TOKEN_ID) {
      throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: the tokenizer gives ${JSON.stringify(token)} the id ${id}, above ${MAX_TOKEN_ID}`, { details: { path, token } });
    }
    entries.push([id, weight]);
    if (id > maxId) maxId = id;
  }
  const out = new Float32Array(maxId + 1);
  for (const [id, w] of entries) out[id] = w;
  return out;
}
