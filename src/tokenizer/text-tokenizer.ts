import { SparseEncoderError } from '../errors.js';
import type { SpecialTemplate, TokenizerEngine, TokenizerEngineKind } from './engine.js';

export type { TokenizerEngineKind } from './engine.js';

// Portable: no Node built-in, no native package. Files are read by tokenizer-folder.ts (Node), or
// handed over by the caller (edge.ts); the engine is given.

/**
 * transformers writes `model_max_length = int(1e30)` when a tokenizer has no limit; anything this
 * large means "no limit".
 */
const NO_LIMIT = 1e20;

/**
 * Tokenizer classes whose `model_input_names` leave out `token_type_ids` in transformers, so their
 * tokenizers do not return them even though tokenizer.json could produce them.
 */
const NO_TOKEN_TYPE_CLASSES = new Set([
  'DistilBertTokenizer', 'RobertaTokenizer', 'XLMRobertaTokenizer', 'CamembertTokenizer', 'GPT2Tokenizer',
  'BartTokenizer', 'LongformerTokenizer', 'MPNetTokenizer', 'T5Tokenizer', 'BloomTokenizer', 'LlamaTokenizer',
]);

export interface TextTokenizerOptions {
  /**
   * Truncate every text to this many tokens, special tokens included (longest_first, right side).
   * Default: the tokenizer's `model_max_length` from tokenizer_config.json, or no truncation.
   */
  maxLength?: number;
  /** Add the special tokens of the post-processor ([CLS]/[SEP], <s>/</s>). Default: true. */
  addSpecialTokens?: boolean;
  /** `native` (the Rust `tokenizers` bindings) or `js` (pure JavaScript, no offsets). Default `native`. */
  engine?: TokenizerEngineKind;
}

/** Which end of an over-long text truncation cuts off: `right` (the end, as sentence-transformers) or `left` (the start). */
export type TruncationDirection = 'right' | 'left';

/** Token ids of a batch, one unpadded row per text (padding is the runner's business). */
export interface TokenizedBatch {
  ids: number[][];
  /** Only for tokenizers that return token type ids (BERT-like); absent otherwise. */
  typeIds?: number[][];
  /** Whether truncation cut each row (the tokenizer's flag); absent where not known. */
  truncated?: boolean[];
}

/**
 * A long text cut into token windows: `rows[i]` is window i with the tokenizer's special tokens,
 * as the model would see a text of exactly those tokens.
 */
export interface TokenWindows {
  rows: number[][];
  /** Only for tokenizers that return token type ids. */
  typeIds?: number[][];
  /** The text's own tokens (special tokens not counted), before any cut. */
  textTokens: number;
}

/** The special tokens of special_tokens_map.json, by role (`cls_token`, `pad_token`, ...). */
export type SpecialTokensMap = Record<string, string>;

/**
 * A Hugging Face fast tokenizer (`tokenizer.json`) with the truncation sentence-transformers
 * applies and no padding, run by a {@link TokenizerEngine}: the native `tokenizers` bindings, or
 * the pure-JavaScript `@huggingface/tokenizers` (same ids; no offsets).
 */
export class TextTokenizer {
  private constructor(
    private readonly engine: TokenizerEngine,
    /** The folder the files were read from. */
    readonly folder: string,
    /** `model_max_length` of tokenizer_config.json; undefined when absent or "no limit". */
    readonly modelMaxLength: number | undefined,
    /** The truncation length in use (special tokens included); undefined: none. */
    readonly maxLength: number | undefined,
    readonly addSpecialTokens: boolean,
    /** Whether this tokenizer returns token_type_ids in transformers (BERT yes, RoBERTa/DistilBERT no). */
    readonly returnsTokenTypeIds: boolean,
    readonly specialTokens: SpecialTokensMap,
    /** `tokenizer_class` of tokenizer_config.json, e.g. `BertTokenizer`. */
    readonly tokenizerClass: string | undefined,
  ) {}

  /**
   * A tokenizer over `engine` with the settings of its `tokenizer_config.json` (`config`) and
   * special tokens map; `folder` names where it came from.
   */
  static create(engine: TokenizerEngine, config: Record<string, unknown>, specialTokens: SpecialTokensMap, options: Omit<TextTokenizerOptions, 'engine'> & { folder?: string } = {}): TextTokenizer {
    const folder = options.folder ?? '(in memory)';
    const modelMaxLength = modelMaxLengthOf(config);
    const maxLength = truncationLength(config, options.maxLength, folder);
    const tokenizerClass = typeof config['tokenizer_class'] === 'string' ? (config['tokenizer_class'] as string) : undefined;
    return new TextTokenizer(engine, folder, modelMaxLength, maxLength, options.addSpecialTokens ?? true, returnsTokenTypeIds(config, tokenizerClass), specialTokens, tokenizerClass);
  }

