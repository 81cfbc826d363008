import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegmentedIndex } from '../../src/inverted-index/segmented-index.js';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { encodePoolOf, startServer } from '../../src/server/server.js';
import type { ServerLogEvent, SparseServer } from '../../src/server/types.js';
import { assertMatrix, assertVector, close, loadExpected, loadTexts, type ResultRecord } from '../encoder/fixture-data.js';
import { fixture } from '../helpers/paths.js';
import { request, type Reply } from './http-client.js';

const TEXTS = loadTexts();
const BERT = loadExpected('splade-bert');
const DIM = BERT.model_info.embedding_dimension;
const LONG = TEXTS[39]!.text; // ~790 words, truncated to 64 tokens: the slowest input per text
/** Still over 64 tokens, and 64 of them fit in the test server's body limit. */
const LONGISH = LONG.slice(0, 1500);
const MAX_TEXTS = 64;
const TMP = mkdtempSync(join(tmpdir(), 'server-test-'));
const INDEX_PATH = join(TMP, 'corpus.idx');

const vec = (r: { indices: readonly number[]; values: readonly number[] }) => ({
  indices: Uint32Array.from(r.indices),
  values: Float32Array.from(r.values),
  dim: DIM,
});

function assertError(r: Reply, status: number, code: string, messagePart?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.error?.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.error.message, 'string');
  if (messagePart !== undefined) assert.ok(r.body.error.message.includes(messagePart), r.body.error.message);
}

/** Brute-force top-k by float64 dot product over the fixture's document vectors (ties: lower text id). */
function bruteForce(query: ResultRecord, k: number): Array<{ id: string; score: number }> {
  const q = new Map<number, number>();
  query.indices.forEach((t, i) => q.set(t, query.values[i]!));
  const scored = BERT.results['document']!.map((d) => {
    let s = 0;
    d.indices.forEach((t, i) => (s += (q.get(t) ?? 0) * d.values[i]!));
    return { id: `t${d.text_id}`, score: s };
  });
  return scored.filter((h) => h.score !== 0).sort((a, b) => b.score - a.score).slice(0, k);
}

/** Hits agree with brute force: same scores rank by rank, and each id's true score equals its rank's score (robust to near-ties). */
function assertHits(hits: Array<{ id: string; score: number }>, query: ResultRecord, k: number, label: string): void {
  const expected = bruteForce(query, k);
  const truth = new Map(bruteForce(query, 1000).map((h) => [h.id, h.score]));
  assert.equal(hits.length, expected.length, `${label}: hit count`);
  hits.forEach((h, i) => {
    assert.ok(close(h.score, expected[i]!.score), `${label}: rank ${i} score ${h.score}, expected ${expected[i]!.score}`);
    assert.ok(close(truth.get(h.id) ?? NaN, expected[i]!.score), `${label}: rank ${i} is ${h.id}, whose score is ${truth.get(h.id)}`);
  });
}

let server: SparseServer;
const logs: ServerLogEvent[] = [];

before(async () => {
  const docs = BERT.results['document']!.map((r) => ({ id: `t${r.text_id}`, vector: vec(r), fields: { name: TEXTS[r.text_id]!.name } }));
  const index = await SparseIndex.build(docs);
  await index.save(INDEX_PATH);
  index.dispose();
  server = await startServer({
    model: fixture('splade-bert'),
    index: INDEX_PATH,
    port: 0,
    workers: 1,
    threadsPerWorker: 1,
    maxBodyBytes: 128 * 1024,
    maxTextsPerRequest: MAX_TEXTS,
    maxTextLength: 10_000,
    maxQueuedJobs: 2,
    onLog: (e) => logs.push(e),
  });
});

after(async () => {
  await server?.close();
  if (server) assert.equal(encodePoolOf(server)!.stats().alive, 0, 'every worker process has exited');
  rmSync(TMP, { recursive: true, force: true });
  // Every server of this file is closed by now: no listening socket, connection, worker or timer may be
  // left (the test runner's own stdout/stderr pipes remain).
  const left = process.getActiveResourcesInfo().filter((r) => /TCP|Worker|MessagePort|Timeout/.test(r));
  assert.deepEqual(left, []);
});

