// Loading from the Hub in a browser (issue 23): headless Chromium (Debian's `chromium`, driven by
// playwright-core) opens a page that loads splade-bert and inference-free with
// SparseEncoder.fromPretrained from the loopback Hub stand-in (test/hub/fake-hub.ts: another origin,
// CORS, LFS files through a third "CDN" origin), encodes the fixture texts on WebAssembly and must
// give the genuine vectors. The same profile then opens the page again with the Hub answering 503 to
// everything: the models load from the Cache API (source `cache`, a cache-fallback event) and give
// the same vectors. No console error; nothing leaves loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertVector, compatOf, loadExpected, loadTexts } from '../encoder/fixture-data.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { FakeHub, folderFiles } from '../hub/fake-hub.js';
import { chromiumSkip, pageResults, pageRoutes, servePage, type PageFile } from './chromium.js';

const MODELS: Record<string, string> = { 'acme/splade-bert': 'splade-bert', 'acme/inference-free': 'inference-free' };
const COMMITS: Record<string, string> = { 'acme/splade-bert': 'e'.repeat(40), 'acme/inference-free': 'f'.repeat(40) };
const TEXTS = loadTexts().slice(0, 6).map((t) => t.text);
const ORT_DIST = join(repoRoot(), 'node_modules', 'onnxruntime-web', 'dist');

let hub: FakeHub | undefined;
let page: Awaited<ReturnType<typeof servePage>> | undefined;
const routes = new Map<string, PageFile>();

before(async () => {
  if (chromiumSkip !== false) return;
  hub = await FakeHub.start(
    Object.fromEntries(Object.entries(MODELS).map(([repo, name]) => [repo, { commit: COMMITS[repo]!, files: folderFiles(fixture(name), (rel) => rel === 'expected.json') }])),
  );
  for (const [path, body] of await pageRoutes(join(repoRoot(), 'test', 'web', 'hub-page.mjs'), 'hub')) routes.set(path, body);
  const plan = { hub: hub.url, texts: TEXTS, models: Object.entries(MODELS).map(([repo, name]) => ({ repo, compat: compatOf(loadExpected(name)) })) };
  routes.set('/plan.json', { body: JSON.stringify(plan), type: 'application/json' });
  page = await servePage((path) => {
    const file = routes.get(path);
    if (file !== undefined) return file;
    if (/^\/ort\/[\w.-]+$/.test(path) && existsSync(join(ORT_DIST, path.slice(5)))) {
      return { body: readFileSync(join(ORT_DIST, path.slice(5))), type: path.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' };
    }
    return undefined;
  });
});

after(async () => {
  await page?.close();
  await hub?.close();
});

interface PageOut {
  error?: string;
  results: Record<string, Record<'query' | 'document', Array<{ indices: number[]; values: number[] }>> & { backend: string }>;
  sources: Record<string, { source: string; commit: string }>;
  events: Record<string, { downloaded: number; fromCache: number; fallback: string[] }>;
  missing: string;
}

function checkVectors(out: PageOut, label: string): void {
  assert.equal(out.error, undefined, out.error);
  for (const [repo, name] of Object.entries(MODELS)) {
    const expected = loadExpected(name);
    const dim = expected.model_info.embedding_dimension;
    assert.equal(out.results[repo]!.backend, 'wasm');
    for (const mode of ['query', 'document'] as const) {
      out.results[repo]![mode].forEach((v, i) => {
        const rec = expected.results[mode]![i]!;
        if (rec.error !== undefined) assert.deepEqual(v.indices, [], `${label} ${name} ${mode} text ${i}`);
        else assertVector({ indices: Uint32Array.from(v.indices), values: Float32Array.from(v.values), dim }, rec, `${label} ${name} ${mode} text ${i}`);
      });
    }
  }
}

test('in headless Chromium: fromPretrained from a loopback Hub gives the genuine vectors, then loads again from the Cache API with the Hub down', { skip: chromiumSkip, timeout: 300_000 }, async () => {
  const [online, offline] = await pageResults([`${page!.origin}/`, `${page!.origin}/`], 120_000, async (i) => {
    hub!.outage = i === 1 ? 503 : undefined;
  });
  hub!.outage = undefined;

  const first = JSON.parse(online!.text) as PageOut;
  checkVectors(first, 'online');
  for (const repo of Object.keys(MODELS)) {
    assert.deepEqual(first.sources[repo], { source: 'hub', commit: COMMITS[repo] });
    assert.ok(first.events[repo]!.downloaded > 0);
    assert.deepEqual(first.events[repo]!.fallback, []);
  }
  assert.equal(first.missing, 'ERR_MODEL_NOT_FOUND');
  // The CDN served the LFS files without the Hub's Authorization and the page fetched from three origins.
  assert.ok(hub!.requests.some((r) => r.origin === 'cdn' && r.method === 'GET'));
  // Chromium logs each refused request (the missing repo's 401) as a console error; nothing else may appear.
  const refused = (status: number) => (p: string): boolean => !p.startsWith(`console: Failed to load resource: the server responded with a status of ${status}`);
  assert.deepEqual(online!.problems.filter(refused(401)), []);

  const second = JSON.parse(offline!.text) as PageOut;
  checkVectors(second, 'from the Cache API');
  for (const repo of Object.keys(MODELS)) {
    assert.deepEqual(second.sources[repo], { source: 'cache', commit: COMMITS[repo] });
    assert.equal(second.events[repo]!.downloaded, 0);
    assert.match(second.events[repo]!.fallback[0] ?? '', /HTTP 503/);
  }
  assert.equal(second.missing, 'ERR_HUB_UNAVAILABLE');
  assert.deepEqual(offline!.problems.filter(refused(503)), []);
});
