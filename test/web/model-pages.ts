// The model page of the browser tests (model-page.mjs, bundled) served from loopback with a plan:
// which fixtures to load, on which backend, which texts to encode. Shared by the WebAssembly and the
// WebGPU tests, with the check of what the page returns against the genuine vectors.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { assertVector, compatOf, loadExpected } from '../encoder/fixture-data.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { pageRoutes, servePage, type PageFile } from './chromium.js';

const ORT_DIST = join(repoRoot(), 'node_modules', 'onnxruntime-web', 'dist');

function filesOf(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return filesOf(p, root);
    return name === 'expected.json' ? [] : [relative(root, p)];
  });
}

/** Serves model-page.mjs at `/`, its plan, the fixtures' files and onnxruntime-web's files (from the package, never a CDN). */
export async function serveModelPage(plan: { backend: 'wasm' | 'webgpu'; models: string[]; texts: string[] }): Promise<Awaited<ReturnType<typeof servePage>>> {
  const routes = new Map<string, PageFile>();
  for (const [path, body] of await pageRoutes(join(repoRoot(), 'test', 'web', 'model-page.mjs'), 'models')) routes.set(path, body);
  const body = { backend: plan.backend, texts: plan.texts, models: plan.models.map((name) => ({ name, files: filesOf(fixture(name)), compat: compatOf(loadExpected(name)) })) };
  routes.set('/plan.json', { body: JSON.stringify(body), type: 'application/json' });
  return servePage((path) => {
    const file = routes.get(path);
    if (file !== undefined) return file;
    if (/^\/ort\/[\w.-]+$/.test(path) && existsSync(join(ORT_DIST, path.slice(5)))) {
      return { body: readFileSync(join(ORT_DIST, path.slice(5))), type: path.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' };
    }
    const m = /^\/model\/([\w-]+)\/(.+)$/.exec(path);
    if (m !== null && plan.models.includes(m[1]!) && !m[2]!.includes('..')) {
      const p = join(fixture(m[1]!), m[2]!);
      if (existsSync(p)) return { body: readFileSync(p), type: 'application/octet-stream' };
    }
    return undefined;
  });
}

export interface ModelPageOut {
  error?: string;
  results: Record<string, Record<'query' | 'document', Array<{ indices: number[]; values: number[] }>> & { backend: string; fallbacks: string[] }>;
}

/** The page's vectors equal the genuine ones (ORACLE.md's tolerance), each model on `backend`. */
export function checkModelPage(text: string, models: string[], backend: string): ModelPageOut {
  const out = JSON.parse(text) as ModelPageOut;
  assert.equal(out.error, undefined, out.error);
  for (const name of models) {
    const expected = loadExpected(name);
    const dim = expected.model_info.embedding_dimension;
    assert.deepEqual(out.results[name]!.fallbacks, [], `${name}: fell back`);
    assert.equal(out.results[name]!.backend, backend);
    for (const mode of ['query', 'document'] as const) {
      out.results[name]![mode].forEach((v, i) => {
        const rec = expected.results[mode]![i]!;
        if (rec.error !== undefined) assert.deepEqual(v.indices, [], `${name} ${mode} text ${i}`);
        else assertVector({ indices: Uint32Array.from(v.indices), values: Float32Array.from(v.values), dim }, rec, `${name} ${mode} text ${i}`);
      });
    }
  }
  return out;
}
