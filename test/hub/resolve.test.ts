import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProxy } from 'proxy';
import { isSparseEncoderError } from '../../src/errors.js';
import { resolveModel } from '../../src/hub/resolve.js';
import type { ResolveProgressEvent } from '../../src/hub/types.js';
import { fixture } from '../helpers/paths.js';
import { FakeHub, folderFiles, hubEtag, INFERENCE_FREE_NEEDED as NEEDED } from './fake-hub.js';

const REPO = 'acme/inference-free';
const GATED = 'acme/gated';
const COMMIT = 'a'.repeat(39) + '1';
const GATED_COMMIT = 'b'.repeat(39) + '2';
const TOKEN = 'hf_test_token';

// The fixture as a repo, plus files a SparseEncoder must not download.
const served = folderFiles(fixture('inference-free'), (rel) => rel === 'expected.json');
const EXTRA: Record<string, Uint8Array> = {
  'tf_model.h5': Buffer.from('not for us'),
  'README.md': Buffer.from('# card'),
  'onnx/model.onnx': Buffer.from('onnx model bytes'),
  'onnx/model_qint8.onnx': Buffer.from('quantized'),
  'openvino/openvino_model.xml': Buffer.from('<xml/>'),
  'document_0_MLMTransformer/pytorch_model.bin': Buffer.from('shadowed by model.safetensors'),
  'checkpoint-500/model.safetensors': Buffer.from('a training checkpoint'),
  'checkpoint-500/config.json': Buffer.from('{}'),
  'last-checkpoint/model.safetensors': Buffer.from('another one'),
  'runs/Jan01_00-00-00/events.out.tfevents.1': Buffer.from('tensorboard'),
};
const repoFiles = new Map([...served, ...Object.entries(EXTRA)]);
const isLfs = (f: string): boolean => f.endsWith('.safetensors');

