import { SparseEncoderError } from '../errors.js';
import { assertModelTree, exists, joinPath, resolvePath } from '../files/model-fs.js';
import { joinInside } from '../files/paths.js';
import { parseTransformerConfig } from '../graph/config.js';
import { CsrRoute } from './csr-route.js';
import { readJson, readJsonObject, type JsonObject } from './json.js';
import { readPoolingModes } from './pooling-config.js';
import { moduleKind, type ModuleKind } from './registry.js';
import type { SparseRoute } from './route.js';
import { SparseAutoEncoder } from './sparse-auto-encoder.js';
import { loadSparseStaticEmbedding } from './static-embedding-folder.js';
import { readSpladePoolingConfig } from './splade-pooling.js';
import { SpladeRoute } from './splade-route.js';
import { tokenizerEngineOf, type TransformerLoadOptions } from './splade-transformer.js';
import { architectureOf } from './transformer-config.js';

/** onnxruntime threads per session and weight precision. Default: onnxruntime's choice of threads, fp32. */
export type LoadModelOptions = TransformerLoadOptions & {
  /** Router models: build only these routes (the others are validated, not loaded). Default: all. */
  routes?: readonly string[];
};

/**
 * The module pipeline of a model folder. A plain model has one route (named `default`);
 * a Router model has one per task (`query`, `document`, ...).
 */
export interface SparseModel {
  readonly routes: ReadonlyMap<string, SparseRoute>;
  /** The route plain `encode()` uses (`default`, or the Router's `default_route`). */
  readonly defaultRoute: string;
  readonly isRouter: boolean;
  /** Class names of the modules, in pipeline order, for display (`Router(query: [...], ...)`). */
  readonly description: string;
  dispose(): Promise<void>;
}

interface ModuleRef {
  readonly kind: ModuleKind;
  readonly type: string;
  readonly folder: string;
  /** Where it was declared, for error messages. */
  readonly where: string;
}

/** Reads `modules.json` (or a bare `*ForMaskedLM` checkpoint) and builds the routes. */
export async function loadSparseModel(folder: string, options: LoadModelOptions = {}): Promise<SparseModel> {
  const root = resolvePath(folder);
  // Before any file is read: no FIFOs or devices, no symlinks out of the folder (or the cache's blobs).
  await assertModelTree(root);
  const modulesPath = joinPath(root, 'modules.json');
  if (!(await exists(modulesPath))) return loadBareCheckpoint(root, options);

  const raw = await readJson(modulesPath);
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${modulesPath} must hold a non-empty JSON array of modules`, { details: { path: modulesPath } });
  }
  const refs: ModuleRef[] = raw.map((entry: unknown, i: number) => {
    const where = `${modulesPath} entry ${i}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new SparseEncoderError('ERR_INVALID_CONFIG', `${where} is not an object`, { details: { path: modulesPath, index: i } });
    }
    const e = entry as JsonObject;
    const path = e['path'] ?? '';
    if (typeof path !== 'string') {
      throw new SparseEncoderError('ERR_INVALID_CONFIG', `${where}: "path" must be a string`, { details: { path: modulesPath, index: i } });
    }
    return { kind: moduleKind(e['type'], where), type: String(e['type']), folder: moduleFolder(root, path, where), where };
  });

  if (refs.some((r) => r.kind === 'Router')) {
    if (refs.length !== 1) {
      throw new SparseEncoderError('ERR_UNSUPPORTED_MODULE', `${modulesPath}: a Router must be the only module (found ${refs.map((r) => r.kind).join(' → ')})`, {
        details: { path: modulesPath },
      });
    }
    return loadRouter(refs[0]!.folder, options);
  }
  const route = await buildRoute(refs, modulesPath, options);
  return {
    routes: new Map([['default', route]]),
    defaultRoute: 'default',
    isRouter: false,
    description: refs.map((r) => r.kind).join(' → '),
    dispose: () => route.dispose(),
  };
}

/**
 * A module folder: posix-normalise(join(parent, id)). `""` and `"."` are the model root (OpenSearch's
 * inference-free repos keep the document encoder there). Paths may not leave the model folder.
 */