const bigEncode = (): Promise<Reply> => request(server.url, '/encode', { json: { texts: Array(MAX_TEXTS).fill(LONGISH), task: 'document' } });

/** Resolves once the pool has a job running (the request reached a worker). */
async function untilBusy(): Promise<void> {
  const pool = encodePoolOf(server)!;
  for (let i = 0; i < 500 && pool.stats().busy === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(pool.stats().busy, 1, 'a job should be running');
}

describe('endpoints', () => {
  test('GET /health and GET /info describe the model and the index', async () => {
    assert.deepEqual((await request(server.url, '/health')).body, { status: 'ok' });
    const info = await request(server.url, '/info');
    assert.equal(info.status, 200);
    assert.equal(info.headers['content-type'], 'application/json; charset=utf-8');
    const m = info.body.model;
    assert.equal(m.dim, DIM);
    assert.equal(m.maxSeqLength, BERT.model_info.max_seq_length);
    assert.equal(m.similarityFn, BERT.model_info.similarity_fn_name);
    assert.deepEqual(m.prompts, BERT.model_info.prompts);
    assert.equal(m.router, false);
    assert.equal(m.precision, 'fp32');
    assert.equal(info.body.index.size, TEXTS.length);
    assert.equal(info.body.index.dim, DIM);
    assert.ok(logs.some((e) => e.type === 'listening' && e.url === server.url));
  });

  test('POST /encode matches the fixture for queries and documents (batched, with edge-case texts)', async () => {
    const ids = [0, 1, 4, 12, 17, 18, 39];
    for (const task of ['query', 'document'] as const) {
      const r = await request(server.url, '/encode', { json: { texts: ids.map((i) => TEXTS[i]!.text), task } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.dim, DIM);
      assert.equal(r.body.vectors.length, ids.length);
      ids.forEach((id, j) => assertVector(vec(r.body.vectors[j]), BERT.results[task]![id]!, `${task} text ${id}`));
    }
    const single = await request(server.url, '/encode', { json: { text: TEXTS[5]!.text, task: 'query' } });
    assert.equal(single.body.vectors.length, 1);
    assertVector(vec(single.body.vectors[0]), BERT.results['query']![5]!, 'single text');
    const none = await request(server.url, '/encode', { json: { texts: [] } });
    assert.deepEqual(none.body, { vectors: [], dim: DIM });
  });

  test('POST /encode with tokens: the decoded top tokens equal the fixture decode; maxActiveDims prunes', async () => {
    const r = await request(server.url, '/encode', { json: { texts: TEXTS.slice(0, 8).map((t) => t.text), task: 'query', tokens: true, maxActiveDims: 8 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    BERT.decode.query.forEach((d, i) => {
      const v = r.body.vectors[i];
      assert.ok(v.indices.length <= 8);
      assert.equal(v.tokens.length, v.indices.length);
      assert.deepEqual(v.tokens.slice(0, BERT.decode.top_k).map((t: [string, number]) => t[0]), d.tokens, `text ${i}`);
    });
  });

  test('POST /encode with longDocuments window equals the library (max of the window vectors); its settings are checked', async () => {
    const { SparseEncoder } = await import('../../src/encoder/sparse-encoder.js');
    const model = await SparseEncoder.fromPretrained(fixture('splade-bert'), { threads: 1 });
    try {
      const texts = [LONG.slice(0, 4000), TEXTS[0]!.text];
      const r = await request(server.url, '/encode', { json: { texts, task: 'document', longDocuments: 'window', stride: 8 } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const want = await model.encodeDocument(texts, { longDocuments: 'window', stride: 8 });
      want.forEach((v, i) => assertVector(vec(r.body.vectors[i]), { indices: Array.from(v.indices), values: Array.from(v.values) }, `text ${i}`));
      // The windows see the whole text: more terms than the truncated vector of the same text.
      const truncated = await request(server.url, '/encode', { json: { texts: [texts[0]], task: 'document' } });
      assert.ok(r.body.vectors[0].indices.length > truncated.body.vectors[0].indices.length);
    } finally {
      await model.dispose();
    }
    assertError(await request(server.url, '/encode', { json: { text: 'x', stride: 2 } }), 400, 'ERR_INVALID_INPUT', 'longDocuments');
    assertError(await request(server.url, '/encode', { json: { text: 'x', longDocuments: 'chunks' } }), 400, 'ERR_INVALID_INPUT', 'longDocuments');
    assertError(await request(server.url, '/encode', { json: { text: 'x', longDocuments: 'window', windowTokens: 0 } }), 400, 'ERR_INVALID_INPUT', 'windowTokens');
    // Beyond the model's 64 tokens: the encoder's own check, answered as a 400.
    assertError(await request(server.url, '/encode', { json: { text: 'x', longDocuments: 'window', windowTokens: 65 } }), 400, 'ERR_INVALID_ARGUMENT', 'windowTokens');
  });

  test('POST /similarity matches the fixture matrix (queries × documents, the model function)', async () => {
    const texts = BERT.similarity.text_ids.map((i) => TEXTS[i]!.text);
    const r = await request(server.url, '/similarity', { json: { queries: texts, documents: texts } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.similarityFn, 'dot');
    assertMatrix(r.body.similarity, BERT.similarity.model_similarity, 'similarity');
  });

  test('POST /search with texts and with vectors agrees with brute force over the fixture vectors', async () => {
    const qids = [0, 5, 7, 37];
    const r = await request(server.url, '/search', { json: { queries: qids.map((i) => TEXTS[i]!.text), k: 5 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.results.length, qids.length);
    qids.forEach((q, i) => assertHits(r.body.results[i].hits, BERT.results['query']![q]!, 5, `query ${q}`));
    assert.equal(r.body.results[0].hits[0].fields.name, TEXTS[Number(r.body.results[0].hits[0].id.slice(1))]!.name);

    const q = BERT.results['query']![6]!;
    // Unsorted pairs are accepted (fromPairs sorts them).
    const order = q.indices.map((_, i) => i).reverse();
    const v = await request(server.url, '/search', {
      json: { vector: { indices: order.map((i) => q.indices[i]), values: order.map((i) => q.values[i]) }, k: 3, fields: false, exact: false },
    });
    assert.equal(v.status, 200, JSON.stringify(v.body));
    assertHits(v.body.results[0].hits, q, 3, 'vector query');
    assert.equal(v.body.results[0].hits[0].fields, undefined);
  });

  test('POST /search takes the approximate settings: ranges with heapFactor 1 equal exact search; blocks on an index without them is a 400', async () => {
    const q = BERT.results['query']![6]!;
    const vector = { indices: q.indices, values: q.values };
    const exact = await request(server.url, '/search', { json: { vector, k: 5, fields: false } });
    const ranges = await request(server.url, '/search', { json: { vector, k: 5, fields: false, exact: false, approximateAlgorithm: 'ranges', heapFactor: 1, queryTermCut: 1000 } });
    assert.equal(ranges.status, 200, JSON.stringify(ranges.body));
    assert.deepEqual(ranges.body.results, exact.body.results);
    assertError(await request(server.url, '/search', { json: { vector, exact: false, approximateAlgorithm: 'blocks' } }), 400, 'ERR_INVALID_ARGUMENT', 'blocks');
  });
});

describe('errors', () => {
  const post = (path: string, json: unknown) => request(server.url, path, { json });

  test('400: bad JSON, wrong field types (naming the index), unknown fields, bad k and vectors', async () => {
    assertError(await request(server.url, '/encode', { raw: '{"texts": [', headers: { 'content-type': 'application/json' } }), 400, 'ERR_INVALID_JSON');
    assertError(await post('/encode', { texts: ['a', 'b', 7] }), 400, 'ERR_INVALID_INPUT', 'texts[2]');
    assertError(await post('/encode', { text: 5 }), 400, 'ERR_INVALID_INPUT', '"text"');
    assertError(await post('/encode', { texts: 'abc' }), 400, 'ERR_INVALID_INPUT', 'array');
    assertError(await post('/encode', { texts: ['a'], task: 'passage' }), 400, 'ERR_INVALID_INPUT', 'task');
    assertError(await post('/encode', { texts: ['a'], taks: 'query' }), 400, 'ERR_INVALID_INPUT', 'taks');
    assertError(await post('/encode', { texts: ['a'], maxActiveDims: 0 }), 400, 'ERR_INVALID_ARGUMENT');
    assertError(await post('/encode', [1, 2]), 400, 'ERR_INVALID_INPUT', 'object');
    assertError(await post('/search', { query: 'x', k: 0 }), 400, 'ERR_INVALID_ARGUMENT', 'k');
    assertError(await post('/search', { query: 'x', vector: { indices: [], values: [] } }), 400, 'ERR_INVALID_INPUT', 'exactly one');
    assertError(await post('/search', { vector: { indices: [1, 1], values: [1, 2] } }), 400, 'ERR_INVALID_INPUT', 'twice');
    assertError(await post('/search', { vector: { indices: [DIM], values: [1] } }), 400, 'ERR_INVALID_INPUT', String(DIM));
    assertError(await post('/search', { vectors: [{ indices: [1], values: ['x'] }] }), 400, 'ERR_INVALID_INPUT', 'vectors[0]');
    assertError(await post('/search', { query: 'x', heapFactor: 0.5 }), 400, 'ERR_INVALID_INPUT', 'exact');
    assertError(await post('/search', { query: 'x', exact: false, heapFactor: 2 }), 400, 'ERR_INVALID_ARGUMENT', 'heapFactor');
    assertError(await post('/search', { query: 'x', exact: false, summaryFactor: -1 }), 400, 'ERR_INVALID_ARGUMENT', 'summaryFactor');
    assertError(await post('/search', { query: 'x', exact: false, queryTermCut: 1.5 }), 400, 'ERR_INVALID_ARGUMENT', 'queryTermCut');
    assertError(await post('/search', { query: 'x', exact: false, approximateAlgorithm: 'fast' }), 400, 'ERR_INVALID_INPUT', 'approximateAlgorithm');
    assertError(await post('/similarity', { queries: ['a'], documents: [null] }), 400, 'ERR_INVALID_INPUT', 'documents[0]');
  });

  test('404 unknown route, 405 wrong method (with Allow), 415 non-JSON content type', async () => {
    assertError(await request(server.url, '/nope'), 404, 'ERR_ROUTE_NOT_FOUND');
    const r = await request(server.url, '/encode');
    assertError(r, 405, 'ERR_METHOD_NOT_ALLOWED');
    assert.equal(r.headers['allow'], 'POST');
    assertError(await request(server.url, '/health', { method: 'POST', json: {} }), 405, 'ERR_METHOD_NOT_ALLOWED');
    assertError(await request(server.url, '/encode', { raw: 'texts=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    assertError(await request(server.url, '/encode', { raw: '{"text":"a"}' }), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    const ok = await request(server.url, '/encode', { raw: '{"text":"a"}', headers: { 'content-type': 'application/json; charset=UTF-8' } });
    assert.equal(ok.status, 200);
  });

  test('413: declared or streamed body over maxBodyBytes (answered before the body ends), too many texts, too long a text', async () => {
    const declared = await request(server.url, '/encode', {
      raw: Buffer.alloc(10),
      headers: { 'content-type': 'application/json', 'content-length': String(32 * 1024 * 1024) },
      streamWithoutEnd: true,
    });
    assertError(declared, 413, 'ERR_OVERSIZE_REQUEST');
    // Declared past what the server drains (16 MiB): the connection closes after the answer.
    assert.equal(declared.headers['connection'], 'close');
    // Chunked, no Content-Length, and the body never ends: only an early answer can resolve this.
    const streamed = await request(server.url, '/encode', {
      raw: '{"texts":["' + 'a'.repeat(300 * 1024),
      headers: { 'content-type': 'application/json' },
      streamWithoutEnd: true,
    });
    assertError(streamed, 413, 'ERR_OVERSIZE_REQUEST');
    assertError(await post('/encode', { texts: Array(MAX_TEXTS + 1).fill('a') }), 413, 'ERR_OVERSIZE_REQUEST', `${MAX_TEXTS + 1}`);
    assertError(await post('/similarity', { queries: Array(40).fill('a'), documents: Array(40).fill('b') }), 413, 'ERR_OVERSIZE_REQUEST');
    assertError(await post('/encode', { texts: ['ok', 'x'.repeat(10_001)] }), 413, 'ERR_OVERSIZE_REQUEST', 'texts[1]');
    // The server still answers on new connections.
    assert.equal((await request(server.url, '/health')).status, 200);
  });

  test('413 for a 2 MiB body the client keeps sending: it gets the answer, not a reset, and the connection serves the next request', async () => {
    const { hostname, port } = new URL(server.url);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    const errors: Error[] = [];
    socket.on('error', (e) => errors.push(e));
    const body = Buffer.alloc(2 * 1024 * 1024, 'a');
    socket.write(`POST /encode HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
    for (let at = 0; at < body.length; at += 64 * 1024) {
      if (!socket.write(body.subarray(at, at + 64 * 1024))) await once(socket, 'drain');
    }
    socket.write(`GET /health HTTP/1.1\r\nhost: ${hostname}:${port}\r\n\r\n`);
    for (let i = 0; i < 200 && !/HTTP\/1\.1 200[\s\S]*\r\n\r\n/.test(received); i++) await new Promise((r) => setTimeout(r, 25));
    socket.destroy();
    assert.deepEqual(errors, []);
    assert.match(received, /^HTTP\/1\.1 413 /);
    assert.match(received, /ERR_OVERSIZE_REQUEST/);
    assert.doesNotMatch(received.split('\r\n\r\n')[0]!, /connection: close/i);
    assert.match(received, /HTTP\/1\.1 200 /, 'the same connection answers /health after the drained body');
  });

  test('503 ERR_OVERLOADED when more requests wait than maxQueuedJobs', async () => {
    const running = bigEncode();
    await untilBusy();
    const queued = [0, 1].map(() => request(server.url, '/encode', { json: { text: 'queued' } }));
    for (let i = 0; i < 200 && encodePoolOf(server)!.stats().queued < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(encodePoolOf(server)!.stats().queued, 2);
    assertError(await request(server.url, '/encode', { json: { text: 'one too many' } }), 503, 'ERR_OVERLOADED');
    assert.equal((await running).status, 200);
    for (const q of await Promise.all(queued)) assert.equal(q.status, 200);
  });

  test('a request the HTTP parser rejects still gets a JSON error', async () => {
    const { port } = new URL(server.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      socket.on('data', (b: Buffer) => (data += b.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.equal(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).error.code, 'ERR_INVALID_INPUT');
  });

  test('a client that disconnects while queued takes its job out of the queue', async () => {
    const pool = encodePoolOf(server)!;
    const running = bigEncode();
    await untilBusy();
    const body = JSON.stringify({ text: 'never encoded' });
    const req = httpRequest(new URL('/encode', server.url), { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length } });
    req.on('error', () => undefined);
    req.end(body);
    for (let i = 0; i < 200 && pool.stats().queued === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(pool.stats().queued, 1);
    req.destroy();
    for (let i = 0; i < 200 && pool.stats().queued === 1; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(pool.stats().queued, 0);
    assert.equal(pool.stats().busy, 1, 'the long encode is still running');
    assert.equal((await running).status, 200);
  });
});

describe('workers', () => {
  test('/health answers fast while a long encode runs in the worker', async () => {
    const started = performance.now();
    const big = bigEncode();
    await untilBusy();
    const health = await request(server.url, '/health');
    const healthDoneAt = performance.now() - started;
    assert.equal(health.status, 200);
    const encoded = await big;
    assert.equal(encoded.status, 200);
    assert.equal(encoded.body.vectors.length, MAX_TEXTS);
    assert.ok(healthDoneAt < encoded.ms, `health answered at ${healthDoneAt} ms, after the encode (${encoded.ms} ms)`);
    assert.ok(health.ms < 500, `health took ${health.ms} ms during the encode`);
  });

  test('a worker process killed with SIGKILL, or aborting as a native crash would, fails only its request with 503 ERR_WORKER_CRASHED; /health answers throughout', async () => {
    let restarts = (await request(server.url, '/info')).body.server.workerRestarts as number;
    for (const how of ['SIGKILL', 'abort'] as const) {
      const pool = encodePoolOf(server)!;
      const pidBefore = pool.workerPidsForTest()[0];
      const big = bigEncode();
      await untilBusy();
      await pool.killWorkerForTest(0, how);
      const health = await request(server.url, '/health');
      assert.equal(health.status, 200, `${how}: the server process is alive`);
      const failed = await big;
      assertError(failed, 503, 'ERR_WORKER_CRASHED');
      assert.match(failed.body.error.message, how === 'SIGKILL' ? /SIGKILL/ : /SIGABRT|exit code/);
      // The next request waits for the replacement worker, a new process, and gets the right answer.
      const r = await request(server.url, '/encode', { json: { text: TEXTS[4]!.text, task: 'document' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertVector(vec(r.body.vectors[0]), BERT.results['document']![4]!, 'after restart');
      assert.notEqual(pool.workerPidsForTest()[0], pidBefore);
      assert.equal((await request(server.url, '/info')).body.server.workerRestarts, ++restarts);
    }
    assert.ok(logs.some((e) => e.type === 'worker-exit'));
  });
});

test('a replacement worker that cannot load: 503 ERR_UNAVAILABLE meanwhile, retried until the model is back', async () => {
  const folder = join(TMP, 'model');
  cpSync(fixture('splade-bert'), folder, { recursive: true });
  const events: ServerLogEvent[] = [];
  const s = await startServer({ model: folder, port: 0, threadsPerWorker: 1, onLog: (e) => events.push(e) });
  try {
    renameSync(folder, folder + '.away');
    await encodePoolOf(s)!.killWorkerForTest(0);
    for (let i = 0; i < 400 && !events.some((e) => e.type === 'worker-load-failed'); i++) await new Promise((r) => setTimeout(r, 10));
    const failed = events.find((e) => e.type === 'worker-load-failed');
    assert.ok(failed && failed.type === 'worker-load-failed' && failed.retryInMs === 1000, JSON.stringify(events.map((e) => e.message)));
    assertError(await request(s.url, '/encode', { json: { text: 'x' } }), 503, 'ERR_UNAVAILABLE');
    assert.equal((await request(s.url, '/health')).status, 200);
    renameSync(folder + '.away', folder);
    const readyBefore = events.filter((e) => e.type === 'worker-ready').length;
    for (let i = 0; i < 500 && events.filter((e) => e.type === 'worker-ready').length === readyBefore; i++) await new Promise((r) => setTimeout(r, 10));
    const r = await request(s.url, '/encode', { json: { text: TEXTS[4]!.text, task: 'document' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertVector(vec(r.body.vectors[0]), BERT.results['document']![4]!, 'after the retry');
  } finally {
    await s.close();
  }
});

test('an index-only server searches vectors, refuses text queries and /encode', async () => {
  const s = await startServer({ index: INDEX_PATH, port: 0 });
  try {
    const q = BERT.results['query']![0]!;
    const r = await request(s.url, '/search', { json: { vectors: [{ indices: q.indices, values: q.values }] } });
    assert.equal(r.status, 200);
    assertHits(r.body.results[0].hits, q, 10, 'index-only');
    assertError(await request(s.url, '/search', { json: { query: 'text' } }), 400, 'ERR_INVALID_INPUT', 'no model');
    assertError(await request(s.url, '/encode', { json: { text: 'text' } }), 404, 'ERR_ROUTE_NOT_FOUND', 'model');
    assert.equal((await request(s.url, '/info')).body.model, null);
  } finally {
    await s.close();
  }
});

test('an index directory is served as of its last commit, equal to the file it was migrated from', async () => {
  const dir = join(TMP, 'corpus.index');
  const migrated = await SegmentedIndex.fromFile(INDEX_PATH, dir);
  await migrated.dispose();
  const s = await startServer({ index: dir, port: 0 });
  const f = await startServer({ index: INDEX_PATH, port: 0 });
  try {
    for (const q of BERT.results['query']!.slice(0, 5)) {
      const body = { json: { vectors: [{ indices: q.indices, values: q.values }], k: 5 } };
      const a = await request(s.url, '/search', body);
      assert.equal(a.status, 200);
      assert.deepEqual(a.body.results, (await request(f.url, '/search', body)).body.results);
    }
    assert.equal((await request(s.url, '/info')).body.index.segments, 1);
  } finally {
    await s.close();
    await f.close();
  }
});

test('inference-free (Router) model, int8, workers without spinning: query route vectors equal the fixture; /info says int8; /search without an index is 404', async () => {
  const expected = loadExpected('inference-free');
  const s = await startServer({ model: fixture('inference-free'), port: 0, workers: 2, threadsPerWorker: 1, quantize: 'int8', spinning: false });
  try {
    const info = await request(s.url, '/info');
    assert.equal(info.body.model.router, true);
    assert.equal(info.body.model.precision, 'int8');
    assert.equal(info.body.server.readyWorkers, 2);
    const ids = [0, 5, 17, 39];
    const r = await request(s.url, '/encode', { json: { texts: ids.map((i) => TEXTS[i]!.text), task: 'query' } });
    ids.forEach((id, j) => assertVector(vec(r.body.vectors[j]), expected.results['query']![id]!, `query text ${id}`));
    assertError(await request(s.url, '/search', { json: { query: 'x' } }), 404, 'ERR_ROUTE_NOT_FOUND', 'index');
  } finally {
    await s.close();
  }
});

test('startServer refuses bad options and a model/index dimension mismatch', async () => {
  await assert.rejects(startServer({ port: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
  await assert.rejects(startServer({ index: INDEX_PATH, port: 70000 }), { code: 'ERR_INVALID_ARGUMENT' });
  await assert.rejects(startServer({ index: INDEX_PATH, port: 0, spinning: 'no' as never }), { code: 'ERR_INVALID_ARGUMENT' });
  await assert.rejects(startServer({ model: join(TMP, 'missing-model'), port: 0 }), (err: { code?: string }) => err.code !== undefined && err.code !== 'ERR_INTERNAL');
  await assert.rejects(startServer({ model: fixture('splade-roberta'), index: INDEX_PATH, port: 0, threadsPerWorker: 1 }), { code: 'ERR_DIMENSION_MISMATCH' });
});

test('close() lets an in-flight request finish, drops a half-sent body, then refuses connections', async () => {
  const s = await startServer({ model: fixture('splade-bert'), port: 0, threadsPerWorker: 1 });
  const inFlight = request(s.url, '/encode', { json: { texts: Array(32).fill(LONG) } });
  const pool = encodePoolOf(s)!;
  for (let i = 0; i < 500 && pool.stats().busy === 0; i++) await new Promise((r) => setTimeout(r, 5));
  // A body that never ends would otherwise hold close() until Node's request timeout.
  const halfSent = request(s.url, '/encode', { raw: '{"text": "', headers: { 'content-type': 'application/json', 'content-length': '1000' }, streamWithoutEnd: true });
  halfSent.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 50));
  await s.close();
  assert.equal(pool.stats().alive, 0, 'every worker process has exited');
  const r = await inFlight;
  assert.equal(r.status, 200);
  assert.equal(r.body.vectors.length, 32);
  await assert.rejects(request(s.url, '/health'), { code: 'ECONNREFUSED' });
});

test('sparse-encoder serve: prints the URL, serves, stops on SIGTERM with exit code 0', async () => {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const child = fileURLToPath(new URL(`./serve-child${ext}`, import.meta.url));
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  const p = spawn(process.execPath, [...execArgv, child, 'serve', '--model', fixture('splade-bert'), '--port', '0', '--threads', '1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    p.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`serve exited early: ${stderr}`)));
  });
  const r = await request(url, '/encode', { json: { text: TEXTS[0]!.text, task: 'query' } });
  assertVector(vec(r.body.vectors[0]), BERT.results['query']![0]!, 'served by the CLI');
  p.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /POST \/encode 200/);
  assert.match(stderr, /SIGTERM/);
});
