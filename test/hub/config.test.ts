import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isSparseEncoderError } from '../../src/errors.js';
import { join } from 'node:path';
import { resolveHubConfig } from '../../src/hub/config.js';


test('config: explicit option, then environment, then default', () => {
  const d = resolveHubConfig({ env: { HF_HOME: '/no/such/home' } });
  assert.equal(d.endpoint, 'https://huggingface.co');
  assert.equal(d.token, undefined);
  assert.equal(d.cacheDir, join('/no/such/home', 'hub'));
  assert.equal(d.offline, false);
  assert.equal(d.revision, 'main');
  assert.equal(d.backend, 'torch');
  assert.equal(d.etagTimeoutMs, 10_000);
  assert.equal(d.downloadTimeoutMs, 10_000);
  assert.deepEqual(d.proxy, { httpProxy: undefined, httpsProxy: undefined, noProxy: undefined });
  assert.equal(resolveHubConfig({ env: {} }).cacheDir, join(homedir(), '.cache', 'huggingface', 'hub'));
  const env = { HF_ENDPOINT: 'http://mirror/', HF_TOKEN: 'env-token', HF_HOME: '/h', HF_HUB_OFFLINE: 'ON' };
  const e = resolveHubConfig({ env });
  assert.equal(e.endpoint, 'http://mirror');
  assert.equal(e.token, 'env-token');
  assert.equal(e.tokenSource, 'HF_TOKEN');
  assert.equal(e.cacheDir, join('/h', 'hub'));
  assert.equal(e.offline, true);
  assert.equal(resolveHubConfig({ env: { ...env, HF_HUB_CACHE: '/c' } }).cacheDir, '/c');
  // The legacy variable, below HF_HUB_CACHE.
  assert.equal(resolveHubConfig({ env: { HUGGINGFACE_HUB_CACHE: '/legacy' } }).cacheDir, '/legacy');
  assert.equal(resolveHubConfig({ env: { HUGGINGFACE_HUB_CACHE: '/legacy', HF_HUB_CACHE: '/new' } }).cacheDir, '/new');
  assert.equal(resolveHubConfig({ env: { XDG_CACHE_HOME: '/x' } }).cacheDir, join('/x', 'huggingface', 'hub'));
  const o = resolveHubConfig({ env, endpoint: 'http://o', token: 't', cacheDir: '/o', localFilesOnly: false, revision: 'v1', backend: 'onnx' });
  assert.deepEqual([o.endpoint, o.token, o.tokenSource, o.cacheDir, o.offline, o.revision, o.backend], ['http://o', 't', 'option', '/o', false, 'v1', 'onnx']);
  assert.equal(resolveHubConfig({ env: { HF_HUB_OFFLINE: '0' } }).offline, false);
  assert.equal(resolveHubConfig({ env: { TRANSFORMERS_OFFLINE: 'yes' } }).offline, true);
  const t = resolveHubConfig({ env: { HF_HUB_ETAG_TIMEOUT: '2.5', HF_HUB_DOWNLOAD_TIMEOUT: 'x' } });
  assert.equal(t.etagTimeoutMs, 2500);
  assert.equal(t.downloadTimeoutMs, 10_000);
  const p = resolveHubConfig({ env: { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2', HTTP_PROXY: 'http://h:3', NO_PROXY: 'localhost' } });
  assert.deepEqual(p.proxy, { httpProxy: 'http://h:3', httpsProxy: 'http://lower:2', noProxy: 'localhost' });
});

test('token: option, then HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the token file (HF_TOKEN_PATH, default $HF_HOME/token)', () => {
  const home = mkdtempSync(join(tmpdir(), 'se-token-'));
  try {
    writeFileSync(join(home, 'token'), '  hf_from_file\r\n');
    const fromFile = resolveHubConfig({ env: { HF_HOME: home } });
    assert.equal(fromFile.token, 'hf_from_file');
    assert.equal(fromFile.tokenSource, 'token file');
    assert.equal(resolveHubConfig({ env: { HF_HOME: home, HUGGING_FACE_HUB_TOKEN: 'legacy' } }).token, 'legacy');
    assert.equal(resolveHubConfig({ env: { HF_HOME: home, HUGGING_FACE_HUB_TOKEN: 'legacy', HF_TOKEN: 'new' } }).token, 'new');
    // An empty HF_TOKEN counts as unset, as huggingface_hub's _clean_token makes it.
    assert.equal(resolveHubConfig({ env: { HF_HOME: home, HF_TOKEN: ' \n' } }).token, 'hf_from_file');
    assert.equal(resolveHubConfig({ env: { HF_HOME: home, HF_TOKEN: 'new' }, token: 'explicit' }).token, 'explicit');
    assert.equal(resolveHubConfig({ env: { HF_HOME: home, HF_TOKEN: 'new' }, token: false }).token, undefined);
    writeFileSync(join(home, 'other'), 'hf_other');
    assert.equal(resolveHubConfig({ env: { HF_HOME: home, HF_TOKEN_PATH: join(home, 'other') } }).token, 'hf_other');
    assert.equal(resolveHubConfig({ env: { HF_HOME: join(home, 'nowhere') } }).token, undefined);
    // A FIFO or a device where the token file should be is refused at once, never read.
    const fifo = join(home, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    assert.throws(() => resolveHubConfig({ env: { HF_TOKEN_PATH: fifo } }), (e) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG') && e.message.includes(fifo));
    assert.throws(() => resolveHubConfig({ env: { HF_TOKEN_PATH: '/dev/zero' } }), (e) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG'));
    assert.ok(Date.now() - t0 < 1000);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
