import { joinInside } from '../files/paths.js';
import type { ModelBackend } from './types.js';

/**
 * Which repo files a SparseEncoder reads, found the way sentence-transformers finds them:
 * `modules.json` first, then for each module (and each Router route's module) only the files
 * that module loads from its own folder; a repo without modules.json is a bare transformers
 * checkpoint at the root. Files in no module folder (`checkpoint-500/`, `runs/`, `onnx/` for
 * the torch backend, other runtimes' exports, model cards) are never fetched.
 *
 * The same plan serves online (`has` asks the repo's file list) and offline (`has` asks the
 * cached snapshot), so an incomplete cache can name what it lacks.
 */

export interface RepoView {
  /** Whether the repo (or the snapshot) has this file; a view without a file list (a URL prefix) may ask the server. */
  has(path: string): boolean | Promise<boolean>;
  /** A JSON file's parsed content (fetched first when online); undefined when absent or not JSON. */
  readJson(path: string): Promise<unknown>;
}

export interface FilePlan {
  /** Files to have in the snapshot, in the order found. */
  files: string[];
  /** What a module needs and the repo (or cache) lacks, e.g. `document/config.json` or `model.safetensors | pytorch_model.bin`. */
  missing: string[];
}

const WEIGHTS = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'] as const;
const OPTIONAL_TOKENIZER_FILES = ['tokenizer_config.json', 'special_tokens_map.json'] as const;

/** The class name at the end of a module type string (`...sparse_encoder.models.SpladePooling`). */
function className(type: unknown): string | undefined {
  return typeof type === 'string' && type !== '' ? type.slice(type.lastIndexOf('.') + 1) : undefined;
}

const inFolder = (folder: string, name: string): string => (folder === '' ? name : `${folder}/${name}`);

class Planner {
  readonly files: string[] = [];
  readonly missing: string[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly view: RepoView,
    private readonly backend: ModelBackend,
  ) {}

  private add(path: string): void {
    if (!this.seen.has(path)) {
      this.seen.add(path);
      this.files.push(path);
    }
  }

  /** Adds the file when present; returns whether it was. */
  async optional(path: string): Promise<boolean> {
    if (!(await this.view.has(path))) return false;
    this.add(path);
    return true;
  }

  async required(path: string): Promise<void> {
    if (!(await this.optional(path))) this.missing.push(path);
  }

  async json(path: string): Promise<unknown> {
    if (!(await this.view.has(path))) return undefined;
    this.add(path);
    return this.view.readJson(path);
  }

  /** One weight format, as transformers prefers them; a sharded index brings its shards. */
  async weights(folder: string): Promise<void> {
    for (const name of WEIGHTS) {
      const path = inFolder(folder, name);
      if (!(await this.view.has(path))) continue;
      if (name.endsWith('.index.json')) {
        const index = (await this.json(path)) as { weight_map?: unknown } | undefined;
        const map = index?.weight_map;
        if (map !== null && typeof map === 'object') {
          for (const shard of new Set(Object.values(map as Record<string, unknown>))) {
            const p = typeof shard === 'string' ? joinInside(folder, shard) : undefined;
            if (p !== undefined) await this.required(p);
          }
        }
      } else {
        this.add(path);
      }
      return;
    }
    this.missing.push(WEIGHTS.map((w) => inFolder(folder, w)).join(' | '));
  }

  /** tokenizer.json, else the slow files it is converted from. */
  async tokenizer(folder: string): Promise<void> {
    for (const f of OPTIONAL_TOKENIZER_FILES) await this.optional(inFolder(folder, f));
    if (await this.optional(inFolder(folder, 'tokenizer.json'))) return;
    if (await this.optional(inFolder(folder, 'vocab.txt'))) return;
    if ((await this.view.has(inFolder(folder, 'vocab.json'))) && (await this.view.has(inFolder(folder, 'merges.txt')))) {
      this.add(inFolder(folder, 'vocab.json'));
      this.add(inFolder(folder, 'merges.txt'));
      return;
    }
    this.missing.push(['tokenizer.json', 'vocab.txt', 'vocab.json + merges.txt'].map((f) => inFolder(folder, f)).join(' | '));
  }

  async transformer(folder: string): Promise<void> {
    await this.required(inFolder(folder, 'config.json'));
    await this.optional(inFolder(folder, 'sentence_bert_config.json'));
    await this.weights(folder);
    await this.tokenizer(folder);
    if (this.backend === 'onnx') {
      await this.optional(inFolder(folder, 'onnx/model.onnx'));
      await this.optional(inFolder(folder, 'onnx/model.onnx_data'));
    }
  }

