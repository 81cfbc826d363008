import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { assertRegularFile, readRegularFile } from '../files/local-files.js';
import { firstLine, type TokenizerEngine } from './engine.js';
import type { TokenizerSource } from './native-engine.js';
import { tokenizerJsonFromSlowFiles } from './slow-conversion.js';
import { specialTokensOf, TextTokenizer, truncationLength, type SpecialTokensMap, type TextTokenizerOptions } from './text-tokenizer.js';

/**
 * A tokenizer from a model folder on disk (Node): `tokenizer.json`, `tokenizer_config.json` and
 * `special_tokens_map.json`; without tokenizer.json, a BERT/DistilBERT `vocab.txt` or RoBERTa
 * `vocab.json` + `merges.txt` converted as transformers converts slow tokenizers. Run by the native
 * Rust bindings (default) or the pure-JavaScript engine (`engine: 'js'`).
 */
export async function loadTokenizer(folder: string, options: TextTokenizerOptions = {}): Promise<TextTokenizer> {
  const file = join(folder, 'tokenizer.json');
  const config = await readTokenizerConfig(folder);
  const specialTokens = await readSpecialTokensMap(folder);
  const kind = options.engine ?? 'native';
  if (kind !== 'native' && kind !== 'js') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `tokenizer engine must be "native" or "js", got ${JSON.stringify(kind)}`);
  let source: TokenizerSource;
  if (existsSync(file)) {
    // The native library reads the file itself: check it is a regular file of sane size first.
    await assertRegularFile(file, 'tokenizer file');
    source = { file };
  } else {
    const json = await tokenizerJsonFromSlowFiles(folder, config, specialTokens);
    if (json === undefined) {
      throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `no tokenizer in ${folder}: looked for tokenizer.json, vocab.txt, vocab.json + merges.txt`, {
        details: { path: file },
      });
    }
    source = { json };
  }
  const { maxLength, addSpecialTokens } = options;
  const settings = { folder, ...(maxLength !== undefined ? { maxLength } : {}), ...(addSpecialTokens !== undefined ? { addSpecialTokens } : {}) };
  const where = 'file' in source ? file : `the vocabulary files in ${folder}`;
  // Each engine's package is imported only when chosen: the native addon must not load (or fail to) where the JavaScript one runs (Deno without --allow-ffi).
  const engine: TokenizerEngine =
    kind === 'native'
      ? (await import('./native-engine.js')).NativeEngine.create(source, truncationLength(config, maxLength, folder), where)
      : (await import('./js-engine.js')).JsEngine.create(await tokenizerJsonOf(source, file), config, where);
  return TextTokenizer.create(engine, config, specialTokens, settings);
}

/** The parsed tokenizer.json of a source (read with the size bound of model files). */
async function tokenizerJsonOf(source: TokenizerSource, file: string): Promise<unknown> {
  try {
    return JSON.parse('json' in source ? source.json : (await readRegularFile(file, 'tokenizer file')).toString('utf8'));
  } catch (err) {
    if (err instanceof SparseEncoderError) throw err;
    throw new SparseEncoderError('ERR_TOKENIZER', `cannot load ${file}: ${firstLine(err)}`, { cause: err, details: { path: file } });
  }
}

async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readRegularFile(path, 'tokenizer config')).toString('utf8'));
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
  return (await readJsonObject(join(folder, 'tokenizer_config.json'))) ?? {};
}

/** special_tokens_map.json (either form transformers writes; empty when the file is missing). */
export async function readSpecialTokensMap(folder: string): Promise<SpecialTokensMap> {
  return specialTokensOf((await readJsonObject(join(folder, 'special_tokens_map.json'))) ?? {});
}
