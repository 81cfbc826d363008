import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { resolveHubConfig } from '../../src/hub/config.js';
import { selectModelFiles } from '../../src/hub/files.js';

test('config: explicit option, then environment, then default', () => {
  const d = resolveHubConfig({ env: {} });
  assert.deepEqual(d, {
    endpoint: 'https://huggingface.co',
    token: undefined,
    cacheDir: join(homedir(), '.cache', 'huggingface', 'hub'),
    offline: false,
    revision: 'main',
    backend: 'torch',
  });
  const env = { HF_ENDPOINT: 'http://mirror/', HF_TOKEN: 'env-token', HF_HOME: '/h', HF_HUB_OFFLINE: 'ON' };
  const e = resolveHubConfig({ env });
  assert.equal(e.endpoint, 'http://mirror');
  assert.equal(e.token, 'env-token');
  assert.equal(e.cacheDir, join('/h', 'hub'));
  assert.equal(e.offline, true);
  assert.equal(resolveHubConfig({ env: { ...env, HF_HUB_CACHE: '/c' } }).cacheDir, '/c');
  assert.equal(resolveHubConfig({ env: { XDG_CACHE_HOME: '/x' } }).cacheDir, join('/x', 'huggingface', 'hub'));
  const o = resolveHubConfig({ env, endpoint: 'http://o', token: 't', cacheDir: '/o', localFilesOnly: false, revision: 'v1', backend: 'onnx' });
  assert.deepEqual(o, { endpoint: 'http://o', token: 't', cacheDir: '/o', offline: false, revision: 'v1', backend: 'onnx' });
  assert.equal(resolveHubConfig({ env: { HF_HUB_OFFLINE: '0' } }).offline, false);
});

test('file selection keeps configs, tokenizers and one weight format per folder', () => {
  const files = [
    '.gitattributes',
    'README.md',
    'config.json',
    'modules.json',
    'tokenizer.json',
    'vocab.txt',
    'sentencepiece.bpe.model',
    'model.safetensors',
    'pytorch_model.bin',
    'tf_model.h5',
    'flax_model.msgpack',
    'onnx/model.onnx',
    'onnx/model_O4.onnx',
    'onnx/config.json',
    'openvino/openvino_model.bin',
    '1_SpladePooling/config.json',
    'query_0_SparseStaticEmbedding/model.safetensors',
    'old/pytorch_model.bin',
    'old/config.json',
    'big/model-00001-of-00002.safetensors',
    'big/model-00002-of-00002.safetensors',
    'big/model.safetensors.index.json',
    'big/pytorch_model-00001-of-00002.bin',
    'big/pytorch_model.bin.index.json',
    'images/logo.png',
  ];
  assert.deepEqual(selectModelFiles(files, 'torch'), [
    'config.json',
    'modules.json',
    'tokenizer.json',
    'vocab.txt',
    'sentencepiece.bpe.model',
    'model.safetensors',
    '1_SpladePooling/config.json',
    'query_0_SparseStaticEmbedding/model.safetensors',
    'old/pytorch_model.bin',
    'old/config.json',
    'big/model-00001-of-00002.safetensors',
    'big/model-00002-of-00002.safetensors',
    'big/model.safetensors.index.json',
  ]);
  const onnx = selectModelFiles(files, 'onnx');
  assert.ok(onnx.includes('onnx/model.onnx') && !onnx.includes('onnx/model_O4.onnx') && !onnx.includes('onnx/config.json'));
});
