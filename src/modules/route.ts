import type { SparseVector } from '../sparse/vector.js';
import type { TextTokenizer, TokenizedBatch, TruncationDirection } from '../tokenizer/text-tokenizer.js';

/**
 * Whose behaviour to reproduce where sentence-transformers versions differ: `'6'` (current) hands
 * the tokenizer `prompt + text` verbatim; `'5'` strips it first (Python `str.strip()`) and keeps
 * 5.x's Router quirk with `max_active_dims` (a static query route then tokenizes as the default
 * route does). Both return an all-zero vector for an empty static query, which 5.x raised on.
 */
export type SentenceTransformersCompat = '5' | '6';

/** Per-call options a route receives. */
export interface RouteEncodeOptions {
  /**
   * Keep at most this many non-zeros per vector (largest |value|). For a SparseAutoEncoder it is
   * also the SAE's own top-k. Undefined: the route's default (the SAE's `k`, otherwise no limit).
   */
  maxActiveDims?: number;
  /**
   * Tokenize with this route instead (its text preparation, special tokens and truncation). Only
   * a static route honours it: sentence-transformers 5.x's Router, given `max_active_dims`, retried
   * `SparseStaticEmbedding.tokenize` through its default route (ORACLE.md, Quirk 2).
   */
  tokenizeWith?: Pick<SparseRoute, 'prepare' | 'tokenize'>;
  /** Which end of an over-long text is cut off. Default `right`. */
  truncationDirection?: TruncationDirection;
  /** `false`: the tokenizer adds no special tokens to the text (TEI's token-id inputs). Default true. */
  addSpecialTokens?: boolean;
}

/** What the tokenizer sees for a text, for inspection and parity tests. */
export interface TokenizedText {
  /** The exact string handed to the tokenizer (after strip / lower-casing). */
  tokenizerInput: string;
  inputIds: number[];
  /** Only for tokenizers that return them (BERT-like). */
  tokenTypeIds?: number[];
}

/**
 * One complete text → sparse vector pipeline: a plain model has one, a Router has one per route.
 * Texts arrive with the prompt already prepended; the route applies its own input cleaning.
 */
export interface SparseRoute {
  /** `splade` (fused MLM + SpladePooling), `static` (SparseStaticEmbedding), `csr` (Transformer + Pooling + SparseAutoEncoder). */
  readonly kind: 'splade' | 'static' | 'csr';
  /** Output dimension (vocabulary size or SAE hidden size). */
  readonly dim: number;
  /** Truncation length in tokens (special tokens included), if any. */
  readonly maxSeqLength: number | undefined;
  /** Default for `maxActiveDims` (the SAE's `k`), or undefined. */
  readonly defaultMaxActiveDims: number | undefined;
  /**
   * How the vectors of one long text's token windows merge into the text's vector, by the route's
   * own pooling rule: `max` (SpladePooling max; a static route's presence vector), `sum`
   * (SpladePooling sum: windows must not overlap), or undefined where windows have no meaning
   * (CSR's mean pooling feeds a top-k autoencoder).
   */
  readonly windowMerge: 'max' | 'sum' | undefined;
  /** The tokenizer of the route's first module. */
  readonly tokenizer: TextTokenizer;
  /** The string the tokenizer will see for `text`. */
  prepare(text: string): string;
  /** Tokenizes prepared texts exactly as {@link encode} does by default. */
  tokenize(texts: readonly string[]): Promise<TokenizedBatch>;
  /**
   * Tokenizes texts (not yet prepared) exactly as {@link encode} does with these options (special
   * tokens, truncation direction, the 5.x Router quirk): `encode(t, o)` is
   * `encodeTokens(await tokenizeForEncode(t, o), o)`, so a caller that needs the token counts first
   * tokenizes once.
   */
  tokenizeForEncode(texts: readonly string[], options?: RouteEncodeOptions): Promise<TokenizedBatch>;
  /** Encodes a batch (texts not yet prepared); one vector per text, in order. */
  encode(texts: readonly string[], options?: RouteEncodeOptions): Promise<SparseVector[]>;
  /** Encodes token rows as {@link tokenize} makes them (special tokens included); one vector per row. */
  encodeTokens(batch: TokenizedBatch, options?: RouteEncodeOptions): Promise<SparseVector[]>;
  /**
   * As {@link encodeTokens}, and for each active term the position in the row of the token that
   * produced it (SPLADE max pooling: the position whose logit won; a static route: the token's first
   * occurrence). Absent where a term has no one token (sum pooling, CSR's latent dimensions).
   */
  explainTokens?(batch: TokenizedBatch): Promise<Array<{ vector: SparseVector; positions: Uint32Array }>>;
  dispose(): Promise<void>;
}

/** Tokenizes `text` through `route` for inspection. */
export async function inspectRoute(route: SparseRoute, text: string): Promise<TokenizedText> {
  const tokenizerInput = route.prepare(text);
  const batch = await route.tokenize([tokenizerInput]);
  const out: TokenizedText = { tokenizerInput, inputIds: batch.ids[0]! };
  if (batch.typeIds) out.tokenTypeIds = batch.typeIds[0]!;
  return out;
}
