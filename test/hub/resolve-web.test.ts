// The web Hub client (`#hub` outside Node, src/hub/resolve-web.ts) run in Node against the loopback
// Hub stand-in: the same file plan as Node's client, files checked against the API's sizes and
// hashes, the Hub's refusals as typed errors, and loading from a URL prefix. Node has no Cache API,
// so nothing is kept here; the Chromium test (test/web/browser-hub.test.ts) covers the cache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSparseEncoderError } from '../../src/errors.js';
import { readFile } from '../../src/files/model-fs.js';
import { resolveModel } from '../../src/hub/resolve-web.js';
import type { ResolveProgressEvent } from '../../src/hub/types.js';
import { fixture } from '../helpers/paths.js';
import { FakeHub, folderFiles, gitBlobSha1, INFERENCE_FREE_NEEDED } from './fake-hub.js';

const COMMIT = 'c'.repeat(39) + '3';
const GATED_COMMIT = 'd'.repeat(39) + '4';
const TOKEN = 'hf_web_token';
const served = folderFiles(fixture('inference-free'), (rel) => rel === 'expected.json');
const repoFiles = new Map([...served, ['README.md', new TextEncoder().encode('# card')], ['onnx/model.onnx', new TextEncoder().encode('onnx')], ['checkpoint-9/model.safetensors', new Uint8Array(8)]]);

let hub: FakeHub;
let prefixServer: Server;
let prefixUrl: string;

before(async () => {
  hub = await FakeHub.start({
    'acme/inference-free': { commit: COMMIT, files: repoFiles },
    'acme/gated': { commit: GATED_COMMIT, files: new Map(served), token: TOKEN },
  });
  // A static host with the fixture's files under /models/if/ (no listing: 404 for what is absent).
  prefixServer = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.startsWith('/models/if/') ? served.get(path.slice('/models/if/'.length)) : undefined;
    if (file === undefined) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-length': String(file.byteLength) }).end(file);
  });
  await new Promise<void>((r) => prefixServer.listen(0, '127.0.0.1', r));
  prefixUrl = `http://127.0.0.1:${(prefixServer.address() as AddressInfo).port}`;
});

after(async () => {
  await hub.close();
  await new Promise<void>((r) => prefixServer.close(() => r()));
});

const neededFiles = (): string[] => [...INFERENCE_FREE_NEEDED];
const bytesOf = (f: string): Uint8Array => new Uint8Array(served.get(f)!);

