import { SparseEncoderError } from '../errors.js';
import { joinPath } from '../files/model-fs.js';
import { readJsonObject } from '../modules/json.js';

export type SimilarityFnName = 'dot' | 'cosine';

/** `config_sentence_transformers.json`, resolved: prompts merged over the defaults. */
export interface EncoderConfig {
  /** Prompt name → prompt text; always has `query` and `document` (empty = no prompt). */
  readonly prompts: Readonly<Record<string, string>>;
  readonly defaultPromptName: string | undefined;
  readonly similarityFnName: SimilarityFnName;
}

/**
 * Reads the model-level config. As sentence-transformers does, prompts start from
 * `{query: "", document: ""}` and the saved ones are merged in; a missing file gives the defaults.
 */
export async function readEncoderConfig(folder: string): Promise<EncoderConfig> {
  const path = joinPath(folder, 'config_sentence_transformers.json');
  const raw = (await readJsonObject(path)) ?? {};
  const prompts: Record<string, string> = { query: '', document: '' };
  const saved = raw['prompts'];
  if (saved !== undefined && saved !== null) {
    if (typeof saved !== 'object' || Array.isArray(saved)) {
      throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: "prompts" must be an object`, { details: { path } });
    }
    for (const [name, text] of Object.entries(saved)) {
      if (typeof text !== 'string') {
        throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: prompt "${name}" must be a string`, { details: { path, prompt: name } });
      }
      prompts[name] = text;
    }
  }
  const dpn = raw['default_prompt_name'];
  if (dpn !== undefined && dpn !== null && (typeof dpn !== 'string' || !Object.hasOwn(prompts, dpn))) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: default_prompt_name ${JSON.stringify(dpn)} is not one of the prompts (${Object.keys(prompts).join(', ')})`, {
      details: { path },
    });
  }
  const sim = raw['similarity_fn_name'] ?? 'dot';
  if (sim !== 'dot' && sim !== 'cosine') {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: similarity_fn_name ${JSON.stringify(sim)} is not supported (dot or cosine)`, { details: { path } });
  }
  return { prompts, defaultPromptName: typeof dpn === 'string' ? dpn : undefined, similarityFnName: sim };
}