  /** Which implementation tokenizes. */
  get engineKind(): TokenizerEngineKind {
    return this.engine.kind;
  }

  /**
   * Tokenizes `texts` as they are (no strip, no prompt): one unpadded, truncated row per text.
   * `direction` `'left'` truncates from the start instead, keeping the text's last tokens (what
   * text-embeddings-inference's `truncation_direction: "left"` asks of the Rust library).
   */
  async encode(texts: readonly string[], direction: TruncationDirection = 'right', addSpecialTokens = this.addSpecialTokens): Promise<TokenizedBatch> {
    const encodings =
      direction === 'left' && this.maxLength !== undefined ? await this.leftTruncated(texts, this.maxLength, addSpecialTokens) : await this.engine.encode(texts, addSpecialTokens, this.maxLength);
    const ids = encodings.map((e) => e.ids);
    const truncated = encodings.map((e) => e.truncated);
    if (!this.returnsTokenTypeIds) return { ids, truncated };
    return { ids, typeIds: encodings.map((e) => e.typeIds), truncated };
  }

  /** The Rust library's left truncation of a single text: its last `maxLength - specials` tokens, then the special tokens. */
  private async leftTruncated(texts: readonly string[], maxLength: number, addSpecialTokens: boolean): Promise<Array<{ ids: number[]; typeIds: number[]; truncated: boolean }>> {
    const t: SpecialTemplate = addSpecialTokens ? await this.engine.template() : { prefix: [], suffix: [], prefixTypes: [], suffixTypes: [], textType: 0 };
    const room = Math.max(0, maxLength - t.prefix.length - t.suffix.length);
    return (await this.engine.content(texts)).map((ids) => {
      const kept = ids.length > room ? ids.slice(ids.length - room) : ids;
      return { ids: [...t.prefix, ...kept, ...t.suffix], typeIds: [...t.prefixTypes, ...new Array<number>(kept.length).fill(t.textType), ...t.suffixTypes], truncated: kept.length < ids.length };
    });
  }

  /**
   * Token counts of `texts` as {@link encode} tokenizes them, and whether truncation cut each one:
   * for token budgets and for refusing over-long inputs.
   */
  async lengths(texts: readonly string[], addSpecialTokens = this.addSpecialTokens): Promise<Array<{ tokens: number; truncated: boolean }>> {
    if (texts.length === 0) return [];
    return (await this.engine.encode(texts, addSpecialTokens, this.maxLength)).map((e) => ({ tokens: e.ids.length, truncated: e.truncated }));
  }

