// The browser (issue 23): headless Chromium (Debian's `chromium`, driven by playwright-core) opens a
// page served from loopback that fetches an inference-free model's query module and a document index,
// then encodes queries with the static route and searches them in the page (the edge entry, bundled by
// esbuild for the browser). The page's vectors must equal the genuine query vectors, its hits Node's;
// no console error; no request may leave loopback. (Transformer models in a page: browser-model.test.ts,
// browser-hub.test.ts.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { assertVector, loadExpected, loadTexts } from '../encoder/fixture-data.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { chromiumSkip, pageResult, pageRoutes, servePage, type PageFile } from './chromium.js';

const FIXTURE = 'inference-free';
const MODULE = fixture(join(FIXTURE, 'query_0_SparseStaticEmbedding'));
const TEXTS = loadTexts().slice(0, 8).map((t) => t.text);
const expected = loadExpected(FIXTURE);
const dim = expected.model_info.embedding_dimension;
const TMP = mkdtempSync(join(tmpdir(), 'browser-'));

let page: Awaited<ReturnType<typeof servePage>> | undefined;
let index: SparseIndex;
const files = new Map<string, PageFile>();

before(async () => {
  const docs = expected.results['document']!.map((r) => ({ id: `t${r.text_id}`, vector: { indices: Uint32Array.from(r.indices), values: Float32Array.from(r.values), dim } }));
  index = await SparseIndex.build(docs, { blocks: { blockSize: 4 } });
  await index.save(join(TMP, 'docs.idx'));
  for (const [path, body] of await pageRoutes(join(repoRoot(), 'test', 'web', 'search-page.mjs'), 'search')) files.set(path, body);
  files.set('/texts.json', { body: JSON.stringify(TEXTS), type: 'application/json' });
  files.set('/index.idx', { body: readFileSync(join(TMP, 'docs.idx')), type: 'application/octet-stream' });
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'model.safetensors']) {
    if (existsSync(join(MODULE, name))) files.set(`/model/${name}`, { body: readFileSync(join(MODULE, name)), type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
  }
  page = await servePage((path) => files.get(path));
});

after(async () => {
  index?.dispose();
  await page?.close();
  rmSync(TMP, { recursive: true, force: true });
});

test('in headless Chromium: query vectors equal the genuine ones, hits equal Node\'s, no console error, nothing leaves loopback', { skip: chromiumSkip, timeout: 120_000 }, async () => {
  const { text, problems } = await pageResult(`${page!.origin}/`, 60_000);
  const out = JSON.parse(text) as {
    error?: string;
    vectors: Array<{ indices: number[]; values: number[] }>;
    hits: unknown[];
    approximate: unknown[];
    top: Array<[string, number]>;
  };
  assert.equal(out.error, undefined, out.error);
  out.vectors.forEach((v, i) => {
    const rec = expected.results['query']![i]!;
    const vector = { indices: Uint32Array.from(v.indices), values: Float32Array.from(v.values), dim };
    if (rec.error !== undefined) assert.deepEqual(v.indices, [], `text ${i}`);
    else assertVector(vector, rec, `text ${i}`);
    assert.deepEqual(out.hits[i], JSON.parse(JSON.stringify(index.search(vector, { k: 5 }))), `exact hits of query ${i}`);
    assert.deepEqual(out.approximate[i], JSON.parse(JSON.stringify(index.search(vector, { k: 5, exact: false, approximateAlgorithm: 'blocks' }))), `block hits of query ${i}`);
  });
  assert.equal(out.top.length, 3);
  assert.deepEqual(problems, []);
});
