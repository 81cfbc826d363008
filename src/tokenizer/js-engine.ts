import { Tokenizer } from '@huggingface/tokenizers';
import { SparseEncoderError } from '../errors.js';
import { firstLine, MAX_TOKEN_ID, tokenizerCall, type EngineEncoding, type EngineToken, type SpecialTemplate, type TokenizerEngine } from './engine.js';

/**
 * The pure-JavaScript `@huggingface/tokenizers` (Tokenizers.js): runs wherever JavaScript does
 * (browsers, Deno, Bun, workers). It encodes and decodes as the Rust library does (same ids on every
 * fixture text) but has no truncation and no offsets: truncation is done here as the Rust library
 * does it for a single text (keep the text's first `maxLength - specials` tokens, then add the
 * special tokens), and `tokens()` (byte spans) is not available.
 */
export class JsEngine implements TokenizerEngine {
  readonly kind = 'js' as const;
  private cachedTemplate: SpecialTemplate | undefined;
  readonly vocabSize: number;

  private constructor(private readonly tokenizer: Tokenizer) {
    this.vocabSize = tokenizer.get_vocab(true).size;
  }

  /** From a parsed `tokenizer.json` and `tokenizer_config.json`; `where` names it in errors. */
  /** From tokenizer.json (its text, or parsed); whatever it is not is ERR_TOKENIZER naming `where`. */
  static create(tokenizerJson: unknown, config: Record<string, unknown>, where: string): JsEngine {
    if (typeof tokenizerJson === 'string') {
      try {
        tokenizerJson = JSON.parse(tokenizerJson);
      } catch (err) {
        throw new SparseEncoderError('ERR_TOKENIZER', `cannot load ${where}: ${firstLine(err)}`, { cause: err, details: { path: where } });
      }
    }
    if (tokenizerJson === null || typeof tokenizerJson !== 'object' || Array.isArray(tokenizerJson)) {
      throw new SparseEncoderError('ERR_TOKENIZER', `cannot load ${where}: not a JSON object`, { details: { path: where } });
    }
    const badId = firstBadTokenId(tokenizerJson as Record<string, unknown>);
    if (badId !== undefined) {
      throw new SparseEncoderError('ERR_TOKENIZER', `cannot load ${where}: ${badId} (ids must be integers from 0 to ${MAX_TOKEN_ID})`, { details: { path: where } });
    }
    try {
      return new JsEngine(new Tokenizer(tokenizerJson, config));
    } catch (err) {
      throw new SparseEncoderError('ERR_TOKENIZER', `cannot load ${where}: ${firstLine(err)}`, { cause: err, details: { path: where } });
    }
  }

  async encode(texts: readonly string[], addSpecialTokens: boolean, maxLength: number | undefined): Promise<EngineEncoding[]> {
    const template: SpecialTemplate = addSpecialTokens ? await this.template() : { prefix: [], suffix: [], prefixTypes: [], suffixTypes: [], textType: 0 };
    const room = maxLength === undefined ? Infinity : maxLength - template.prefix.length - template.suffix.length;
    if (room < 0) throw new SparseEncoderError('ERR_TOKENIZER', `cannot truncate to ${maxLength} tokens: the special tokens alone take ${maxLength! - room}`);
    return (await this.content(texts)).map((ids) => {
      const kept = ids.length > room ? ids.slice(0, room) : ids;
      return {
        ids: [...template.prefix, ...kept, ...template.suffix],
        typeIds: [...template.prefixTypes, ...new Array<number>(kept.length).fill(template.textType), ...template.suffixTypes],
        truncated: kept.length < ids.length,
      };
    });
  }

  content(texts: readonly string[]): Promise<number[][]> {
    return tokenizerCall('tokenization', () => texts.map((t) => this.tokenizer.encode(t, { add_special_tokens: false }).ids));
  }

  /** Where a one-word text's own tokens sit inside its encoding with special tokens. */
  async template(): Promise<SpecialTemplate> {
    if (this.cachedTemplate !== undefined) return this.cachedTemplate;
    const t = await tokenizerCall('tokenization', () => ({
      wrapped: this.tokenizer.encode('a', { add_special_tokens: true, return_token_type_ids: true }) as { ids: number[]; token_type_ids?: number[] },
      bare: this.tokenizer.encode('a', { add_special_tokens: false }).ids as number[],
    }));
    const ids = t.wrapped.ids;
    const types = t.wrapped.token_type_ids ?? new Array<number>(ids.length).fill(0);
    let at = -1;
    for (let i = 0; i + t.bare.length <= ids.length && at < 0; i++) if (t.bare.every((id, j) => ids[i + j] === id)) at = i;
    if (at < 0) throw new SparseEncoderError('ERR_TOKENIZER', 'this tokenizer does not keep a text\'s tokens together when it adds its special tokens');
    const end = at + t.bare.length;
    this.cachedTemplate = { prefix: ids.slice(0, at), suffix: ids.slice(end), prefixTypes: types.slice(0, at), suffixTypes: types.slice(end), textType: types[at] ?? 0 };
    return this.cachedTemplate;
  }

  tokens(): Promise<EngineToken[]> {
    return Promise.reject(new SparseEncoderError('ERR_TOKENIZER', 'the pure-JavaScript tokenizer gives no token offsets: use the native tokenizer (Node) for byte spans'));
  }

  decode(ids: readonly number[], skipSpecialTokens: boolean): Promise<string> {
    // The Rust library's decode, which does not clean up tokenization spaces (transformers does that in Python).
    return tokenizerCall('decoding', () => this.tokenizer.decode(ids as number[], { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: false }));
  }

  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id) ?? undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token) ?? undefined;
  }
}

/**
 * The first token id of tokenizer.json that the Rust library would refuse (it reads ids as u32) or
 * that exceeds MAX_TOKEN_ID, described; undefined when all are fine. Tokenizers.js stores the
 * vocabulary as an array indexed by id, so one huge id makes every walk over it take minutes.
 * Unigram vocabularies (`[[token, score], ...]`) number their tokens by position.
 */
function firstBadTokenId(json: Record<string, unknown>): string | undefined {
  const ok = (id: unknown): boolean => Number.isInteger(id) && (id as number) >= 0 && (id as number) <= MAX_TOKEN_ID;
  const model = json['model'];
  const vocab = model !== null && typeof model === 'object' ? (model as Record<string, unknown>)['vocab'] : undefined;
  if (vocab !== null && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const [token, id] of Object.entries(vocab)) if (!ok(id)) return `model.vocab gives ${JSON.stringify(token)} the id ${JSON.stringify(id)}`;
  }
  const added = json['added_tokens'];
  if (Array.isArray(added)) {
    for (const t of added as unknown[]) {
      const id = t !== null && typeof t === 'object' ? (t as Record<string, unknown>)['id'] : undefined;
      if (!ok(id)) return `added_tokens has the id ${JSON.stringify(id)}`;
    }
  }
  return undefined;
}
