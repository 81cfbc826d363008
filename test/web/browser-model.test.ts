// Transformer models in the browser (issue 23): headless Chromium (Debian's `chromium`, driven by
// playwright-core) opens a page served from loopback that fetches splade-bert's, inference-free's and splade-modernbert's
// files, loads them with SparseEncoder.fromFiles on onnxruntime-web's WebAssembly build (its .wasm
// served from the package, never a CDN) and the pure-JavaScript tokenizer, and encodes fixture texts.
// The vectors must equal the genuine sentence-transformers ones; no console error; nothing off loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { assertVector, compatOf, loadExpected, loadTexts } from '../encoder/fixture-data.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { chromiumSkip, pageResult, pageRoutes, servePage, type PageFile } from './chromium.js';

const MODELS = ['splade-bert', 'inference-free', 'splade-modernbert'];
const TEXTS = loadTexts().slice(0, 8).map((t) => t.text);
const ORT_DIST = join(repoRoot(), 'node_modules', 'onnxruntime-web', 'dist');

let page: Awaited<ReturnType<typeof servePage>> | undefined;
const routes = new Map<string, PageFile>();

function filesOf(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return filesOf(p, root);
    return name === 'expected.json' ? [] : [relative(root, p)];
  });
}

before(async () => {
  for (const [path, body] of await pageRoutes(join(repoRoot(), 'test', 'web', 'model-page.mjs'), 'models')) routes.set(path, body);
  const plan = { texts: TEXTS, models: MODELS.map((name) => ({ name, files: filesOf(fixture(name)), compat: compatOf(loadExpected(name)) })) };
  routes.set('/plan.json', { body: JSON.stringify(plan), type: 'application/json' });
  page = await servePage((path) => {
    const file = routes.get(path);
    if (file !== undefined) return file;
    if (/^\/ort\/[\w.-]+$/.test(path) && existsSync(join(ORT_DIST, path.slice(5)))) {
      return { body: readFileSync(join(ORT_DIST, path.slice(5))), type: path.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' };
    }
    const m = /^\/model\/([\w-]+)\/(.+)$/.exec(path);
    if (m !== null && MODELS.includes(m[1]!) && !m[2]!.includes('..')) {
      const p = join(fixture(m[1]!), m[2]!);
      if (existsSync(p)) return { body: readFileSync(p), type: 'application/octet-stream' };
    }
    return undefined;
  });
});

after(async () => {
  await page?.close();
});

test('in headless Chromium: splade-bert, inference-free and splade-modernbert from their files on WebAssembly give the genuine vectors', { skip: chromiumSkip, timeout: 180_000 }, async () => {
  const { text, problems } = await pageResult(`${page!.origin}/`, 150_000);
  const out = JSON.parse(text) as { error?: string; results: Record<string, Record<'query' | 'document', Array<{ indices: number[]; values: number[] }>> & { backend: string }> };
  assert.equal(out.error, undefined, out.error);
  for (const name of MODELS) {
    const expected = loadExpected(name);
    const dim = expected.model_info.embedding_dimension;
    assert.equal(out.results[name]!.backend, 'wasm');
    for (const mode of ['query', 'document'] as const) {
      out.results[name]![mode].forEach((v, i) => {
        const rec = expected.results[mode]![i]!;
        if (rec.error !== undefined) assert.deepEqual(v.indices, [], `${name} ${mode} text ${i}`);
        else assertVector({ indices: Uint32Array.from(v.indices), values: Float32Array.from(v.values), dim }, rec, `${name} ${mode} text ${i}`);
      });
    }
  }
  assert.deepEqual(problems, []);
});
