// Faults the server must survive (issue 8): stuck workers, clients that vanish, a bounded
// shutdown, searches off the main thread, a search worker that dies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { encodePoolOf, searchPoolOf, startServer } from '../../src/server/server.js';
import type { SparseServer } from '../../src/server/types.js';
import { loadTexts } from '../encoder/fixture-data.js';
import { fixture } from '../helpers/paths.js';
import { request } from './http-client.js';

const TEXTS = loadTexts();
const LONG = TEXTS[39]!.text.slice(0, 1500);
const TMP = mkdtempSync(join(tmpdir(), 'server-faults-'));
const INDEX = join(TMP, 'big.idx');
const DIM = 30522;

/** A deterministic corpus big enough that a 256-query exact search takes a while. */
function corpus(n: number): Array<{ id: string; vector: { indices: Uint32Array; values: Float32Array; dim: number } }> {
  let s = 12345;
  const rand = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const set = new Set<number>();
    while (set.size < 120) set.add(Math.floor(rand() ** 3 * 3000));
    const indices = Uint32Array.from([...set].sort((a, b) => a - b));
    return { id: `d${i}`, vector: { indices, values: Float32Array.from(indices, () => 0.1 + rand()), dim: DIM } };
  });
}

function heavyQueries(n: number): Array<{ indices: number[]; values: number[] }> {
  return Array.from({ length: n }, (_, q) => {
    const indices = Array.from({ length: 60 }, (_, j) => (j * 37 + q) % 3000).sort((a, b) => a - b);
    return { indices: [...new Set(indices)], values: [...new Set(indices)].map(() => 1) };
  });
}

before(async () => {
  const index = await SparseIndex.build(corpus(30_000));
  await index.save(INDEX);
  index.dispose();
});
after(() => rmSync(TMP, { recursive: true, force: true }));

async function untilBusy(server: SparseServer): Promise<void> {
  const pool = encodePoolOf(server)!;
  for (let i = 0; i < 1000 && pool.stats().busy === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(pool.stats().busy, 1, 'a job should be running');
}

test('a job past jobTimeoutMs gets 503 ERR_WORKER_TIMEOUT, its worker is replaced, the next request succeeds', async () => {
  const s = await startServer({ model: fixture('splade-bert'), port: 0, threadsPerWorker: 1, jobTimeoutMs: 150, maxTextsPerRequest: 256 });
  try {
    const slow = await request(s.url, '/encode', { json: { texts: Array(256).fill(LONG) } });
    assert.equal(slow.status, 503, JSON.stringify(slow.body));
    assert.equal(slow.body.error.code, 'ERR_WORKER_TIMEOUT');
    const ok = await request(s.url, '/encode', { json: { text: 'a short one' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await request(s.url, '/info')).body.server.workerRestarts, 1);
  } finally {
    await s.close();
  }
});

test('a running job whose client disconnects is cancelled: the worker is free long before the job would have ended', async () => {
  const s = await startServer({ model: fixture('splade-bert'), port: 0, threadsPerWorker: 1, maxTextsPerRequest: 1024, maxBodyBytes: 8 * 1024 * 1024 });
  try {
    const texts = Array(1024).fill(LONG);
    // How long the whole job takes when its client waits.
    const t0 = performance.now();
    assert.equal((await request(s.url, '/encode', { json: { texts } })).status, 200);
    const full = performance.now() - t0;
    // Again, and the client goes away once the job runs.
    const body = JSON.stringify({ texts });
    const req = httpRequest(`${s.url}/encode`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, agent: false });
    req.on('error', () => undefined);
    req.end(body);
    await untilBusy(s);
    const cut = performance.now();
    req.destroy();
    const small = await request(s.url, '/encode', { json: { text: 'next' } });
    const waited = performance.now() - cut;
    assert.equal(small.status, 200);
    assert.ok(waited < full / 2, `the next request waited ${waited.toFixed(0)} ms; the whole job takes ${full.toFixed(0)} ms`);
  } finally {
    await s.close();
  }
});

test('merged jobs whose clients vanish are cancelled between runs: their remaining texts never run', async () => {
  const s = await startServer({ model: fixture('splade-bert'), port: 0, workers: 1, threadsPerWorker: 1, maxTextsPerRequest: 1024, maxBodyBytes: 8 * 1024 * 1024 });
  try {
    const metric = async (): Promise<number> => Number(/^sparse_encoder_batch_size_sum (\d+)/m.exec((await request(s.url, '/metrics')).body as string)?.[1] ?? 0);
    const send = (json: unknown): ReturnType<typeof httpRequest> => {
      const body = JSON.stringify(json);
      const req = httpRequest(`${s.url}/encode`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, agent: false });
      req.on('error', () => undefined);
      req.end(body);
      return req;
    };
    // A windowed job runs alone and keeps the worker busy while three jobs queue behind it.
    const blocker = request(s.url, '/encode', { json: { texts: Array(48).fill(LONG), longDocuments: 'window' } });
    await untilBusy(s);
    const gone = [send({ texts: Array(5).fill(LONG) }), send({ texts: Array(5).fill(LONG) })];
    const kept = request(s.url, '/encode', { json: { text: 'a short one' } });
    for (let i = 0; i < 1000 && encodePoolOf(s)!.stats().queued < 3; i++) await new Promise((r) => setTimeout(r, 2));
    assert.equal(encodePoolOf(s)!.stats().queued, 3, 'three jobs wait behind the blocker');
    assert.equal((await blocker).status, 200);
    // The three now run merged: ten runs of one long text, then the short one. Two clients go away at once.
    for (const req of gone) req.destroy();
    const before = await metric();
    const r = await kept;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.vectors.length, 1);
    // The kept job's answer carries the statistics of every run since the blocker's.
    const ran = (await metric()) - before;
    assert.ok(ran >= 1 && ran < 11, `${ran} of the 11 merged texts ran; the vanished clients' texts should stop running`);
  } finally {
    await s.close();
  }
});

