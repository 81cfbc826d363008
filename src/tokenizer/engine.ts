import { SparseEncoderError } from '../errors.js';

/**
 * What `TextTokenizer` needs from a tokenizer implementation: the native Rust `tokenizers` bindings
 * (Node) or the pure-JavaScript `@huggingface/tokenizers` (anywhere JavaScript runs). Both read the
 * same `tokenizer.json` and give the same ids (test/tokenizer/engines.test.ts, every fixture).
 */
export type TokenizerEngineKind = 'native' | 'js';

/** One text's ids as the model sees them: special tokens as asked, truncated as configured. */
export interface EngineEncoding {
  ids: number[];
  typeIds: number[];
  /** Whether truncation cut the text. */
  truncated: boolean;
}

/** A token with its code-point span in the text (null for special tokens added around it). */
export interface EngineToken {
  id: number;
  token: string;
  special: boolean;
  start: number | null;
  stop: number | null;
}

/** The special tokens a tokenizer puts around a single text ([CLS] … [SEP], <s> … </s>) and their type ids. */
export interface SpecialTemplate {
  prefix: number[];
  suffix: number[];
  prefixTypes: number[];
  suffixTypes: number[];
  /** The type id of the text's own tokens. */
  textType: number;
}

export interface TokenizerEngine {
  readonly kind: TokenizerEngineKind;
  /**
   * Encodes texts as they are; with `maxLength`, truncated to that many tokens, special tokens
   * included (longest_first, right side: the text's first tokens are kept).
   */
  encode(texts: readonly string[], addSpecialTokens: boolean, maxLength: number | undefined): Promise<EngineEncoding[]>;
  /** Each text's own tokens, never truncated, without special tokens. */
  content(texts: readonly string[]): Promise<number[][]>;
  template(): Promise<SpecialTemplate>;
  /**
   * Tokens with code-point offsets (for /tokenize), truncated as configured or (`truncate` false)
   * not at all; engines without offsets throw ERR_TOKENIZER.
   */
  tokens(text: string, addSpecialTokens: boolean, truncate: boolean): Promise<EngineToken[]>;
  decode(ids: readonly number[], skipSpecialTokens: boolean): Promise<string>;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** Vocabulary size including added tokens. */
  readonly vocabSize: number;
}

/**
 * The largest token id a tokenizer may hold. The largest published vocabularies are about 262k
 * (Gemma 3, XLM-R 250k); ids index an embedding matrix and per-id tables (an idf vector), so an id
 * of 2^31 in a hostile tokenizer.json would otherwise size an 8 GiB table, or make the JavaScript
 * engine walk a 2^31-slot array (found by fuzzing: 90 s for one load).
 */
export const MAX_TOKEN_ID = 2 ** 24 - 1;

/** The first line of an error's message. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** Runs a tokenizer call, turning whatever it throws into ERR_TOKENIZER. */
export async function tokenizerCall<T>(what: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof SparseEncoderError) throw err;
    throw new SparseEncoderError('ERR_TOKENIZER', `${what} failed: ${firstLine(err)}`, { cause: err });
  }
}
