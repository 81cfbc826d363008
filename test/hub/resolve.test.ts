import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { isSparseEncoderError } from '../../src/errors.js';
import { resolveModel } from '../../src/hub/resolve.js';
import type { ResolveProgressEvent } from '../../src/hub/types.js';
import { fixture } from '../helpers/paths.js';
import { FakeHub, folderFiles, hubEtag } from './fake-hub.js';

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
};
const repoFiles = new Map([...served, ...Object.entries(EXTRA)]);
const NEEDED = [...served.keys()].sort();

let hub: FakeHub;
const scratch: string[] = [];
before(async () => {
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

test('downloads exactly the needed files into the Python cache layout', async () => {
  const cacheDir = tempCache();
  const events: ResolveProgressEvent[] = [];
  const r = await resolveModel(REPO, online(cacheDir, { onProgress: (e: ResolveProgressEvent) => events.push(e) }));
  const repoDir = join(cacheDir, 'models--acme--inference-free');
  assert.deepEqual(r, { folder: join(repoDir, 'snapshots', COMMIT), source: 'hub', repoId: REPO, revision: 'main', commit: COMMIT });
  assert.deepEqual(listFiles(r.folder), NEEDED);
  for (const f of NEEDED) assert.ok(Buffer.from(readFileSync(join(r.folder, f))).equals(served.get(f)!), `${f} bytes`);
  // Layout: refs/main holds the commit; every snapshot file is a relative symlink to ../blobs/<etag>.
  assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), COMMIT);
  for (const f of NEEDED) {
    const link = join(r.folder, f);
    assert.ok(lstatSync(link).isSymbolicLink(), `${f} is a symlink`);
    const target = readlinkSync(link);
    assert.ok(!target.startsWith('/'), `${f} link is relative`);
    assert.equal(join(dirname(link), target), join(repoDir, 'blobs', hubEtag(f, served.get(f)!)));
  }
  // Identical files (the two tokenizer.json / vocab.txt copies) share one blob.
  const blobs = readdirSync(join(repoDir, 'blobs')).sort();
  assert.deepEqual(blobs, [...new Set(NEEDED.map((f) => hubEtag(f, served.get(f)!)))].sort());
  // Progress: the file list first, then start/progress/done for every transferred file.
  assert.equal(events[0]!.type, 'repo-info');
  assert.deepEqual([...(events[0] as { files: readonly string[] }).files].sort(), NEEDED);
  for (const f of NEEDED) {
    assert.equal(events.filter((e) => e.type === 'file-done' && e.file === f).length, 1, f);
  }
  const st = 'document_0_MLMTransformer/model.safetensors';
  const start = events.find((e) => e.type === 'file-start' && e.file === st);
  assert.deepEqual(start, { type: 'file-start', file: st, bytes: served.get(st)!.byteLength });
  const progress = events.filter((e) => e.type === 'file-progress' && e.file === st);
  assert.ok(progress.length >= 1);
  assert.deepEqual(progress.at(-1), { type: 'file-progress', file: st, loaded: served.get(st)!.byteLength, total: served.get(st)!.byteLength });

  // Second call offline: same folder, no request at all.
  const before = hub.requests.length;
  const again = await resolveModel(REPO, online(cacheDir, { localFilesOnly: true }));
  assert.deepEqual(again, { folder: r.folder, source: 'cache', repoId: REPO, revision: 'main', commit: COMMIT });
  const viaEnv = await resolveModel(REPO, { endpoint: hub.url, env: { HF_HUB_OFFLINE: '1', HF_HUB_CACHE: cacheDir } });
  assert.equal(viaEnv.folder, r.folder);
  const viaCommit = await resolveModel(REPO, online(cacheDir, { localFilesOnly: true, revision: COMMIT }));
  assert.equal(viaCommit.folder, r.folder);
  assert.equal(hub.requests.length, before, 'offline calls make no request');

  // Online again: one API call, every file from the cache, no transfer.
  const events2: ResolveProgressEvent[] = [];
  const third = await resolveModel(REPO, online(cacheDir, { onProgress: (e: ResolveProgressEvent) => events2.push(e) }));
  assert.equal(third.source, 'cache');
  assert.deepEqual(hub.requests.slice(before).map((q) => q.url), [`/api/models/${REPO}/revision/main`]);
  assert.ok(events2.filter((e) => e.type === 'file-done').every((e) => e.type === 'file-done' && e.fromCache));
});

