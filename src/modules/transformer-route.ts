import type { TextTokenizer, TokenizedBatch } from '../tokenizer/text-tokenizer.js';
import type { RouteEncodeOptions } from './route.js';
import type { TransformerInput } from './transformer-input.js';

/**
 * What every route that starts with a transformer shares: its text preparation (strip, case),
 * tokenizer and truncation length all come from the transformer module's own files.
 */
export abstract class TransformerRoute {
  protected constructor(protected readonly input: TransformerInput) {}

  get maxSeqLength(): number | undefined {
    return this.input.maxSeqLength;
  }

  get tokenizer(): TextTokenizer {
    return this.input.tokenizer;
  }

  prepare(text: string): string {
    return this.input.prepare(text);
  }

  tokenize(texts: readonly string[]): Promise<TokenizedBatch> {
    return this.input.tokenize(texts);
  }

  tokenizeForEncode(texts: readonly string[], options: RouteEncodeOptions = {}): Promise<TokenizedBatch> {
    return this.input.tokenize(texts.map((t) => this.input.prepare(t)), options.truncationDirection, options.addSpecialTokens ?? true);
  }
}