let hub: FakeHub;
const scratch: string[] = [];
before(async () => {
  for (const f of NEEDED) assert.ok(served.has(f), `fixture has ${f}`);
  hub = await FakeHub.start({
    [REPO]: { commit: COMMIT, files: repoFiles },
    [GATED]: { commit: GATED_COMMIT, files: folderFiles(fixture('splade-distilbert'), (rel) => rel === 'expected.json'), token: TOKEN },
  });
});
after(async () => {
  await hub.close();
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

function tempCache(): string {
  const d = mkdtempSync(join(tmpdir(), 'se-hub-'));
  scratch.push(d);
  return d;
}

/** Options for a call against the fake hub, with an empty environment so nothing leaks in. */
const online = (cacheDir: string, extra: object = {}) => ({ endpoint: hub.url, cacheDir, env: {}, ...extra });

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (lstatSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** Every path under `dir` with its inode, size and times: equal before and after means nothing was written. */
function treeState(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = lstatSync(p);
      out.push(`${relative(dir, p)} ${s.ino} ${s.size} ${s.mtimeMs} ${s.ctimeMs}`);
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

test('downloads exactly the files the modules read into the Python cache layout, never training leftovers', async () => {
  const cacheDir = tempCache();
  const events: ResolveProgressEvent[] = [];
  const before = hub.requests.length;
  const r = await resolveModel(REPO, online(cacheDir, { onProgress: (e: ResolveProgressEvent) => events.push(e) }));
  const repoDir = join(cacheDir, 'models--acme--inference-free');
  assert.deepEqual(r, { folder: join(repoDir, 'snapshots', COMMIT), source: 'hub', repoId: REPO, revision: 'main', commit: COMMIT });
  assert.deepEqual(listFiles(r.folder), NEEDED);
  for (const f of NEEDED) assert.ok(Buffer.from(readFileSync(join(r.folder, f))).equals(served.get(f)!), `${f} bytes`);
  // No request at all for a file outside the plan.
  const asked = hub.requests.slice(before).map((q) => decodeURIComponent(q.url));
  for (const f of Object.keys(EXTRA)) assert.ok(!asked.some((u) => u.endsWith(`/${f}`)), `${f} was requested`);
  // Layout: refs/main holds the commit; every snapshot file is a relative symlink to ../blobs/<etag>.
  assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), COMMIT);
  for (const f of NEEDED) {
    const link = join(r.folder, f);
    assert.ok(lstatSync(link).isSymbolicLink(), `${f} is a symlink`);
    const target = readlinkSync(link);
    assert.ok(!target.startsWith('/'), `${f} link is relative`);
    assert.equal(join(dirname(link), target), join(repoDir, 'blobs', hubEtag(f, served.get(f)!)));
  }
  // Identical files (the two tokenizer.json copies) share one blob.
  const blobs = readdirSync(join(repoDir, 'blobs')).sort();
  assert.deepEqual(blobs, [...new Set(NEEDED.map((f) => hubEtag(f, served.get(f)!)))].sort());
  // Progress: the file list, then start/progress/done for every transferred file.
  const info = events.find((e) => e.type === 'repo-info') as { files: readonly string[] } | undefined;
  assert.deepEqual([...info!.files].sort(), NEEDED);
  for (const f of NEEDED) {
    assert.equal(events.filter((e) => e.type === 'file-done' && e.file === f).length, 1, f);
  }
  const st = 'document_0_MLMTransformer/model.safetensors';
  const start = events.find((e) => e.type === 'file-start' && e.file === st);
  assert.deepEqual(start, { type: 'file-start', file: st, bytes: served.get(st)!.byteLength });
  const progress = events.filter((e) => e.type === 'file-progress' && e.file === st);
  assert.deepEqual(progress.at(-1), { type: 'file-progress', file: st, loaded: served.get(st)!.byteLength, total: served.get(st)!.byteLength });

  // Second call offline: same folder, no request at all.
  const mark = hub.requests.length;
  const again = await resolveModel(REPO, online(cacheDir, { localFilesOnly: true }));
  assert.deepEqual(again, { folder: r.folder, source: 'cache', repoId: REPO, revision: 'main', commit: COMMIT });
  for (const env of [{ HF_HUB_OFFLINE: '1', HF_HUB_CACHE: cacheDir }, { TRANSFORMERS_OFFLINE: '1', HF_HUB_CACHE: cacheDir }]) {
    assert.equal((await resolveModel(REPO, { endpoint: hub.url, env })).folder, r.folder);
  }
  assert.equal((await resolveModel(REPO, online(cacheDir, { localFilesOnly: true, revision: COMMIT }))).folder, r.folder);
  assert.equal(hub.requests.length, mark, 'offline calls make no request');

  // Online again: one API call, every file from the cache, no transfer.
  const events2: ResolveProgressEvent[] = [];
  const third = await resolveModel(REPO, online(cacheDir, { onProgress: (e: ResolveProgressEvent) => events2.push(e) }));
  assert.equal(third.source, 'cache');
  assert.deepEqual(hub.requests.slice(mark).map((q) => q.url), [`/api/models/${REPO}/revision/main`]);
  assert.ok(events2.filter((e) => e.type === 'file-done').every((e) => e.type === 'file-done' && e.fromCache));
});

test('backend onnx also fetches onnx/model.onnx (not other ONNX variants)', async () => {
  const cacheDir = tempCache();
  const bare = new Map([...folderFiles(fixture('splade-bert'), (rel) => rel === 'expected.json' || rel === 'modules.json'), ...Object.entries(EXTRA)]);
  hub.repos.set('acme/bare', { commit: 'd'.repeat(40), files: bare });
  const r = await resolveModel('acme/bare', online(cacheDir, { backend: 'onnx' }));
  const files = listFiles(r.folder);
  assert.ok(files.includes('onnx/model.onnx') && !files.includes('onnx/model_qint8.onnx') && !files.includes('checkpoint-500/model.safetensors'), files.join(', '));
  assert.ok(files.includes('model.safetensors') && files.includes('config.json') && files.includes('tokenizer.json'));
});

test('a gated repo: refused without a token; the token from an option, HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the login file works; never sent to the CDN', async () => {
  await assert.rejects(resolveModel(GATED, online(tempCache())), (e) => {
    assert.ok(isSparseEncoderError(e, 'ERR_GATED_REPO'), String(e));
    assert.ok(e.message.includes(GATED) && e.message.includes('HF_TOKEN') && e.message.includes('hf auth login') && /restricted/.test(e.message));
    return true;
  });
  const before = hub.requests.length;
  const r = await resolveModel(GATED, online(tempCache(), { token: TOKEN }));
  assert.equal(r.source, 'hub');
  assert.ok(existsSync(join(r.folder, 'model.safetensors')));
  // Every request to the Hub itself carried the token; none to the CDN (which would refuse it).
  const seen = hub.requests.slice(before);
  assert.ok(seen.filter((q) => q.origin === 'hub').length > 2);
  for (const q of seen) assert.equal(q.authorization, q.origin === 'hub' ? `Bearer ${TOKEN}` : undefined, q.url);
  assert.ok(seen.some((q) => q.origin === 'cdn'));

  // `hf auth login` writes $HF_HOME/token; HF_TOKEN_PATH moves it; the legacy variable still works.
  const home = tempCache();
  writeFileSync(join(home, 'token'), `${TOKEN}\n`);
  for (const env of [{ HF_HOME: home }, { HF_TOKEN_PATH: join(home, 'token') }, { HUGGING_FACE_HUB_TOKEN: TOKEN }, { HF_TOKEN: TOKEN }]) {
    const viaEnv = await resolveModel(GATED, { endpoint: hub.url, cacheDir: tempCache(), env });
    assert.equal(viaEnv.source, 'hub', JSON.stringify(env));
  }
  // token: false sends none, whatever the environment says.
  await assert.rejects(resolveModel(GATED, { endpoint: hub.url, cacheDir: tempCache(), env: { HF_TOKEN: TOKEN }, token: false }), (e) => isSparseEncoderError(e, 'ERR_GATED_REPO'));
});

test('unknown repo, revision or file → coded errors naming them; a bare id is looked up under sentence-transformers/', async () => {
  const cacheDir = tempCache();
  await assert.rejects(resolveModel('acme/nope', online(cacheDir)), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND') && e.message.includes('acme/nope') && e.message.includes('main'));
  await assert.rejects(resolveModel(REPO, online(cacheDir, { revision: 'v9' })), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND') && e.message.includes(REPO) && e.message.includes('"v9"'));
  await assert.rejects(resolveModel('not a repo!', online(cacheDir)), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND'));
  const before = hub.requests.length;
  await assert.rejects(resolveModel('all-MiniLM-L6-v2', online(cacheDir)), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND') && e.message.includes('sentence-transformers/all-MiniLM-L6-v2'));
  assert.equal(hub.requests[before]!.url, '/api/models/sentence-transformers/all-MiniLM-L6-v2/revision/main');
});

test('a renamed repo: two chained relative redirects (rename, then resolve-cache) without an ETag before the last answer', async () => {
  hub.renamed.set('acme/old-name', REPO);
  try {
    const cacheDir = tempCache();
    const before = hub.requests.length;
    const r = await resolveModel('acme/old-name', online(cacheDir));
    assert.deepEqual(listFiles(r.folder), NEEDED);
    const heads = hub.requests.slice(before).filter((q) => q.method === 'HEAD' && q.url.endsWith('/modules.json'));
    assert.deepEqual(
      heads.map((q) => q.url),
      [`/acme/old-name/resolve/${COMMIT}/modules.json`, `/${REPO}/resolve/${COMMIT}/modules.json`, `/api/resolve-cache/models/${REPO}/${COMMIT}/modules.json`],
    );
  } finally {
    hub.renamed.delete('acme/old-name');
  }
});

test('503 or 429 from the Hub: a complete cache loads (with a cache-fallback event), an empty cache is ERR_HUB_UNAVAILABLE', async () => {
  const cacheDir = tempCache();
  await resolveModel(REPO, online(cacheDir));
  for (const status of [503, 429, 500, 502]) {
    hub.outage = status;
    try {
      const events: ResolveProgressEvent[] = [];
      const r = await resolveModel(REPO, online(cacheDir, { onProgress: (e: ResolveProgressEvent) => events.push(e) }));
      assert.equal(r.source, 'cache');
      assert.equal(r.commit, COMMIT);
      const fb = events.find((e) => e.type === 'cache-fallback');
      assert.ok(fb !== undefined && fb.type === 'cache-fallback' && fb.reason.includes(String(status)), JSON.stringify(events));
      await assert.rejects(resolveModel(REPO, online(tempCache())), (e) => {
        assert.ok(isSparseEncoderError(e, 'ERR_HUB_UNAVAILABLE'), String(e));
        assert.ok(e.message.includes(REPO) && e.message.includes(String(status)));
        return true;
      });
    } finally {
      hub.outage = undefined;
    }
  }
});

test('a revoked token (401) with the revision cached loads from the cache; a 404 repo stays an error', async () => {
  const cacheDir = tempCache();
  await resolveModel(GATED, online(cacheDir, { token: TOKEN }));
  const events: ResolveProgressEvent[] = [];
  const r = await resolveModel(GATED, online(cacheDir, { token: 'hf_revoked', onProgress: (e: ResolveProgressEvent) => events.push(e) }));
  assert.equal(r.source, 'cache');
  assert.ok(events.some((e) => e.type === 'cache-fallback' && e.reason.includes('401')));
  await assert.rejects(resolveModel(GATED, online(tempCache(), { token: 'hf_revoked' })), (e) => isSparseEncoderError(e, 'ERR_GATED_REPO') && /refused/.test(e.message));
});

test('an unreachable Hub falls back to a complete cached snapshot, else ERR_HUB_UNAVAILABLE', async () => {
  const cacheDir = tempCache();
  await resolveModel(REPO, online(cacheDir));
  // A port nothing listens on: take a server's port and close it.
  const dead = await FakeHub.start({});
  const deadUrl = dead.url;
  await dead.close();
  const r = await resolveModel(REPO, { endpoint: deadUrl, cacheDir, env: {} });
  assert.equal(r.source, 'cache');
  await assert.rejects(resolveModel(REPO, { endpoint: deadUrl, cacheDir: tempCache(), env: {} }), (e) => isSparseEncoderError(e, 'ERR_HUB_UNAVAILABLE') && e.message.includes(REPO) && /ECONNREFUSED/.test(e.message));
  // A Hub that accepts connections but never answers: HF_HUB_ETAG_TIMEOUT bounds the wait.
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const t0 = Date.now();
    const slow = await resolveModel(REPO, { endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, cacheDir, env: { HF_HUB_ETAG_TIMEOUT: '0.3' } });
    assert.equal(slow.source, 'cache');
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('a partial cache offline is ERR_OFFLINE_NOT_CACHED naming the missing files; online it is completed', async () => {
  const cacheDir = tempCache();
  const r = await resolveModel(REPO, online(cacheDir));
  unlinkSync(join(r.folder, 'document_1_SpladePooling', 'config.json'));
  unlinkSync(join(r.folder, 'query_0_SparseStaticEmbedding', 'model.safetensors'));
  await assert.rejects(resolveModel(REPO, online(cacheDir, { localFilesOnly: true })), (e) => {
    assert.ok(isSparseEncoderError(e, 'ERR_OFFLINE_NOT_CACHED'), String(e));
    assert.ok(e.message.includes('document_1_SpladePooling/config.json') && e.message.includes('query_0_SparseStaticEmbedding/model.safetensors | '), e.message);
    assert.deepEqual((e.details as { missing: string[] }).missing.length, 2);
    return true;
  });
  // A partial cache is no fallback either.
  hub.outage = 503;
  try {
    await assert.rejects(resolveModel(REPO, online(cacheDir)), (e) => isSparseEncoderError(e, 'ERR_HUB_UNAVAILABLE'));
  } finally {
    hub.outage = undefined;
  }
  const again = await resolveModel(REPO, online(cacheDir));
  assert.deepEqual(listFiles(again.folder), NEEDED);
});

test('an interrupted transfer resumes with a Range request, and the sha256 check still guards the result', async () => {
  const cacheDir = tempCache();
  const file = 'document_0_MLMTransformer/model.safetensors';
  const size = served.get(file)!.byteLength;
  const events: ResolveProgressEvent[] = [];
  hub.cuts.set(file, 1);
  const before = hub.requests.length;
  const r = await resolveModel(REPO, online(cacheDir, { onProgress: (e: ResolveProgressEvent) => events.push(e) }));
  assert.ok(Buffer.from(readFileSync(join(r.folder, file))).equals(served.get(file)!));
  const gets = hub.requests.slice(before).filter((q) => q.origin === 'cdn' && q.url.includes(hubEtag(file, served.get(file)!)));
  assert.equal(gets.length, 2);
  assert.equal(gets[0]!.range, undefined);
  // The stand-in sends half the file, then drops the connection; what arrived before the drop is kept.
  const from = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
  assert.ok(from > 0 && from <= size >> 1, `resumed from ${gets[1]!.range}`);
  assert.ok(events.some((e) => e.type === 'file-resume' && e.file === file && e.from === from));

  // Cut on every attempt: the call fails, keeps the partial file, and leaves no blob, snapshot entry or ref.
  const cache2 = tempCache();
  const repoDir = join(cache2, 'models--acme--inference-free');
  const etag = hubEtag(file, served.get(file)!);
  hub.cuts.set(file, 3);
  await assert.rejects(resolveModel(REPO, online(cache2)), (e) => isSparseEncoderError(e, 'ERR_DOWNLOAD_FAILED') && e.message.includes(file) && /resumes/.test(e.message));
  const blobs = readdirSync(join(repoDir, 'blobs'));
  assert.ok(!blobs.includes(etag), 'no blob for the cut file');
  assert.ok(blobs.some((b) => b.startsWith(`${etag}.`) && b.endsWith('.incomplete')), blobs.join(', '));
  assert.equal(existsSync(join(repoDir, 'snapshots', COMMIT, file)), false);
  assert.equal(existsSync(join(repoDir, 'refs', 'main')), false, 'no ref: the snapshot is not complete');
  await assert.rejects(resolveModel(REPO, online(cache2, { localFilesOnly: true })), (e) => isSparseEncoderError(e, 'ERR_OFFLINE_NOT_CACHED'));
  const mark = hub.requests.length;
  const again = await resolveModel(REPO, online(cache2));
  assert.ok(Buffer.from(readFileSync(join(again.folder, file))).equals(served.get(file)!));
  const resumed = hub.requests.slice(mark).filter((q) => q.origin === 'cdn' && q.url.includes(etag));
  assert.equal(resumed.length, 1);
  assert.match(resumed[0]!.range ?? '', /^bytes=\d+-$/);
  assert.deepEqual(readdirSync(join(repoDir, 'blobs')).filter((b) => b.endsWith('.incomplete')), []);
});

test('an LFS file whose bytes do not match its sha256 is rejected and not cached', async () => {
  const cacheDir = tempCache();
  const file = 'query_0_SparseStaticEmbedding/model.safetensors';
  hub.corruptOnce.add(file);
  await assert.rejects(resolveModel(REPO, online(cacheDir)), (e) => isSparseEncoderError(e, 'ERR_DOWNLOAD_FAILED') && e.message.includes(file) && /sha256/.test(e.message));
  const blobs = readdirSync(join(cacheDir, 'models--acme--inference-free', 'blobs'));
  assert.ok(!blobs.some((b) => b.startsWith(hubEtag(file, served.get(file)!))));
});

test('a complete cache online is only read: nothing in it is written, and a user who cannot write it still loads it', async (t) => {
  const cacheDir = tempCache();
  await resolveModel(REPO, online(cacheDir));
  const state = treeState(cacheDir);
  const again = await resolveModel(REPO, online(cacheDir));
  assert.equal(again.source, 'cache');
  assert.deepEqual(treeState(cacheDir), state, 'the cache tree is unchanged');

  // Really read-only: as an unprivileged user when we are root (root ignores file modes), else by chmod.
  const script = fileURLToPath(new URL('./resolve-child.js', import.meta.url));
  for (const p of [cacheDir, ...listAll(cacheDir)]) if (!lstatSync(p).isSymbolicLink()) chmodSync(p, lstatSync(p).isDirectory() ? 0o555 : 0o444);
  try {
    // Root can run the check as `nobody` only where that user can read this checkout.
    const root = process.getuid?.() === 0;
    const nobodyReads = root && spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(script)})`], { uid: 65534, gid: 65534 }).status === 0;
    const asUser = nobodyReads ? { uid: 65534, gid: 65534 } : {};
    const enforced = !root || nobodyReads;
    // Asynchronously: the fake Hub answers from this process's event loop.
    const run = async (cache: string): Promise<{ code?: string; folder?: string; message?: string }> => {
      const child = spawn(process.execPath, [script, JSON.stringify({ repo: REPO, endpoint: hub.url, cacheDir: cache })], { ...asUser, timeout: 30_000 });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const [code] = (await once(child, 'close')) as [number | null];
      assert.equal(code, 0, err);
      return JSON.parse(out) as { code?: string; folder?: string; message?: string };
    };
    const ok = await run(cacheDir);
    assert.equal(ok.folder, again.folder, JSON.stringify(ok));
    // A cache that needs a write it cannot make: a coded error naming the path and HF_HUB_CACHE.
    if (enforced) {
      const empty = tempCache();
      chmodSync(empty, 0o555);
      const refused = await run(empty);
      assert.equal(refused.code, 'ERR_CACHE_NOT_WRITABLE', JSON.stringify(refused));
      assert.ok(refused.message!.includes(empty) && refused.message!.includes('HF_HUB_CACHE'));
    } else {
      t.diagnostic('running as root in a checkout the nobody user cannot read: file modes are not enforced, so only the unchanged-tree check applies');
    }
  } finally {
    for (const p of [cacheDir, ...listAll(cacheDir)]) if (!lstatSync(p).isSymbolicLink()) chmodSync(p, lstatSync(p).isDirectory() ? 0o755 : 0o644);
  }
  assert.deepEqual(treeState(cacheDir).length, state.length);
});

function listAll(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out.push(p);
    if (statSync(p, { throwIfNoEntry: false })?.isDirectory() && !lstatSync(p).isSymbolicLink()) out.push(...listAll(p));
  }
  return out;
}

test('HTTPS_PROXY / HTTP_PROXY route every Hub and CDN request through a real forwarding proxy; NO_PROXY bypasses it', async () => {
  const seen: string[] = [];
  const proxyServer: Server = createProxy(createServer());
  proxyServer.on('connect', (req) => seen.push(`CONNECT ${req.url}`));
  proxyServer.on('request', (req) => seen.push(`${req.method} ${req.url}`));
  const sockets = new Set<Socket>();
  proxyServer.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;
  try {
    const r = await resolveModel(REPO, { endpoint: hub.url, cacheDir: tempCache(), env: { HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl } });
    assert.deepEqual(listFiles(r.folder), NEEDED);
    const hubHost = new URL(hub.url).host;
    const cdnHost = new URL(hub.cdnUrl).host;
    assert.ok(seen.some((s) => s.includes(hubHost)), seen.join('\n'));
    assert.ok(seen.some((s) => s.includes(cdnHost)), seen.join('\n'));
    seen.length = 0;
    await resolveModel(REPO, { endpoint: hub.url, cacheDir: tempCache(), env: { http_proxy: proxyUrl, NO_PROXY: '127.0.0.1' } });
    assert.deepEqual(seen, []);
    // A proxy that is down: the Hub cannot be asked, and a cached model still loads.
    const cached = tempCache();
    await resolveModel(REPO, online(cached));
    const deadProxy = 'http://127.0.0.1:9';
    assert.equal((await resolveModel(REPO, { endpoint: hub.url, cacheDir: cached, env: { HTTP_PROXY: deadProxy } })).source, 'cache');
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => proxyServer.close(() => resolve()));
  }
});

test('a cache written by hand in huggingface_hub layout is used offline', async () => {
  const cacheDir = tempCache();
  const commit = 'c'.repeat(40);
  const repoDir = join(cacheDir, 'models--someone--splade');
  const files = folderFiles(fixture('splade-bert'), (rel) => rel === 'expected.json');
  for (const [f, data] of files) {
    const etag = hubEtag(f, data);
    mkdirSync(join(repoDir, 'blobs'), { recursive: true });
    writeFileSync(join(repoDir, 'blobs', etag), data);
    const pointer = join(repoDir, 'snapshots', commit, f);
    mkdirSync(dirname(pointer), { recursive: true });
    symlinkSync(relative(dirname(pointer), join(repoDir, 'blobs', etag)), pointer);
  }
  mkdirSync(join(repoDir, 'refs'), { recursive: true });
  writeFileSync(join(repoDir, 'refs', 'main'), commit);
  const r = await resolveModel('someone/splade', { cacheDir, localFilesOnly: true, env: {} });
  assert.deepEqual(r, { folder: join(repoDir, 'snapshots', commit), source: 'cache', repoId: 'someone/splade', revision: 'main', commit });
  assert.ok(Buffer.from(readFileSync(join(r.folder, 'model.safetensors'))).equals(files.get('model.safetensors')!));
  // HF_HOME/hub is the default cache when HF_HUB_CACHE is unset.
  const home = tempCache();
  mkdirSync(join(home, 'hub'));
  symlinkSync(repoDir, join(home, 'hub', 'models--someone--splade'));
  const viaHome = await resolveModel('someone/splade', { env: { HF_HOME: home, HF_HUB_OFFLINE: 'true' } });
  assert.equal(viaHome.commit, commit);
  await assert.rejects(resolveModel('someone/other', { cacheDir, localFilesOnly: true, env: {} }), (e) => isSparseEncoderError(e, 'ERR_OFFLINE_NOT_CACHED') && e.message.includes('someone/other'));
  await assert.rejects(resolveModel('someone/splade', { cacheDir, localFilesOnly: true, revision: 'dev', env: {} }), (e) => isSparseEncoderError(e, 'ERR_OFFLINE_NOT_CACHED') && e.message.includes('"dev"'));
});

test('local folders are used in place; a missing path is ERR_MODEL_NOT_FOUND naming it', async () => {
  const folder = fixture('splade-bert');
  assert.deepEqual(await resolveModel(folder, { env: {} }), { folder, source: 'local' });
  for (const p of ['./no/such/model', '/no/such/model', '~/no-such-model-here', '../nope']) {
    await assert.rejects(resolveModel(p, { env: {} }), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND') && e.message.includes(p), p);
  }
});

test('the injected fetch carries every request: one API call, HEADs following relative redirects, one GET per distinct blob', async () => {
  const seen: string[] = [];
  const spy: typeof fetch = (input, init) => {
    seen.push(`${init?.method ?? 'GET'} ${String(input)}`);
    return fetch(input, init);
  };
  const before = hub.requests.length;
  await resolveModel(REPO, online(tempCache(), { fetch: spy }));
  assert.ok(seen[0]!.startsWith(`GET ${hub.url}/api/models/${REPO}/revision/main`));
  // A regular file: HEAD /resolve → 307 → HEAD /api/resolve-cache; an LFS file: one HEAD (302 to the CDN).
  const heads = NEEDED.reduce((n, f) => n + (isLfs(f) ? 1 : 2), 0);
  assert.equal(seen.filter((s) => s.startsWith('HEAD ')).length, heads);
  const distinct = new Set(NEEDED.map((f) => hubEtag(f, served.get(f)!))).size;
  assert.ok(distinct < NEEDED.length);
  assert.equal(seen.filter((s) => s.startsWith('GET ')).length, 1 + distinct);
  assert.equal(hub.requests.length - before, seen.length);
});

test('an aborted download rejects and leaves no blob or snapshot entry behind', async () => {
  const cacheDir = tempCache();
  const controller = new AbortController();
  const file = 'router_config.json';
  const slowFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (init?.method !== 'HEAD' && String(input).endsWith(`/${file}`)) controller.abort();
    return res;
  };
  await assert.rejects(resolveModel(REPO, online(cacheDir, { fetch: slowFetch, signal: controller.signal })), (e) => (e as Error).name === 'AbortError');
  const repoDir = join(cacheDir, 'models--acme--inference-free');
  const etag = hubEtag(file, served.get(file)!);
  assert.ok(!readdirSync(join(repoDir, 'blobs')).includes(etag));
  assert.equal(existsSync(join(repoDir, 'snapshots', COMMIT, file)), false);
});