test('backend onnx also fetches onnx/model.onnx (not other ONNX variants)', async () => {
  const cacheDir = tempCache();
  const r = await resolveModel(REPO, online(cacheDir, { backend: 'onnx' }));
  assert.deepEqual(listFiles(r.folder), [...NEEDED, 'onnx/model.onnx'].sort());
});

test('a gated repo answers 401 without a token and works with one', async () => {
  const cacheDir = tempCache();
  await assert.rejects(resolveModel(GATED, online(cacheDir)), (e) => {
    assert.ok(isSparseEncoderError(e, 'ERR_GATED_REPO'), String(e));
    assert.ok(e.message.includes(GATED) && e.message.includes('HF_TOKEN') && /gated/.test(e.message));
    return true;
  });
  const before = hub.requests.length;
  const r = await resolveModel(GATED, online(cacheDir, { token: TOKEN }));
  assert.equal(r.source, 'hub');
  assert.ok(existsSync(join(r.folder, 'model.safetensors')));
  // Every request to the Hub itself carried the token (CDN redirects excluded).
  const hubRequests = hub.requests.slice(before).filter((q) => !q.url.startsWith('/cdn/'));
  assert.ok(hubRequests.length > 2);
  for (const q of hubRequests) assert.equal(q.authorization, `Bearer ${TOKEN}`, q.url);
  // HF_TOKEN from the environment is used when no option is given.
  const viaEnv = await resolveModel(GATED, { endpoint: hub.url, cacheDir: tempCache(), env: { HF_TOKEN: TOKEN } });
  assert.equal(viaEnv.source, 'hub');
});

