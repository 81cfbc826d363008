import { SparseEncoderError } from '../errors.js';
import { parseTransformerConfig, type TransformerConfig } from '../graph/config.js';
import { pythonStrip } from '../tokenizer/strip.js';
import { modelMaxLengthOf, type TextTokenizer, type TokenizedBatch, type TokenizerEngineKind, type TruncationDirection } from '../tokenizer/text-tokenizer.js';
import { loadTokenizer, readTokenizerConfig } from '../tokenizer/tokenizer-folder.js';
import type { SentenceTransformersCompat } from './route.js';
import { readTransformerModuleConfig, type TransformerModuleConfig } from './transformer-config.js';

/**
 * The input side shared by every transformer-backed route: the module config, the parsed
 * transformers config and a tokenizer truncating at `max_seq_length`, plus the cleaning
 * sentence-transformers applies (5.x: Python `str.strip()`; 6.x: none; optional lower-casing).
 */
export class TransformerInput {
  private constructor(
    readonly module: TransformerModuleConfig,
    readonly config: TransformerConfig,
    readonly tokenizer: TextTokenizer,
    readonly maxSeqLength: number | undefined,
    private readonly strip: boolean,
  ) {}

  static async load(folder: string, compat: SentenceTransformersCompat = '6', engine: TokenizerEngineKind = 'native'): Promise<TransformerInput> {
    const tokenizerModelMax = modelMaxLengthOf(await readTokenizerConfig(folder));
    const module = await readTransformerModuleConfig(folder, tokenizerModelMax);
    const config = parseTransformerConfig(module.modelConfig);
    // A length past the position table would fail inside the runtime; Python fails there too.
    const maxSeqLength = Math.min(module.maxSeqLength ?? config.maxSequenceLength, config.maxSequenceLength);
    const tokenizer = await loadTokenizer(folder, { maxLength: maxSeqLength, addSpecialTokens: true, engine });
    return new TransformerInput(module, config, tokenizer, maxSeqLength, compat === '5');
  }

  /** The string the tokenizer sees: 5.x strips it (6.x hands it over verbatim), then the module's lower-casing. */
  prepare(text: string): string {
    const cleaned = this.strip ? pythonStrip(text) : text;
    return this.module.doLowerCase ? cleaned.toLowerCase() : cleaned;
  }

  /** Tokenizes prepared texts and checks every id fits the model's embedding table. */
  async tokenize(texts: readonly string[], direction: TruncationDirection = 'right', addSpecialTokens = true): Promise<TokenizedBatch> {
    const batch = await this.tokenizer.encode(texts, direction, addSpecialTokens);
    const vocab = this.config.vocabSize;
    for (let r = 0; r < batch.ids.length; r++) {
      for (const id of batch.ids[r]!) {
        if (id >= vocab) {
          throw new SparseEncoderError('ERR_TOKENIZER', `token id ${id} of text ${r} is outside the model's vocabulary of ${vocab} (tokenizer and model do not match)`, {
            details: { folder: this.module.folder, id },
          });
        }
      }
    }
    return batch;
  }
}