  /**
   * Each text cut into windows of at most `windowTokens` tokens, special tokens included: the
   * text's tokens (never truncated) in consecutive slices of `windowTokens - specials` tokens, each
   * wrapped in the special tokens this tokenizer adds to a single text ([CLS] … [SEP], <s> … </s>),
   * consecutive slices sharing `overlap` tokens (Hugging Face's `stride`). A text that fits is one
   * window, identical to {@link encode}'s row; an empty text is one window of the special tokens.
   */
  async windows(texts: readonly string[], windowTokens: number, overlap: number): Promise<TokenWindows[]> {
    const template: SpecialTemplate = this.addSpecialTokens ? await this.engine.template() : { prefix: [], suffix: [], prefixTypes: [], suffixTypes: [], textType: 0 };
    const room = windowTokens - template.prefix.length - template.suffix.length;
    if (!Number.isInteger(windowTokens) || room < 1) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `windowTokens must leave room for text beside the ${template.prefix.length + template.suffix.length} special tokens, got ${windowTokens}`);
    }
    if (!Number.isInteger(overlap) || overlap < 0 || overlap >= room) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `stride (tokens shared by consecutive windows) must be an integer from 0 to ${room - 1}, got ${overlap}`);
    }
    if (texts.length === 0) return [];
    return (await this.engine.content(texts)).map((ids) => {
      const rows: number[][] = [];
      const types: number[][] = [];
      for (let start = 0; ; start += room - overlap) {
        const end = Math.min(ids.length, start + room);
        rows.push([...template.prefix, ...ids.slice(start, end), ...template.suffix]);
        types.push([...template.prefixTypes, ...new Array<number>(end - start).fill(template.textType), ...template.suffixTypes]);
        if (end >= ids.length) break;
      }
      return this.returnsTokenTypeIds ? { rows, typeIds: types, textTokens: ids.length } : { rows, textTokens: ids.length };
    });
  }

  /**
   * Every token of `text` with its id, vocabulary string, whether it is special, and its byte span
   * in `text` (UTF-8; null for special tokens), as text-embeddings-inference's /tokenize reports;
   * truncated as {@link encode} truncates, or not at all (`truncate` false, as TEI's /tokenize).
   * The native engine only (ERR_TOKENIZER otherwise).
   */
  async tokens(text: string, addSpecialTokens: boolean, truncate = true): Promise<Array<{ id: number; token: string; special: boolean; start: number | null; stop: number | null }>> {
    const tokens = await this.engine.tokens(text, addSpecialTokens, truncate);
    // The engines report offsets in Unicode code points; TEI's are UTF-8 bytes.
    const byteAt = utf8Offsets(text);
    return tokens.map((t) => ({ ...t, start: t.start === null ? null : byteAt(t.start), stop: t.stop === null ? null : byteAt(t.stop) }));
  }

  /** The text of `ids` (`skipSpecialTokens`: leave out [CLS], [SEP], <s> ...). */
  async decodeIds(ids: readonly number[], skipSpecialTokens: boolean): Promise<string> {
    const size = this.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= size) throw new SparseEncoderError('ERR_INVALID_INPUT', `token id ${id} is outside the vocabulary (0..${size - 1})`);
    }
    return this.engine.decode(ids, skipSpecialTokens);
  }

  /** The vocabulary string of `id` (`##ing`, `Ġworld`, `[CLS]`), or undefined outside the vocabulary. */
  idToToken(id: number): string | undefined {
    return this.engine.idToToken(id);
  }

  tokenToId(token: string): number | undefined {
    return this.engine.tokenToId(token);
  }

  /** Vocabulary size including added tokens. */
  get vocabSize(): number {
    return this.engine.vocabSize;
  }

  /** Id of the padding token (special_tokens_map.json `pad_token`), if the vocabulary has it. */
  get padTokenId(): number | undefined {
    const pad = this.specialTokens['pad_token'];
    return pad === undefined ? undefined : this.tokenToId(pad);
  }
}

/** Maps a code-point offset of `text` (as the bindings count) to a UTF-8 byte offset. */
function utf8Offsets(text: string): (codePointOffset: number) => number {
  const bytes = [0];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    bytes.push(bytes[bytes.length - 1]! + (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4));
  }
  return (o) => bytes[Math.max(0, Math.min(bytes.length - 1, o))]!;
}


/** The truncation length: `maxLength` if given, else the config's `model_max_length`; checked. */
export function truncationLength(config: Record<string, unknown>, maxLength: number | undefined, where: string): number | undefined {
  const n = maxLength ?? modelMaxLengthOf(config);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `max length ${n} for the tokenizer in ${where} is not a positive integer`);
  }
  return n;
}

/** `model_max_length` of a tokenizer_config.json object; undefined when absent or "no limit". */
export function modelMaxLengthOf(config: Record<string, unknown>): number | undefined {
  const raw = config['model_max_length'];
  return typeof raw === 'number' && Number.isInteger(raw) && raw > 0 && raw < NO_LIMIT ? raw : undefined;
}

/**
 * special_tokens_map.json in either form transformers writes: `"cls_token": "[CLS]"` or
 * `"cls_token": {"content": "[CLS]", ...}`. Lists (`additional_special_tokens`) are skipped.
 */
export function specialTokensOf(raw: Record<string, unknown>): SpecialTokensMap {
  const out: SpecialTokensMap = {};
  for (const [role, value] of Object.entries(raw)) {
    if (typeof value === 'string') out[role] = value;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const content = (value as Record<string, unknown>)['content'];
      if (typeof content === 'string') out[role] = content;
    }
  }
  return out;
}

function returnsTokenTypeIds(config: Record<string, unknown>, tokenizerClass: string | undefined): boolean {
  const names = config['model_input_names'];
  if (Array.isArray(names)) return names.includes('token_type_ids');
  if (tokenizerClass === undefined) return true; // transformers' default model_input_names include them
  return !NO_TOKEN_TYPE_CLASSES.has(tokenizerClass.replace(/Fast$/, ''));
}