test('unknown repo or revision → ERR_MODEL_NOT_FOUND naming them', async () => {
  const cacheDir = tempCache();
  await assert.rejects(resolveModel('acme/nope', online(cacheDir)), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND') && e.message.includes('acme/nope') && e.message.includes('main'));
  await assert.rejects(resolveModel(REPO, online(cacheDir, { revision: 'v9' })), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND') && e.message.includes(REPO) && e.message.includes('"v9"'));
  await assert.rejects(resolveModel('not a repo!', online(cacheDir)), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND'));
});

test('a transfer cut halfway fails cleanly (no blob, no snapshot entry, no ref), and a retry succeeds', async () => {
  const cacheDir = tempCache();
  const file = 'document_0_MLMTransformer/model.safetensors';
  const repoDir = join(cacheDir, 'models--acme--inference-free');
  const etag = hubEtag(file, served.get(file)!);
  hub.cutOnce.add(file);
  await assert.rejects(resolveModel(REPO, online(cacheDir)), (e) => {
    assert.ok(isSparseEncoderError(e, 'ERR_DOWNLOAD_FAILED'), String(e));
    assert.ok(e.message.includes(file), e.message);
    return true;
  });
  const blobs = readdirSync(join(repoDir, 'blobs'));
  assert.ok(!blobs.some((b) => b.startsWith(etag)), `no blob or temp file for the cut file: ${blobs.join(', ')}`);
  assert.equal(existsSync(join(repoDir, 'snapshots', COMMIT, file)), false);
  assert.equal(existsSync(join(repoDir, 'refs', 'main')), false, 'no ref: the snapshot is not complete');
  await assert.rejects(resolveModel(REPO, online(cacheDir, { localFilesOnly: true })), (e) => isSparseEncoderError(e, 'ERR_OFFLINE_NOT_CACHED'));

  const r = await resolveModel(REPO, online(cacheDir));
  assert.ok(Buffer.from(readFileSync(join(r.folder, file))).equals(served.get(file)!));
  assert.deepEqual(listFiles(r.folder), NEEDED);
});

test('an LFS file whose bytes do not match its sha256 is rejected and not cached', async () => {
  const cacheDir = tempCache();
  const file = 'query_0_SparseStaticEmbedding/model.safetensors';
  hub.corruptOnce.add(file);
  await assert.rejects(resolveModel(REPO, online(cacheDir)), (e) => isSparseEncoderError(e, 'ERR_DOWNLOAD_FAILED') && e.message.includes(file) && /sha256/.test(e.message));
  const blobs = readdirSync(join(cacheDir, 'models--acme--inference-free', 'blobs'));
  assert.ok(!blobs.some((b) => b.startsWith(hubEtag(file, served.get(file)!))));
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

test('an unreachable Hub falls back to a cached snapshot, else ERR_DOWNLOAD_FAILED', async () => {
  const cacheDir = tempCache();
  await resolveModel(REPO, online(cacheDir));
  // A port nothing listens on: take a server's port and close it.
  const dead = await FakeHub.start({});
  const deadUrl = dead.url;
  await dead.close();
  const r = await resolveModel(REPO, { endpoint: deadUrl, cacheDir, env: {} });
  assert.equal(r.source, 'cache');
  await assert.rejects(resolveModel(REPO, { endpoint: deadUrl, cacheDir: tempCache(), env: {} }), (e) => isSparseEncoderError(e, 'ERR_DOWNLOAD_FAILED') && e.message.includes(REPO));
});

test('local folders are used in place; a missing path is ERR_MODEL_NOT_FOUND naming it', async () => {
  const folder = fixture('splade-bert');
  assert.deepEqual(await resolveModel(folder, { env: {} }), { folder, source: 'local' });
  for (const p of ['./no/such/model', '/no/such/model', '~/no-such-model-here', '../nope']) {
    await assert.rejects(resolveModel(p, { env: {} }), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND') && e.message.includes(p), p);
  }
});

test('a wrong token is reported as refused; the injected fetch carries every request', async () => {
  await assert.rejects(resolveModel(GATED, online(tempCache(), { token: 'hf_wrong' })), (e) => isSparseEncoderError(e, 'ERR_GATED_REPO') && /token given was refused/.test(e.message));
  const seen: string[] = [];
  const spy: typeof fetch = (input, init) => {
    seen.push(`${init?.method ?? 'GET'} ${String(input)}`);
    return fetch(input, init);
  };
  const before = hub.requests.length;
  await resolveModel(REPO, online(tempCache(), { fetch: spy }));
  assert.ok(seen[0]!.startsWith(`GET ${hub.url}/api/models/${REPO}/revision/main`));
  // Each needed file: one HEAD; one GET per distinct blob (identical tokenizer files in two folders
  // are fetched once); LFS GETs are redirected inside fetch to /cdn/.
  const distinct = new Set(NEEDED.map((f) => hubEtag(f, served.get(f)!))).size;
  assert.ok(distinct < NEEDED.length);
  assert.equal(seen.filter((s) => s.startsWith('HEAD ')).length, NEEDED.length);
  assert.equal(seen.length, 1 + NEEDED.length + distinct);
  assert.equal(hub.requests.length - before, seen.length + NEEDED.filter((f) => f.endsWith('.safetensors')).length);
});

test('an aborted download rejects and leaves no blob or snapshot entry behind', async () => {
  const cacheDir = tempCache();
  const controller = new AbortController();
  const file = 'idf.json';
  const slowFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (init?.method !== 'HEAD' && String(input).endsWith(`/${file}`)) controller.abort();
    return res;
  };
  await assert.rejects(resolveModel(REPO, online(cacheDir, { fetch: slowFetch, signal: controller.signal })), (e) => (e as Error).name === 'AbortError');
  const repoDir = join(cacheDir, 'models--acme--inference-free');
  const etag = hubEtag(file, served.get(file)!);
  assert.ok(!readdirSync(join(repoDir, 'blobs')).some((b) => b.startsWith(etag)));
  assert.equal(existsSync(join(repoDir, 'snapshots', COMMIT, file)), false);
});