test('a Hub id loads into memory with the plan of the Node client: only the files the modules read, each checked against the listing', async () => {
  hub.requests.length = 0;
  const events: ResolveProgressEvent[] = [];
  const r = await resolveModel('acme/inference-free', { endpoint: hub.url, onProgress: (e) => events.push(e) });
  try {
    assert.equal(r.source, 'hub');
    assert.equal(r.commit, COMMIT);
    assert.match(r.folder, /^mem:\/\//);
    const info = events.find((e) => e.type === 'repo-info');
    assert.deepEqual(info?.type === 'repo-info' ? [...info.files].sort() : undefined, neededFiles());
    for (const f of neededFiles()) assert.deepEqual(await readFile(`${r.folder}/${f}`, f, 1 << 30), bytesOf(f), f);
    // The API asked with blobs=true; files fetched at the commit, LFS through the CDN; nothing else.
    const gets = hub.requests.filter((q) => q.method === 'GET' && q.origin === 'hub').map((q) => q.url);
    assert.ok(gets[0]!.endsWith(`/revision/main?blobs=true`), gets[0]);
    assert.ok(gets.slice(1).every((u) => u.includes(`/resolve/${COMMIT}/`) || u.includes(`/resolve-cache/`)), gets.join('\n'));
    assert.ok(!hub.requests.some((q) => /README|onnx|checkpoint/.test(q.url)));
    assert.ok(hub.requests.some((q) => q.origin === 'cdn'));
  } finally {
    r.release?.();
  }
  await assert.rejects(readFile(`${r.folder}/modules.json`, 'modules.json'), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_FILE_NOT_FOUND');
});

test('a corrupted transfer is refused by its hash and fetched again; a gated repo needs its token; refusals are typed', async () => {
  hub.corruptOnce.add('query_0_SparseStaticEmbedding/model.safetensors');
  const r = await resolveModel('acme/inference-free', { endpoint: hub.url });
  assert.deepEqual(await readFile(`${r.folder}/query_0_SparseStaticEmbedding/model.safetensors`, 'w', 1 << 30), bytesOf('query_0_SparseStaticEmbedding/model.safetensors'));
  assert.equal(hub.corruptOnce.size, 0);
  r.release?.();

  await assert.rejects(resolveModel('acme/gated', { endpoint: hub.url }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_GATED_REPO');
  const g = await resolveModel('acme/gated', { endpoint: hub.url, token: TOKEN });
  assert.equal(g.commit, GATED_COMMIT);
  g.release?.();
  await assert.rejects(resolveModel('acme/missing', { endpoint: hub.url }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_MODEL_NOT_FOUND');
  await assert.rejects(resolveModel('acme/inference-free', { endpoint: hub.url, revision: 'v9' }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_MODEL_NOT_FOUND');
  await assert.rejects(resolveModel('acme/inference-free', { endpoint: hub.url, revision: '../x' }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_INVALID_ARGUMENT');
  await assert.rejects(resolveModel('not a repo', { endpoint: hub.url }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_MODEL_NOT_FOUND');
});

test('with the Hub down and no Cache API, the error says so; offline without a cache too', async () => {
  hub.outage = 503;
  try {
    await assert.rejects(resolveModel('acme/inference-free', { endpoint: hub.url }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_HUB_UNAVAILABLE' && /no Cache API/.test(e.message));
  } finally {
    hub.outage = undefined;
  }
  await assert.rejects(resolveModel('acme/inference-free', { endpoint: hub.url, localFilesOnly: true }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_OFFLINE_NOT_CACHED');
});

test('a body longer than the listing says is refused before more is read; a model too large for wasm32 before it is downloaded', async () => {
  const modules = new TextEncoder().encode('[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"}]');
  const lying = createServer((req, res) => {
    const url = req.url ?? '';
    const honest = url.includes('acme/huge');
    if (url.startsWith('/api/')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sha: COMMIT, siblings: [{ rfilename: 'modules.json', size: honest ? modules.byteLength : 4, blobId: gitBlobSha1(modules) }, { rfilename: 'config.json', size: 4e12, blobId: 'b'.repeat(40) }] }));
    } else res.end(modules);
  });
  await new Promise<void>((r) => lying.listen(0, '127.0.0.1', r));
  try {
    const endpoint = `http://127.0.0.1:${(lying.address() as AddressInfo).port}`;
    await assert.rejects(resolveModel('acme/lies', { endpoint }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_DOWNLOAD_FAILED' && /more than the 4 expected/.test(e.message));
    await assert.rejects(resolveModel('acme/huge', { endpoint }), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_NOT_SUPPORTED' && /wasm32/.test(e.message));
  } finally {
    await new Promise<void>((r) => lying.close(() => r()));
  }
});

test('a URL prefix loads the files the plan asks for (404 = absent), and a missing host is a typed error', async () => {
  const r = await resolveModel(`${prefixUrl}/models/if`);
  assert.equal(r.source, 'url');
  for (const f of neededFiles()) assert.deepEqual(await readFile(`${r.folder}/${f}`, f, 1 << 30), bytesOf(f), f);
  r.release?.();
  await assert.rejects(resolveModel('http://127.0.0.1:9/models/x/'), (e: unknown) => isSparseEncoderError(e) && e.code === 'ERR_DOWNLOAD_FAILED');
});