test('close() waits at most shutdownGraceMs for requests in flight, which then get 503', async () => {
  const s = await startServer({ model: fixture('splade-bert'), port: 0, threadsPerWorker: 1, shutdownGraceMs: 200, maxTextsPerRequest: 1024, maxBodyBytes: 8 * 1024 * 1024 });
  const inFlight = request(s.url, '/encode', { json: { texts: Array(1024).fill(LONG) } });
  await untilBusy(s);
  const t0 = performance.now();
  await s.close();
  const took = performance.now() - t0;
  assert.ok(took < 3000, `close took ${took.toFixed(0)} ms`);
  const r = await inFlight;
  assert.equal(r.status, 503, JSON.stringify(r.body));
});

test('searches run off the main thread: /health answers while heavy searches run; a search worker that dies fails its request only', async () => {
  const s = await startServer({ index: INDEX, port: 0 });
  try {
    const vectors = heavyQueries(256);
    const t0 = performance.now();
    const heavy = Array.from({ length: 4 }, () => request(s.url, '/search', { json: { vectors, k: 10, exact: true } }));
    const health = await request(s.url, '/health');
    const healthAt = performance.now() - t0;
    const done = await Promise.all(heavy);
    const searchesAt = performance.now() - t0;
    for (const r of done) assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 200));
    assert.equal(done[0]!.body.results.length, 256);
    assert.equal(health.status, 200);
    // On the main thread /health would come after all four searches (ratio ~1); the main thread still
    // parses the four large request bodies first, so under a loaded CI it lands near a quarter.
    assert.ok(healthAt < searchesAt / 2, `/health at ${healthAt.toFixed(0)} ms, searches done at ${searchesAt.toFixed(0)} ms`);
    // The same results as the index gives in this process.
    const index = await SparseIndex.open(INDEX);
    const direct = index.search({ indices: Uint32Array.from(vectors[3]!.indices), values: Float32Array.from(vectors[3]!.values), dim: DIM }, { k: 10, exact: true, fields: false });
    index.dispose();
    assert.deepEqual(done[0]!.body.results[3].hits.map((h: { id: string }) => h.id), direct.map((h) => h.id));

    // Too many query terms in one request.
    const huge = Array.from({ length: 256 }, () => ({ indices: Array.from({ length: 2000 }, (_, j) => j), values: Array(2000).fill(1) }));
    const refused = await request(s.url, '/search', { json: { vectors: huge } });
    assert.equal(refused.status, 413);

    // A search worker killed during a search.
    const pending = request(s.url, '/search', { json: { vectors, k: 10, exact: true } });
    await new Promise((r) => setTimeout(r, 20));
    await searchPoolOf(s)!.killWorkerForTest(0);
    const crashed = await pending;
    assert.equal(crashed.status, 503, JSON.stringify(crashed.body));
    assert.equal(crashed.body.error.code, 'ERR_WORKER_CRASHED');
    let again = await request(s.url, '/search', { json: { vectors: vectors.slice(0, 2), k: 3 } });
    for (let i = 0; i < 50 && again.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await request(s.url, '/search', { json: { vectors: vectors.slice(0, 2), k: 3 } });
    }
    assert.equal(again.status, 200, JSON.stringify(again.body));
  } finally {
    await s.close();
  }
});
