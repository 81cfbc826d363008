import { SparseEncoderError } from '../errors.js';
import { exists, joinPath } from '../files/model-fs.js';
import type { TokenizerEngineKind } from '../tokenizer/text-tokenizer.js';
import { loadTokenizer } from '../tokenizer/tokenizer-folder.js';
import { loadStateDict, locateWeights } from '../weights/load.js';
import { optionalString, readJson, readJsonObject } from './json.js';
import { SparseStaticEmbedding } from './sparse-static-embedding.js';

/**
 * A SparseStaticEmbedding from its module folder (on disk or in memory: files/model-fs.ts): tokenizer files plus `model.safetensors` or
 * `pytorch_model.bin` (one tensor `weight`), or, when there is no weights file, an `idf.json`
 * `{token: weight}` (or the JSON file named by a `path` entry of the module's config.json).
 */
export async function loadSparseStaticEmbedding(folder: string, engine: TokenizerEngineKind = 'native'): Promise<SparseStaticEmbedding> {
  const tokenizer = await loadTokenizer(folder, { addSpecialTokens: false, engine });
  const found = await locateWeights(folder);
  if (found !== undefined) return SparseStaticEmbedding.fromStateDict(tokenizer, await loadStateDict(folder), found.path);
  const configPath = joinPath(folder, 'config.json');
  const config = (await readJsonObject(configPath)) ?? {};
  const jsonName = optionalString(config, 'path', configPath) ?? 'idf.json';
  const jsonPath = joinPath(folder, jsonName);
  if (!(await exists(jsonPath))) {
    throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `SparseStaticEmbedding in ${folder} has neither model.safetensors nor ${jsonName}`, {
      details: { path: folder },
    });
  }
  return SparseStaticEmbedding.fromIdf(tokenizer, await readJson(jsonPath), jsonPath);
}
