import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { startServer } from '../../src/server/server.js';
import type { SparseServer } from '../../src/server/types.js';
import type { SparseVector } from '../../src/sparse/vector.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { assertVector } from '../encoder/fixture-data.js';
import { request } from './http-client.js';

// Requests below are the JSON a TEI client sends (huggingface_hub's InferenceClient.feature_extraction
// and TEI's README: {"inputs": ...}); expectations come from TEI's router/src/http/types.rs,
// router/src/lib.rs and router/src/http/server.rs (see src/server/tei.ts).

const TEXTS = ['What is Deep Learning?', 'Deep Learning is not...', 'héllo wörld 😀 testing', ''];

let splade: SparseServer;
let router: SparseServer;
let plainModel: SparseEncoder;
let routerModel: SparseEncoder;

before(async () => {
  [splade, router, plainModel, routerModel] = await Promise.all([
    startServer({ model: fixture('splade-bert'), port: 0, threadsPerWorker: 1 }),
    startServer({ model: fixture('inference-free'), port: 0, threadsPerWorker: 1 }),
    SparseEncoder.fromPretrained(fixture('splade-bert'), { threads: 1 }),
    SparseEncoder.fromPretrained(fixture('inference-free'), { threads: 1 }),
  ]);
});
after(async () => {
  await Promise.all([splade?.close(), router?.close(), plainModel?.dispose(), routerModel?.dispose()]);
});

type Sparse = Array<{ index: number; value: number }>;

function assertSame(got: Sparse, want: SparseVector, label: string): void {
  const nz = Array.from(want.indices).map((index, i) => ({ index, value: want.values[i]! })).filter((e) => e.value !== 0);
  assert.deepEqual(got.map((e) => e.index), nz.map((e) => e.index), `${label}: the same non-zero indices, ascending`);
  got.forEach((e, i) => assert.ok(Math.abs(e.value - nz[i]!.value) <= 1e-6, `${label} index ${e.index}: ${e.value} vs ${nz[i]!.value}`));
  assert.deepEqual(Object.keys(got[0] ?? { index: 0, value: 0 }).sort(), ['index', 'value']);
}

test('POST /embed_sparse and POST /: a string or a batch → [[{index, value}]], equal to encode()', async () => {
  const single = await request(splade.url, '/embed_sparse', { json: { inputs: TEXTS[0] } });
  assert.equal(single.status, 200, JSON.stringify(single.body));
  assert.equal(single.body.length, 1);
  assertSame(single.body[0], await plainModel.encode(TEXTS[0]!), 'single');
  const batch = await request(splade.url, '/embed_sparse', { json: { inputs: TEXTS, truncate: true, truncation_direction: 'right', normalize: false } });
  assert.equal(batch.status, 200, JSON.stringify(batch.body));
  const want = await plainModel.encode(TEXTS);
  TEXTS.forEach((t, i) => assertSame(batch.body[i], want[i]!, `batch ${i}`));
  const alias = await request(splade.url, '/', { json: { inputs: TEXTS } });
  assert.deepEqual(alias.body, batch.body, 'POST / is /embed_sparse');
  const health = await request(splade.url, '/');
  assert.equal(health.status, 200, 'GET / is the health check');
});

test('inference-free Router model: prompt_name "query" takes the query route, "document" the document route', async () => {
  const q = await request(router.url, '/embed_sparse', { json: { inputs: TEXTS.slice(0, 2), prompt_name: 'query' } });
  const d = await request(router.url, '/embed_sparse', { json: { inputs: TEXTS.slice(0, 2), prompt_name: 'document' } });
  assert.equal(q.status, 200, JSON.stringify(q.body));
  assert.equal(d.status, 200, JSON.stringify(d.body));
  const wantQ = await routerModel.encodeQuery(TEXTS.slice(0, 2));
  const wantD = await routerModel.encodeDocument(TEXTS.slice(0, 2));
  for (let i = 0; i < 2; i++) {
    assertSame(q.body[i], wantQ[i]!, `query ${i}`);
    assertSame(d.body[i], wantD[i]!, `document ${i}`);
  }
  assert.notDeepEqual(q.body, d.body, 'the two routes differ');
});

