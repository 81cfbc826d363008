import { SparseEncoderError } from '../errors.js';
import { exists, joinPath, readText } from '../files/model-fs.js';
import { firstLine, type TokenizerEngine } from './engine.js';
import { JsEngine } from './js-engine.js';
// The platform seam (package.json imports): the Rust bindings under Node, a refusal elsewhere; loaded only when chosen.
import type * as NativeEngines from './native-engine.js';
import { tokenizerJsonFromSlowFiles } from './slow-conversion.js';
import { specialTokensOf, TextTokenizer, truncationLength, type SpecialTokensMap, type TextTokenizerOptions } from './text-tokenizer.js';

/**
 * A tokenizer from a model folder (on disk, or in memory: files/model-fs.ts): `tokenizer.json`, `tokenizer_config.json` and
 * `special_tokens_map.json`; without tokenizer.json, a BERT/DistilBERT `vocab.txt` or RoBERTa
 * `vocab.json` + `merges.txt` converted as transformers converts slow tokenizers. Run by the native
 * Rust bindings (default) or the pure-JavaScript engine (`engine: 'js'`).
 */
export async function loadTokenizer(folder: string, options: TextTokenizerOptions = {}): Promise<TextTokenizer> {
  const file = joinPath(folder, 'tokenizer.json');
  const config = await readTokenizerConfig(folder);
  const specialTokens = await readSpecialTokensMap(folder);
  const kind = options.engine ?? 'native';
  if (kind !== 'native' && kind !== 'js') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `tokenizer engine must be "native" or "js", got ${JSON.stringify(kind)}`);
  const fromFile = await exists(file);
  let json: string;
  if (fromFile) json = await readText(file, 'tokenizer file');
  else {
    const converted = await tokenizerJsonFromSlowFiles(folder, config, specialTokens);
    if (converted === undefined) {
      throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `no tokenizer in ${folder}: looked for tokenizer.json, vocab.txt, vocab.json + merges.txt`, {
        details: { path: file },
      });
    }
    json = converted;
  }
  const { maxLength, addSpecialTokens } = options;
  const settings = { folder, ...(maxLength !== undefined ? { maxLength } : {}), ...(addSpecialTokens !== undefined ? { addSpecialTokens } : {}) };
  const where = fromFile ? file : `the vocabulary files in ${folder}`;
  // The native addon loads only when chosen: it must not load (or fail to) where the JavaScript engine runs (Deno without --allow-ffi).
  const engine: TokenizerEngine =
    kind === 'native'
      ? ((await import('#native-tokenizer')) as typeof NativeEngines).NativeEngine.create(json, truncationLength(config, maxLength, folder), where)
      : JsEngine.create(json, config, where);
  return TextTokenizer.create(engine, config, specialTokens, settings);
}

async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  if (!(await exists(path))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(path, 'tokenizer config'));
  } catch (err) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path} is not valid JSON: ${firstLine(err)}`, { cause: err, details: { path } });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path} must hold a JSON object`, { details: { path } });
  }
  return parsed as Record<string, unknown>;
}

/** tokenizer_config.json as an object (empty when the file is missing). */
export async function readTokenizerConfig(folder: string): Promise<Record<string, unknown>> {
  return (await readJsonObject(joinPath(folder, 'tokenizer_config.json'))) ?? {};
}

/** special_tokens_map.json (either form transformers writes; empty when the file is missing). */
export async function readSpecialTokensMap(folder: string): Promise<SpecialTokensMap> {
  return specialTokensOf((await readJsonObject(joinPath(folder, 'special_tokens_map.json'))) ?? {});
}