  async module(kind: string | undefined, folder: string): Promise<void> {
    switch (kind) {
      case 'Transformer':
      case 'MLMTransformer':
        return this.transformer(folder);
      case 'SpladePooling':
      case 'Pooling':
        return this.required(inFolder(folder, 'config.json'));
      case 'SparseAutoEncoder':
        await this.required(inFolder(folder, 'config.json'));
        return this.weights(folder);
      case 'SparseStaticEmbedding':
      case 'IDF': {
        const config = (await this.json(inFolder(folder, 'config.json'))) as { path?: unknown } | undefined;
        await this.tokenizer(folder);
        if (await this.optional(inFolder(folder, 'model.safetensors'))) return;
        const name = typeof config?.path === 'string' ? joinInside(folder, config.path) : inFolder(folder, 'idf.json');
        if (name !== undefined && (await this.optional(name))) return;
        this.missing.push(`${inFolder(folder, 'model.safetensors')} | ${name ?? inFolder(folder, 'idf.json')}`);
        return;
      }
      case 'Router': {
        const config = (await this.json(inFolder(folder, 'router_config.json'))) as { types?: unknown; structure?: unknown } | undefined;
        if (config === undefined) {
          this.missing.push(inFolder(folder, 'router_config.json'));
          return;
        }
        const types = (config.types ?? {}) as Record<string, unknown>;
        const structure = (config.structure ?? {}) as Record<string, unknown>;
        const ids = new Set<string>();
        for (const route of Object.values(structure)) if (Array.isArray(route)) for (const id of route) if (typeof id === 'string') ids.add(id);
        for (const id of ids) {
          const sub = joinInside(folder, id);
          // A nested Router is refused by the loader; never recurse into one here.
          const k = className(types[id]);
          if (sub !== undefined && k !== 'Router') await this.module(k, sub);
        }
        return;
      }
      default:
        // Unknown classes are refused by the loader with a clear error; nothing to fetch for them.
        return;
    }
  }
}

/** The files a SparseEncoder reads from this repo (see the module comment). */
export async function planModelFiles(view: RepoView, backend: ModelBackend): Promise<FilePlan> {
  const p = new Planner(view, backend);
  await p.optional('config_sentence_transformers.json');
  const modules = await p.json('modules.json');
  if (modules === undefined) {
    await p.transformer('');
  } else if (Array.isArray(modules)) {
    for (const entry of modules as unknown[]) {
      if (entry === null || typeof entry !== 'object') continue;
      const e = entry as { path?: unknown; type?: unknown };
      const folder = typeof e.path === 'string' ? joinInside('', e.path) : '';
      if (folder !== undefined) await p.module(className(e.type), folder);
    }
  }
  return { files: p.files, missing: p.missing };
}

/**
 * sentence-transformers' rule for a bare id (no `/`): it names a `sentence-transformers/` model,
 * except the classic transformers checkpoints, which live at the Hub's root
 * (SentenceTransformer.py, `basic_transformer_models`).
 */
export function qualifiedRepoId(id: string): string {
  return id.includes('/') || BASIC_TRANSFORMER_MODELS.has(id.toLowerCase()) ? id : `sentence-transformers/${id}`;
}

const BASIC_TRANSFORMER_MODELS = new Set(
  [
    'albert-base-v1', 'albert-base-v2', 'albert-large-v1', 'albert-large-v2', 'albert-xlarge-v1', 'albert-xlarge-v2', 'albert-xxlarge-v1',
    'albert-xxlarge-v2', 'bert-base-cased-finetuned-mrpc', 'bert-base-cased', 'bert-base-chinese', 'bert-base-german-cased',
    'bert-base-german-dbmdz-cased', 'bert-base-german-dbmdz-uncased', 'bert-base-multilingual-cased', 'bert-base-multilingual-uncased',
    'bert-base-uncased', 'bert-large-cased-whole-word-masking-finetuned-squad', 'bert-large-cased-whole-word-masking', 'bert-large-cased',
    'bert-large-uncased-whole-word-masking-finetuned-squad', 'bert-large-uncased-whole-word-masking', 'bert-large-uncased', 'camembert-base',
    'ctrl', 'distilbert-base-cased-distilled-squad', 'distilbert-base-cased', 'distilbert-base-german-cased', 'distilbert-base-multilingual-cased',
    'distilbert-base-uncased-distilled-squad', 'distilbert-base-uncased-finetuned-sst-2-english', 'distilbert-base-uncased', 'distilgpt2',
    'distilroberta-base', 'gpt2-large', 'gpt2-medium', 'gpt2-xl', 'gpt2', 'openai-gpt', 'roberta-base-openai-detector', 'roberta-base',
    'roberta-large-mnli', 'roberta-large-openai-detector', 'roberta-large', 't5-11b', 't5-3b', 't5-base', 't5-large', 't5-small',
    'transfo-xl-wt103', 'xlm-clm-ende-1024', 'xlm-clm-enfr-1024', 'xlm-mlm-100-1280', 'xlm-mlm-17-1280', 'xlm-mlm-en-2048',
    'xlm-mlm-ende-1024', 'xlm-mlm-enfr-1024', 'xlm-mlm-enro-1024', 'xlm-mlm-tlm-xnli15-1024', 'xlm-mlm-xnli15-1024', 'xlm-roberta-base',
    'xlm-roberta-large-finetuned-conll02-dutch', 'xlm-roberta-large-finetuned-conll02-spanish', 'xlm-roberta-large-finetuned-conll03-english',
    'xlm-roberta-large-finetuned-conll03-german', 'xlm-roberta-large', 'xlnet-base-cased', 'xlnet-large-cased',
  ],
);