test('POST /tokenize: ids as the model tokenizes, special tokens without offsets, UTF-8 byte spans of the input', async () => {
  const r = await request(splade.url, '/tokenize', { json: { inputs: TEXTS[2] } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [tokens] = r.body as Array<Array<{ id: number; text: string; special: boolean; start: number | null; stop: number | null }>>;
  const want = await plainModel.tokenize(TEXTS[2]!);
  assert.deepEqual(tokens!.map((t) => t.id), want.inputIds);
  assert.deepEqual(tokens![0], { id: 101, text: '[CLS]', special: true, start: null, stop: null });
  const bytes = Buffer.from(TEXTS[2]!, 'utf8');
  for (const t of tokens!.filter((x) => !x.special)) assert.equal(t.text, bytes.subarray(t.start!, t.stop!).toString('utf8'), JSON.stringify(t));
  assert.deepEqual(tokens!.find((t) => t.text === 'testing'), { id: 5604, text: 'testing', special: false, start: 19, stop: 26 }, 'byte offsets after a 4-byte emoji');
  const noSpecial = await request(splade.url, '/tokenize', { json: { inputs: ['a', 'b c'], add_special_tokens: false } });
  assert.equal(noSpecial.body.length, 2);
  assert.ok(noSpecial.body.every((list: Array<{ special: boolean }>) => list.every((t) => !t.special)));
  // Untruncated, as TEI's /tokenize: a text over the model's 64 tokens keeps every token, [SEP] last.
  const long = 'word '.repeat(150);
  const untruncated = await request(splade.url, '/tokenize', { json: { inputs: long } });
  const all = untruncated.body[0] as Array<{ id: number }>;
  assert.equal(all.length, 152);
  assert.equal(all[all.length - 1]!.id, 102);
  assert.equal((await plainModel.tokens(long)).tokens.length, 64, 'the library truncates by default, as encoding does');
  assert.equal((await plainModel.tokens(long, { truncate: false })).tokens.length, 152);
  // /tokenize takes text only: token ids, alone or in a batch, are a Validation error.
  for (const inputs of [[101, 102], ['a', [101, 102]]]) {
    const ids = await request(splade.url, '/tokenize', { json: { inputs } });
    assert.equal(ids.status, 422, JSON.stringify(ids.body));
    assert.equal(ids.body.error_type, 'Validation');
    assert.match(ids.body.error, /token-id inputs are not supported/);
  }
});

test('POST /decode: one list or a batch; special tokens skipped by default', async () => {
  const one = await request(splade.url, '/decode', { json: { ids: [101, 7592, 2088, 102] } });
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.deepEqual(one.body, ['hello world']);
  const many = await request(splade.url, '/decode', { json: { ids: [[101, 7592, 102], [2088]], skip_special_tokens: false } });
  assert.deepEqual(many.body, ['[CLS] hello [SEP]', 'world']);
  const bad = await request(splade.url, '/decode', { json: { ids: [999999] } });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.error_type, 'Validation');
});

test('GET /info: TEI Info fields (router/src/lib.rs) next to ours', async () => {
  const r = await request(splade.url, '/info');
  assert.equal(r.status, 200);
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  const b = r.body;
  assert.equal(b.model_id, 'splade-bert');
  assert.deepEqual(b.model_type, { embedding: { pooling: 'splade' } });
  assert.equal(b.max_input_length, plainModel.maxSeqLength);
  assert.equal(b.max_client_batch_size, 32);
  assert.equal(b.max_batch_tokens, 512);
  assert.equal(b.auto_truncate, true);
  assert.equal(b.version, pkg.version);
  for (const key of ['model_sha', 'model_dtype', 'served_model_name', 'max_concurrent_requests', 'max_batch_requests', 'tokenization_workers', 'sha', 'docker_label']) assert.ok(key in b, key);
  assert.equal(typeof b.model.dim, 'number', 'our own fields stay');
});

test("errors in TEI's shape and statuses: Empty 400, batch size and length 422 Validation, bad JSON 400", async () => {
  const empty = await request(splade.url, '/embed_sparse', { json: { inputs: [] } });
  assert.equal(empty.status, 400);
  assert.deepEqual(empty.body, { error: '`inputs` cannot be empty', error_type: 'Empty' });
  const many = await request(splade.url, '/embed_sparse', { json: { inputs: Array.from({ length: 33 }, () => 'x') } });
  assert.equal(many.status, 422);
  assert.deepEqual(many.body, { error: 'batch size 33 > maximum allowed batch size 32', error_type: 'Validation' });
  const long = 'word '.repeat(2000);
  const refused = await request(splade.url, '/embed_sparse', { json: { inputs: long, truncate: false } });
  assert.equal(refused.status, 422, JSON.stringify(refused.body));
  assert.equal(refused.body.error_type, 'Validation');
  assert.match(refused.body.error, new RegExp(`^\`inputs\` must have less than ${plainModel.maxSeqLength} tokens`));
  const truncated = await request(splade.url, '/embed_sparse', { json: { inputs: long } });
  assert.equal(truncated.status, 200, 'auto_truncate: the default truncates');
  const junk = await request(splade.url, '/embed_sparse', { raw: '{"inputs":', headers: { 'content-type': 'application/json' } });
  assert.equal(junk.status, 400);
  assert.equal(typeof junk.body.error, 'string');
  assert.ok(['Validation', 'Empty'].includes(junk.body.error_type));
  const badDirection = await request(splade.url, '/embed_sparse', { json: { inputs: 'x', truncation_direction: 'up' } });
  assert.equal(badDirection.status, 422);
  // Our own routes keep their own error shape.
  const ours = await request(splade.url, '/encode', { json: { texts: 'nope' } });
  assert.equal(typeof ours.body.error.code, 'string');
});

test('48 concurrent single-text clients each get their own vector (dynamic batching merges them)', async () => {
  const texts = Array.from({ length: 48 }, (_, i) => `query number ${i} about ${['apples', 'deep learning', 'the moon', 'tax law'][i % 4]}${' again'.repeat(i % 7)}`);
  const want = await plainModel.encode(texts);
  const before = await request(splade.url, '/metrics');
  const replies = await Promise.all(texts.map((t) => request(splade.url, '/embed_sparse', { json: { inputs: t } })));
  replies.forEach((r, i) => {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertSame(r.body[0], want[i]!, `client ${i}`);
  });
  const m = await request(splade.url, '/metrics');
  const count = (text: string, name: string): number => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const runs = count(m.body, 'sparse_encoder_batch_size_count') - count(before.body, 'sparse_encoder_batch_size_count');
  const textsRun = count(m.body, 'sparse_encoder_batch_size_sum') - count(before.body, 'sparse_encoder_batch_size_sum');
  assert.equal(textsRun, 48, 'every text ran once');
  assert.ok(runs < 48, `concurrent requests shared runs (${runs} runs for 48 texts)`);
});

test('GET /metrics (Prometheus text) and /openapi.json describe the server', async () => {
  const m = await request(splade.url, '/metrics');
  assert.equal(m.status, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = m.body as string;
  for (const line of [
    '# TYPE sparse_encoder_requests_total counter',
    '# TYPE sparse_encoder_encode_queue_depth gauge',
    '# TYPE sparse_encoder_batch_size histogram',
    '# TYPE sparse_encoder_batch_padded_tokens histogram',
    '# TYPE sparse_encoder_encode_duration_seconds histogram',
    '# TYPE sparse_encoder_search_duration_seconds histogram',
  ]) {
    assert.ok(text.includes(line), line);
  }
  assert.match(text, /^sparse_encoder_requests_total\{route="\/embed_sparse",method="POST",status="200"\} \d+$/m);
  assert.match(text, /^sparse_encoder_batch_size_bucket\{le="\+Inf"\} \d+$/m);
  const api = await request(splade.url, '/openapi.json');
  assert.equal(api.body.openapi, '3.1.0');
  for (const path of ['/health', '/info', '/encode', '/search', '/similarity', '/embed_sparse', '/', '/tokenize', '/decode', '/metrics', '/openapi.json']) assert.ok(api.body.paths[path], path);
});

test('HEAD /health answers 200 without a body; the port is bound before the model loads', async () => {
  const head = await request(splade.url, '/health', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  // A busy port fails at once, before any model load.
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  const t0 = performance.now();
  await assert.rejects(startServer({ model: fixture('splade-bert'), port, threadsPerWorker: 1 }), /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  assert.ok(performance.now() - t0 < 1000, 'refused without loading the model');
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  // While loading, /health says 503 (TEI's Unhealthy); then 200.
  const starting = startServer({ model: fixture('splade-bert'), port, threadsPerWorker: 1 });
  let early: number | undefined;
  for (let i = 0; i < 400 && early === undefined; i++) {
    early = await request(`http://127.0.0.1:${port}`, '/health').then(
      (r) => r.status,
      () => undefined,
    );
    if (early === undefined) await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(early, 503, 'answered while the model loads');
  const s = await starting;
  assert.equal((await request(s.url, '/health')).status, 200);
  await s.close();
});

test('inference-free queries never wait behind document runs: they are encoded on the main thread', async () => {
  const long = Array.from({ length: 256 }, (_, i) => `document ${i} ${'about the structure of proteins and their folding '.repeat(12)}`);
  let docsDone = 0;
  const docs = request(router.url, '/encode', { json: { texts: long, task: 'document' } }).then((r) => {
    docsDone = performance.now();
    return r;
  });
  await new Promise((r) => setTimeout(r, 30)); // the document job is running in the worker
  const q = await request(router.url, '/embed_sparse', { json: { inputs: 'what folds proteins', prompt_name: 'query' } });
  const queryDone = performance.now();
  assert.equal(q.status, 200, JSON.stringify(q.body));
  assertSame(q.body[0], await routerModel.encodeQuery('what folds proteins'), 'query');
  const d = await docs;
  assert.equal(d.status, 200);
  assert.ok(queryDone < docsDone, `the query (${queryDone.toFixed(0)}) was answered before the documents (${docsDone.toFixed(0)})`);
});

test('truncation_direction "left" keeps a long text\'s last tokens, as TEI\'s Rust tokenizer truncates (core/src/tokenization.rs)', async () => {
  // 70 distinct words: 64 tokens keep words 8..69 ([CLS] + 62 + [SEP]) from the left, 0..61 from the right.
  const words = Array.from({ length: 70 }, (_, i) => `w${i}`);
  const long = words.join(' ');
  const left = await request(splade.url, '/embed_sparse', { json: { inputs: long, truncation_direction: 'Left' } });
  const right = await request(splade.url, '/embed_sparse', { json: { inputs: long } });
  assert.equal(left.status, 200, JSON.stringify(left.body));
  const vec = (b: Array<Array<{ index: number; value: number }>>) => ({ indices: Uint32Array.from(b[0]!.map((x) => x.index)), values: Float32Array.from(b[0]!.map((x) => x.value)), dim: 30522 });
  const [wantLeft, wantRight] = [await plainModel.encode(long, { truncationDirection: 'left' }), await plainModel.encode(long)];
  assertVector(vec(left.body), { indices: Array.from(wantLeft.indices), values: Array.from(wantLeft.values) }, 'left');
  assertVector(vec(right.body), { indices: Array.from(wantRight.indices), values: Array.from(wantRight.values) }, 'right');
  assert.notDeepEqual(Array.from(wantLeft.indices), Array.from(wantRight.indices));
});

test('token-id inputs, as TEI takes them (core/src/tokenization.rs: decoded with their special tokens, encoded without adding any)', async () => {
  const vec = (b: Array<{ index: number; value: number }>) => ({ indices: Uint32Array.from(b.map((x) => x.index)), values: Float32Array.from(b.map((x) => x.value)), dim: 30522 });
  const plain = (v: SparseVector) => ({ indices: Array.from(v.indices), values: Array.from(v.values) });
  // [CLS] hello world [SEP] as ids: decoded to "[CLS] hello world [SEP]", whose special tokens are read back: the text's vector.
  const mixed = await request(splade.url, '/embed_sparse', { json: { inputs: ['hello world', [101, 7592, 2088, 102], [7592, 2088]] } });
  assert.equal(mixed.status, 200, JSON.stringify(mixed.body));
  const text = await plainModel.encode('hello world');
  assertVector(vec(mixed.body[0]), plain(text), 'text');
  assertVector(vec(mixed.body[1]), plain(text), 'ids with their special tokens');
  // Ids without special tokens get none added.
  const bare = await plainModel.encode('hello world', { addSpecialTokens: false });
  assertVector(vec(mixed.body[2]), plain(bare), 'ids without special tokens');
  assert.notDeepEqual(plain(bare).indices, plain(text).indices);
  // A single input of ids.
  const single = await request(splade.url, '/embed_sparse', { json: { inputs: [101, 7592, 2088, 102] } });
  assert.equal(single.body.length, 1);
  assertVector(vec(single.body[0]), plain(text), 'single ids input');
  for (const bad of [[[999999]], [[]], [[1.5]]]) {
    const r = await request(splade.url, '/embed_sparse', { json: { inputs: bad } });
    assert.equal(r.status, 422, `${JSON.stringify(bad)}: ${JSON.stringify(r.body)}`);
  }
});
