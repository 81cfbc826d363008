import { Tokenizer } from 'tokenizers';
import { SparseEncoderError } from '../errors.js';
import { firstLine, tokenizerCall, type EngineEncoding, type EngineToken, type SpecialTemplate, type TokenizerEngine } from './engine.js';

/**
 * The official Rust `tokenizers` bindings: truncation by the library itself, offsets, special-token
 * masks. Node only (a native addon).
 */
export class NativeEngine implements TokenizerEngine {
  readonly kind = 'native' as const;
  /** A second instance without truncation or special tokens, for windows (settings are per instance). */
  private untruncated: Tokenizer | undefined;
  private cachedTemplate: SpecialTemplate | undefined;

  private constructor(
    private readonly tokenizer: Tokenizer,
    /** tokenizer.json's text, to build a second instance from. */
    private readonly json: string,
    private readonly maxLength: number | undefined,
  ) {}

  /** Loads the tokenizer (tokenizer.json's text) and sets its truncation to `maxLength` (special tokens included); `where` names it in errors. */
  static create(json: string, maxLength: number | undefined, where: string): NativeEngine {
    let tokenizer: Tokenizer;
    try {
      tokenizer = Tokenizer.fromString(json);
    } catch (err) {
      throw new SparseEncoderError('ERR_TOKENIZER', `cannot load ${where}: ${firstLine(err)}`, { cause: err, details: { path: where } });
    }
    // tokenizer.json may carry its own padding/truncation; we decide both here. (The bindings want
    // the strategy as the enum name but the direction in lower case.)
    tokenizer.disablePadding();
    if (maxLength === undefined) tokenizer.disableTruncation();
    else {
      try {
        tokenizer.setTruncation(maxLength, { strategy: 'LongestFirst' as never, direction: 'right' });
      } catch (err) {
        throw new SparseEncoderError('ERR_TOKENIZER', `cannot truncate to ${maxLength} tokens with ${where}: ${firstLine(err)}`, { cause: err });
      }
    }
    return new NativeEngine(tokenizer, json, maxLength);
  }

  async encode(texts: readonly string[], addSpecialTokens: boolean, maxLength: number | undefined): Promise<EngineEncoding[]> {
    if (maxLength !== this.maxLength) throw new Error('NativeEngine: truncation is set at creation');
    const encodings = await tokenizerCall('tokenization', () => this.tokenizer.encodeBatch(texts as string[], { addSpecialTokens }));
    const out = encodings.map((e) => ({ ids: e.getIds(), typeIds: e.getTypeIds(), truncated: e.getOverflowing().length > 0 }));
    // Without special tokens the bindings record no overflow: a full row may have been cut, which the untruncated text tells.
    const full = maxLength === undefined || addSpecialTokens ? [] : out.flatMap((e, i) => (e.ids.length >= maxLength ? [i] : []));
    if (full.length > 0) {
      const content = await this.content(full.map((i) => texts[i]!));
      full.forEach((i, j) => (out[i]!.truncated = content[j]!.length > maxLength!));
    }
    return out;
  }

  /** The instance without truncation, made on first use. */
  private twin(): Tokenizer {
    if (this.untruncated === undefined) {
      const t = Tokenizer.fromString(this.json);
      t.disablePadding();
      t.disableTruncation();
      this.untruncated = t;
    }
    return this.untruncated;
  }

  async content(texts: readonly string[]): Promise<number[][]> {
    const twin = this.twin();
    return (await tokenizerCall('tokenization', () => twin.encodeBatch(texts as string[], { addSpecialTokens: false }))).map((e) => e.getIds());
  }

  /** Read from how the tokenizer wraps a one-word text: its special-token mask marks the template's tokens. */
  async template(): Promise<SpecialTemplate> {
    if (this.cachedTemplate !== undefined) return this.cachedTemplate;
    const e = await tokenizerCall('tokenization', () => this.tokenizer.encode('a', null, { addSpecialTokens: true }));
    const ids = e.getIds();
    const types = e.getTypeIds();
    const special = e.getSpecialTokensMask();
    let first = 0;
    while (first < ids.length && special[first] === 1) first++;
    let last = ids.length;
    while (last > first && special[last - 1] === 1) last--;
    this.cachedTemplate = { prefix: ids.slice(0, first), suffix: ids.slice(last), prefixTypes: types.slice(0, first), suffixTypes: types.slice(last), textType: types[first] ?? 0 };
    return this.cachedTemplate;
  }

  async tokens(text: string, addSpecialTokens: boolean, truncate: boolean): Promise<EngineToken[]> {
    const tokenizer = truncate ? this.tokenizer : this.twin();
    const e = await tokenizerCall('tokenization', () => tokenizer.encode(text, null, { addSpecialTokens }));
    const tokens = e.getTokens();
    const offsets = e.getOffsets();
    const special = e.getSpecialTokensMask();
    return e.getIds().map((id, i) => {
      const isSpecial = special[i] === 1;
      const [start, stop] = offsets[i] ?? [0, 0];
      return { id, token: tokens[i] ?? '', special: isSpecial, start: isSpecial ? null : start!, stop: isSpecial ? null : stop! };
    });
  }

  decode(ids: readonly number[], skipSpecialTokens: boolean): Promise<string> {
    return tokenizerCall('decoding', () => this.tokenizer.decode(ids as number[], skipSpecialTokens));
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.idToToken(id) ?? undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.tokenToId(token) ?? undefined;
  }

  get vocabSize(): number {
    return this.tokenizer.getVocabSize(true);
  }
}
