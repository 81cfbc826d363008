// The playground (issue 25): `serve` on the splade-bert fixture with a small index; headless Chromium
// (Debian's `chromium`, playwright-core) opens `/` as a browser does (redirected to /playground), types a
// query and presses Enter, pastes a document, hovers a term, runs a search. What the page shows is
// checked against the API: the query's terms and weights against /encode, the score breakdown against
// intersection() of the /encode vectors (contributions sum to the similarity within 1e-5), the
// highlighted token against the model's argmax output, the hits against /search. Screenshots at 1280
// and 360 px are kept in test-artifacts/; no console error; no request leaves loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { startServer } from '../../src/server/server.js';
import { dot, intersection, type SparseVector } from '../../src/sparse/vector.js';
import { loadExpected, loadTexts } from '../encoder/fixture-data.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { chromiumSkip, openBrowser } from './chromium.js';

const TMP = mkdtempSync(join(tmpdir(), 'playground-'));
const TEXTS = loadTexts().map((t) => t.text);
let server: Awaited<ReturnType<typeof startServer>> | undefined;

before(async () => {
  if (chromiumSkip !== false) return;
  const expected = loadExpected('splade-bert');
  const dim = expected.model_info.embedding_dimension;
  const docs = expected.results['document']!.filter((r) => r.error === undefined).map((r) => ({ id: `t${r.text_id}`, vector: { indices: Uint32Array.from(r.indices), values: Float32Array.from(r.values), dim } }));
  const index = await SparseIndex.build(docs);
  await index.save(join(TMP, 'docs.idx'));
  index.dispose();
  server = await startServer({ model: fixture('splade-bert'), index: join(TMP, 'docs.idx'), port: 0, threadsPerWorker: 1 });
});

after(async () => {
  await server?.close();
  rmSync(TMP, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
}

const vec = (v: { indices: number[]; values: number[] }): SparseVector => ({ indices: Uint32Array.from(v.indices), values: Float32Array.from(v.values), dim: 30522 });

test('in headless Chromium: the playground shows the API\'s terms, breakdown, producing tokens and hits; screenshots at 1280 and 360 px', { skip: chromiumSkip, timeout: 180_000 }, async () => {
  const query = TEXTS[0]!;
  const docText = TEXTS[1]!;
  const browser = await openBrowser();
  try {
    const page = await browser.context.newPage();
    await browser.watch(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${server!.url}/`);
    assert.match(page.url(), /\/playground$/, 'a browser opening / lands on the playground');
    await page.waitForSelector('body[data-ready="1"]');
    assert.match((await page.textContent('#model'))!, /splade-bert.*fp32.*64 tokens.*dot.*30522 dims.*index of \d+ documents/);

    // The query: Enter encodes; terms and weights as /encode gives them.
    await page.fill('#query', query);
    await page.press('#query', 'Enter');
    await page.waitForSelector('#query-out:not([hidden]) .term');
    const shown = await page.$$eval('#query-out .term', (els) => els.map((e) => ({ index: Number(e.getAttribute('data-index')), weight: Number(e.getAttribute('data-weight')), source: e.getAttribute('data-source'), pos: e.getAttribute('data-pos') })));
    const api = await post('/encode', { texts: [query], task: 'query', explain: true });
    const qv = vec(api.vectors[0]);
    assert.deepEqual(shown.map((t) => t.index).sort((a, b) => a - b), Array.from(qv.indices));
    for (const t of shown) assert.ok(Math.abs(t.weight - qv.values[Array.from(qv.indices).indexOf(t.index)]!) <= 1e-6);
    for (let i = 1; i < shown.length; i++) assert.ok(shown[i - 1]!.weight >= shown[i]!.weight, 'heaviest first');
    assert.ok(shown.some((t) => t.source === 'input') && shown.some((t) => t.source === 'expansion'));
    assert.equal(await page.textContent('#query-out [data-role="active"]'), String(qv.indices.length));

    // Hover an expansion term: the token highlighted is the one whose logit won (the model's argmax output).
    const term = shown.find((t) => t.source === 'expansion' && t.pos !== null)!;
    await page.hover(`#query-out .term[data-index="${term.index}"]`);
    const lit = await page.$$eval('#query-tokens .tok.hl', (els) => els.map((e) => Number(e.getAttribute('data-pos'))));
    const argmax = (api.explanations[0].terms as Array<{ index: number; position: number }>).find((t) => t.index === term.index)!.position;
    assert.deepEqual(lit, [argmax]);

    // The document: the breakdown is intersection() of the two /encode vectors, and sums to the similarity.
    await page.fill('#document', docText);
    await page.click('#explain');
    await page.waitForSelector('#breakdown-section:not([hidden]) #contributions');
    const contributions = await page.$$eval('#contributions .term', (els) => els.map((e) => ({ index: Number(e.getAttribute('data-index')), c: Number(e.getAttribute('data-contribution')) })));
    const dv = vec((await post('/encode', { texts: [docText], task: 'document' })).vectors[0]);
    const shared = intersection(qv, dv);
    assert.deepEqual(contributions.map((c) => c.index).sort((a, b) => a - b), Array.from(shared.indices));
    for (const c of contributions) assert.ok(Math.abs(c.c - shared.values[Array.from(shared.indices).indexOf(c.index)]!) <= 1e-5);
    const sum = contributions.reduce((a, c) => a + c.c, 0);
    assert.ok(Math.abs(sum - dot(qv, dv)) <= 1e-5, `${sum} vs ${dot(qv, dv)}`);
    assert.ok(Math.abs(Number(await page.textContent('#score')) - dot(qv, dv)) <= 1e-3 * Math.max(1, dot(qv, dv)));

    // Search: the hits of /search, each with its breakdown.
    await page.fill('#k', '3');
    await page.click('#search');
    await page.waitForSelector('#hits:not([hidden]) .hit');
    const hits = await page.$$eval('#hits .hit', (els) => els.map((e) => e.getAttribute('data-id')));
    const want = (await post('/search', { query, k: 3 })).results[0].hits.map((h: { id: string }) => h.id);
    assert.deepEqual(hits, want);

    const dir = join(repoRoot(), 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'playground-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 360, height: 800 });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number;
    assert.ok(overflow <= 1, `no horizontal scrolling at 360 px (${overflow} px too wide)`);
    await page.screenshot({ path: join(dir, 'playground-360.png'), fullPage: true });
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
});

test('the playground page is self-contained: no external resource, a CSP that allows only its own origin', { skip: chromiumSkip }, async () => {
  const res = await fetch(`${server!.url}/playground`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const html = await res.text();
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//);
  // The same page as a static file, from the CLI.
  const out = join(TMP, 'static');
  const r = spawnSync(process.execPath, [join(repoRoot(), 'bin', 'sparse-encoder.js'), 'serve', '--write-playground', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'index.html'), 'utf8'), html);
  // Probes and TEI clients still get the health route at /.
  assert.equal((await fetch(`${server!.url}/`)).status, 200);
  assert.equal((await fetch(`${server!.url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' })).status, 302);
});
