import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { topKByMagnitude } from '../sparse/vector.js';
import { loadStateDict, locateWeights } from '../weights/load.js';
import { TextTokenizer, type TokenizedBatch, type TokenizerEngineKind } from '../tokenizer/text-tokenizer.js';
import { readJson, readJsonObject, optionalString } from './json.js';
import type { RouteEncodeOptions, SparseRoute } from './route.js';

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
   * Loads from a module folder: tokenizer files plus `model.safetensors` or `pytorch_model.bin` (one tensor `weight`),
   * or, when there is no weights file, an `idf.json` `{token: weight}` (or the JSON file named
   * by a `path` entry of the module's config.json).
   */
  static async load(folder: string, engine: TokenizerEngineKind = 'native'): Promise<SparseStaticEmbedding> {
    const tokenizer = await TextTokenizer.fromFolder(folder, { addSpecialTokens: false, engine });
    const found = await locateWeights(folder);
    if (found !== undefined) {
      const st = found.path;
      const dict = await loadStateDict(folder);
      const w = dict.get('weight');
      if (w === undefined) {
        throw new SparseEncoderError('ERR_MISSING_WEIGHT', `${st} has no tensor "weight" (found: ${[...dict.keys()].join(', ') || 'none'})`, {
          details: { path: st, tensor: 'weight' },
        });
      }
      if (w.shape.length !== 1) {
        throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `${st}: tensor "weight" has shape [${w.shape.join(', ')}], expected one dimension`, {
          details: { path: st, tensor: 'weight' },
        });
      }
      return new SparseStaticEmbedding(tokenizer, w.data);
    }
    const configPath = join(folder, 'config.json');
    const config = (await readJsonObject(configPath)) ?? {};
    const jsonName = optionalString(config, 'path', configPath) ?? 'idf.json';
    const jsonPath = join(folder, jsonName);
    if (!existsSync(jsonPath)) {
      throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `SparseStaticEmbedding in ${folder} has neither model.safetensors nor ${jsonName}`, {
        details: { path: folder },
      });
    }
    return new SparseStaticEmbedding(tokenizer, await weightsFromJson(jsonPath, tokenizer));
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

  async encode(texts: readonly string[], options: RouteEncodeOptions = {}): Promise<SparseVector[]> {
    const via = options.tokenizeWith;
    return this.encodeTokens(via === undefined ? await this.tokenizer.encode(texts) : await via.tokenize(texts.map((t) => via.prepare(t))), options);
  }

  async encodeTokens(batch: TokenizedBatch, options: RouteEncodeOptions = {}): Promise<SparseVector[]> {
    return batch.ids.map((row) => {
      const v = this.vectorOf(row);
      return options.maxActiveDims === undefined ? v : topKByMagnitude(v, options.maxActiveDims);
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

/**
 * `{token: weight}` → weight vector, as sentence-transformers' `SparseStaticEmbedding.from_json`:
 * tokens map through the vocabulary, an unknown token sets the unknown-token weight, later keys
 * overwrite earlier ones. Unlike the Python code (vector length max(id)+1) the vector always
 * spans the whole vocabulary, so query vectors keep the document side's dimension.
 */
async function weightsFromJson(path: string, tokenizer: TextTokenizer): Promise<Float32Array> {
  const raw = await readJson(path);
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
    entries.push([id, weight]);
    if (id > maxId) maxId = id;
  }
  const out = new Float32Array(maxId + 1);
  for (const [id, w] of entries) out[id] = w;
  return out;
}
