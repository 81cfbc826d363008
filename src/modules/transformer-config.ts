import { SparseEncoderError } from '../errors.js';
import { joinPath } from '../files/model-fs.js';
import { readJsonObject, optionalBoolean, optionalNumber, optionalString, type JsonObject } from './json.js';

/**
 * The settings of a `MLMTransformer` / `Transformer` module that shape its input, read from
 * `sentence_bert_config.json` (5.x: `max_seq_length`, `do_lower_case`; 6.x: `transformer_task`,
 * no length) and resolved the way sentence-transformers does.
 */
export interface TransformerModuleConfig {
  /** Folder holding config.json, the weights and the tokenizer files. */
  readonly folder: string;
  /** The transformers config.json, as parsed JSON. */
  readonly modelConfig: JsonObject;
  /** Truncation length in tokens, special tokens included. */
  readonly maxSeqLength: number | undefined;
  /** Lower-case texts before tokenizing (rarely set: BERT lowercases in its own normalizer). */
  readonly doLowerCase: boolean;
  /** 6.x `transformer_task` (`fill-mask` for SPLADE MLMs); undefined in 5.x files. */
  readonly transformerTask: string | undefined;
}

export async function readTransformerModuleConfig(folder: string, tokenizerModelMaxLength: number | undefined): Promise<TransformerModuleConfig> {
  const configPath = joinPath(folder, 'config.json');
  const modelConfig = await readJsonObject(configPath);
  if (modelConfig === undefined) {
    throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `no config.json in ${folder}: not a transformers model folder`, { details: { path: configPath } });
  }
  const stPath = joinPath(folder, 'sentence_bert_config.json');
  const st = (await readJsonObject(stPath)) ?? {};
  let maxSeqLength = optionalNumber(st, 'max_seq_length', stPath);
  if (maxSeqLength === undefined) {
    // sentence-transformers: min(max_position_embeddings, tokenizer.model_max_length), either when alone.
    const maxPos = optionalNumber(modelConfig, 'max_position_embeddings', configPath);
    const candidates = [maxPos, tokenizerModelMaxLength].filter((x): x is number => x !== undefined);
    maxSeqLength = candidates.length === 0 ? undefined : Math.min(...candidates);
  }
  if (maxSeqLength !== undefined && (!Number.isInteger(maxSeqLength) || maxSeqLength < 1)) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${stPath}: max_seq_length must be a positive integer, got ${maxSeqLength}`);
  }
  return {
    folder,
    modelConfig,
    maxSeqLength,
    doLowerCase: optionalBoolean(st, 'do_lower_case', stPath) ?? false,
    transformerTask: optionalString(st, 'transformer_task', stPath),
  };
}

/** `architectures[0]` of config.json, if any. */
export function architectureOf(modelConfig: JsonObject): string | undefined {
  const a = modelConfig['architectures'];
  return Array.isArray(a) && typeof a[0] === 'string' ? a[0] : undefined;
}