export function moduleFolder(root: string, relative: string, where: string): string {
  const norm = joinInside('', relative);
  if (norm === undefined) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${where}: module path "${relative}" points outside the model folder`, { details: { path: relative } });
  }
  return norm === '' ? root : joinPath(root, ...norm.split('/'));
}

/** A checkpoint without modules.json: sentence-transformers' rule for a bare Hugging Face model. */
async function loadBareCheckpoint(root: string, options: LoadModelOptions): Promise<SparseModel> {
  const configPath = joinPath(root, 'config.json');
  const config = await readJsonObject(configPath);
  if (config === undefined) {
    throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `${root} has neither modules.json nor config.json: not a sentence-transformers or transformers model`, {
      details: { path: root },
    });
  }
  const architecture = architectureOf(config);
  // Refuses families we cannot run before anything else is read.
  parseTransformerConfig(config);
  if (architecture === undefined || !architecture.endsWith('ForMaskedLM')) {
    throw new SparseEncoderError(
      'ERR_UNTRAINED_HEAD',
      `${root} has no modules.json and its config.json names ${architecture ?? 'no architecture'}, not a *ForMaskedLM: ` +
        'sentence-transformers would add a randomly initialised sparse head, so its vectors would be meaningless',
      { details: { path: root, architecture } },
    );
  }
  const route = await SpladeRoute.load(root, { pooling: 'max', activation: 'relu' }, options);
  return {
    routes: new Map([['default', route]]),
    defaultRoute: 'default',
    isRouter: false,
    description: `MLMTransformer(${architecture}) → SpladePooling(max, relu)`,
    dispose: () => route.dispose(),
  };
}

function isFillMask(ref: ModuleRef): Promise<boolean> {
  return readJsonObject(joinPath(ref.folder, 'sentence_bert_config.json')).then((c) => c?.['transformer_task'] === 'fill-mask');
}

/** Turns a module sequence into a route; only the combinations sentence-transformers ships are accepted. */
async function buildRoute(refs: readonly ModuleRef[], where: string, options: LoadModelOptions): Promise<SparseRoute> {
  const kinds = refs.map((r) => r.kind);
  const sequence = kinds.join(' → ');
  const first = refs[0]!;
  const isMlm = first.kind === 'MLMTransformer' || (first.kind === 'Transformer' && (await isFillMask(first)));

  if (isMlm && refs.length === 2 && kinds[1] === 'SpladePooling') {
    return SpladeRoute.load(first.folder, await readSpladePoolingConfig(refs[1]!.folder), options);
  }
  if (refs.length === 1 && first.kind === 'SparseStaticEmbedding') return loadSparseStaticEmbedding(first.folder, tokenizerEngineOf(options.backend));
  if (!isMlm && refs.length === 3 && first.kind === 'Transformer' && kinds[1] === 'Pooling' && kinds[2] === 'SparseAutoEncoder') {
    const sae = await SparseAutoEncoder.load(refs[2]!.folder);
    return CsrRoute.load(first.folder, await readPoolingModes(refs[1]!.folder), sae, options);
  }
  const hint = isMlm
    ? 'a masked-LM transformer must be followed by exactly one SpladePooling'
    : 'supported: MLMTransformer → SpladePooling, SparseStaticEmbedding, Transformer → Pooling → SparseAutoEncoder, or one Router';
  throw new SparseEncoderError('ERR_UNSUPPORTED_MODULE', `${where}: unsupported module sequence ${sequence} (${hint})`, {
    details: { where, modules: refs.map((r) => r.type) },
  });
}

async function loadRouter(routerFolder: string, options: LoadModelOptions): Promise<SparseModel> {
  const configPath = joinPath(routerFolder, 'router_config.json');
  const raw = await readJsonObject(configPath);
  if (raw === undefined) {
    throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `Router config not found: ${configPath}`, { details: { path: configPath } });
  }
  const types = raw['types'];
  const structure = raw['structure'];
  const parameters = (raw['parameters'] ?? {}) as JsonObject;
  if (!isObject(types) || !isObject(structure) || !isObject(parameters)) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${configPath} must have "types" and "structure" objects`, { details: { path: configPath } });
  }
  const routes = new Map<string, SparseRoute>();
  const parts: string[] = [];
  try {
    for (const [name, ids] of Object.entries(structure)) {
      if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string')) {
        throw new SparseEncoderError('ERR_INVALID_CONFIG', `${configPath}: route "${name}" must list module ids`, { details: { path: configPath, route: name } });
      }
      const refs = (ids as string[]).map((id) => {
        const where = `${configPath} route "${name}" module "${id}"`;
        if (!Object.hasOwn(types, id)) {
          throw new SparseEncoderError('ERR_INVALID_CONFIG', `${where} has no entry in "types"`, { details: { path: configPath, id } });
        }
        const kind = moduleKind(types[id], where);
        if (kind === 'Router') throw new SparseEncoderError('ERR_UNSUPPORTED_MODULE', `${where}: nested Routers are not supported`);
        // The module id is the sub-folder, relative to the Router's own folder.
        return { kind, type: String(types[id]), folder: moduleFolder(routerFolder, id, where), where };
      });
      parts.push(`${name}: ${refs.map((r) => r.kind).join(' → ')}`);
      if (options.routes !== undefined && !options.routes.includes(name)) continue;
      routes.set(name, await buildRoute(refs, `${configPath} route "${name}"`, options));
    }
    if (routes.size === 0) {
      const what = options.routes === undefined ? 'defines no routes' : `has none of the routes asked for (${options.routes.join(', ')})`;
      throw new SparseEncoderError('ERR_INVALID_CONFIG', `${configPath} ${what}`, { details: { path: configPath } });
    }
    const dims = new Set([...routes.values()].map((r) => r.dim));
    if (dims.size > 1) {
      throw new SparseEncoderError('ERR_SHAPE_MISMATCH', `${configPath}: routes produce different dimensions (${[...routes].map(([n, r]) => `${n}: ${r.dim}`).join(', ')})`, {
        details: { path: configPath },
      });
    }
  } catch (err) {
    await Promise.all([...routes.values()].map((r) => r.dispose()));
    throw err;
  }
  const declared = parameters['default_route'];
  if (declared !== undefined && declared !== null && (typeof declared !== 'string' || !Object.hasOwn(structure, declared))) {
    await Promise.all([...routes.values()].map((r) => r.dispose()));
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${configPath}: default_route ${JSON.stringify(declared)} is not one of the routes (${Object.keys(structure).join(', ')})`, {
      details: { path: configPath },
    });
  }
  // Without a default route, plain encode() uses `document` (what the query/document naming suggests), else the first
  // route; with only some routes loaded, the first of those when the default is not among them.
  const preferred = typeof declared === 'string' ? declared : routes.has('document') ? 'document' : undefined;
  const defaultRoute = preferred !== undefined && routes.has(preferred) ? preferred : routes.keys().next().value!;
  return {
    routes,
    defaultRoute,
    isRouter: true,
    description: `Router(${parts.join('; ')}; default ${defaultRoute})`,
    dispose: async () => {
      await Promise.all([...routes.values()].map((r) => r.dispose()));
    },
  };
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
