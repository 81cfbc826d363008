import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinInside } from '../../src/files/local-files.js';
import { planModelFiles, qualifiedRepoId, type RepoView } from '../../src/hub/files.js';

/** A repo view over a file list with some JSON contents. */
function view(files: readonly string[], json: Record<string, unknown> = {}): RepoView & { read: string[] } {
  const set = new Set(files);
  const read: string[] = [];
  return {
    read,
    has: (f) => set.has(f),
    readJson: async (f) => {
      read.push(f);
      return json[f];
    },
  };
}

const TRAINING_LEFTOVERS = [
  'checkpoint-500/model.safetensors',
  'checkpoint-500/config.json',
  'checkpoint-500/optimizer.pt',
  'last-checkpoint/model.safetensors',
  'runs/Jan01_00-00-00/events.out.tfevents.1',
  'onnx/model.onnx',
  'onnx/model_qint8_avx512.onnx',
  'openvino/openvino_model.bin',
  'tf_model.h5',
  'flax_model.msgpack',
  'README.md',
  '.gitattributes',
];

test('a bare checkpoint: root config, one weight format, the tokenizer; no training leftovers or other runtimes', async () => {
  const files = ['config.json', 'model.safetensors', 'pytorch_model.bin', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', ...TRAINING_LEFTOVERS];
  const plan = await planModelFiles(view(files), 'torch');
  assert.deepEqual(plan.missing, []);
  assert.deepEqual([...plan.files].sort(), ['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  const onnx = await planModelFiles(view(files), 'onnx');
  assert.ok(onnx.files.includes('onnx/model.onnx') && !onnx.files.includes('onnx/model_qint8_avx512.onnx'));
});

test('modules.json decides: each module folder gives only what its module reads', async () => {
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.sparse_encoder.models.MLMTransformer' },
    { idx: 1, name: '1', path: '1_SpladePooling', type: 'sentence_transformers.sparse_encoder.models.SpladePooling' },
  ];
  const files = [
    'modules.json',
    'config_sentence_transformers.json',
    'sentence_bert_config.json',
    'config.json',
    'generation_config.json',
    'model.safetensors',
    'tokenizer.json',
    'vocab.txt',
    '1_SpladePooling/config.json',
    'stray/model.safetensors',
    ...TRAINING_LEFTOVERS,
  ];
  const v = view(files, { 'modules.json': modules });
  const plan = await planModelFiles(v, 'torch');
  assert.deepEqual(plan.missing, []);
  assert.deepEqual([...plan.files].sort(), [
    '1_SpladePooling/config.json',
    'config.json',
    'config_sentence_transformers.json',
    'model.safetensors',
    'modules.json',
    'sentence_bert_config.json',
    'tokenizer.json',
  ]);
  assert.deepEqual(v.read, ['modules.json']);
});

test('sharded weights bring the shards their index names; pytorch_model.bin only without safetensors; slow tokenizers', async () => {
  const files = ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model-00003-of-00003.safetensors', 'vocab.json', 'merges.txt'];
  const index = { weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00001-of-00002.safetensors', evil: '../../etc/passwd' } };
  const plan = await planModelFiles(view(files, { 'model.safetensors.index.json': index }), 'torch');
  assert.deepEqual([...plan.files].sort(), ['config.json', 'merges.txt', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'vocab.json']);
  const bin = await planModelFiles(view(['config.json', 'pytorch_model.bin', 'vocab.txt']), 'torch');
  assert.deepEqual(bin.files, ['config.json', 'pytorch_model.bin', 'vocab.txt']);
  // A shard the index names but the repo lacks, no weights, no tokenizer: named as missing.
  const broken = await planModelFiles(view(['model.safetensors.index.json'], { 'model.safetensors.index.json': { weight_map: { a: 'gone.safetensors' } } }), 'torch');
  assert.deepEqual(broken.missing, ['config.json', 'gone.safetensors', 'tokenizer.json | vocab.txt | vocab.json + merges.txt']);
  const none = await planModelFiles(view(['config.json', 'tokenizer.json']), 'torch');
  assert.deepEqual(none.missing, ['model.safetensors | model.safetensors.index.json | pytorch_model.bin | pytorch_model.bin.index.json']);
});

test('a Router (root layout, as OpenSearch ships it): router_config.json, then each route module in its sub-folder', async () => {
  const router = {
    types: {
      query_0_SparseStaticEmbedding: 'sentence_transformers.sparse_encoder.models.SparseStaticEmbedding',
      '': 'sentence_transformers.sparse_encoder.models.MLMTransformer',
      document_1_SpladePooling: 'sentence_transformers.sparse_encoder.models.SpladePooling',
    },
    structure: { query: ['query_0_SparseStaticEmbedding'], document: ['', 'document_1_SpladePooling'] },
  };
  const files = [
    'modules.json',
    'router_config.json',
    'config.json',
    'model.safetensors',
    'tokenizer.json',
    'idf.json',
    'query_0_SparseStaticEmbedding/config.json',
    'query_0_SparseStaticEmbedding/tokenizer.json',
    'query_0_SparseStaticEmbedding/idf.json',
    'document_1_SpladePooling/config.json',
    ...TRAINING_LEFTOVERS,
  ];
  const json = {
    'modules.json': [{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Router' }],
    'router_config.json': router,
    'query_0_SparseStaticEmbedding/config.json': { path: 'idf.json' },
  };
  const plan = await planModelFiles(view(files, json), 'torch');
  assert.deepEqual(plan.missing, []);
  assert.deepEqual([...plan.files].sort(), [
    'config.json',
    'document_1_SpladePooling/config.json',
    'model.safetensors',
    'modules.json',
    'query_0_SparseStaticEmbedding/config.json',
    'query_0_SparseStaticEmbedding/idf.json',
    'query_0_SparseStaticEmbedding/tokenizer.json',
    'router_config.json',
    'tokenizer.json',
  ]);
});

test('module paths cannot leave the repo; bare ids are sentence-transformers models unless classic checkpoints', () => {
  assert.equal(joinInside('', '1_Pooling'), '1_Pooling');
  assert.equal(joinInside('a', '../b'), 'b');
  assert.equal(joinInside('', '../x'), undefined);
  assert.equal(joinInside('', '/etc'), undefined);
  assert.equal(joinInside('', '.'), '');
  assert.equal(qualifiedRepoId('all-MiniLM-L6-v2'), 'sentence-transformers/all-MiniLM-L6-v2');
  assert.equal(qualifiedRepoId('bert-base-uncased'), 'bert-base-uncased');
  assert.equal(qualifiedRepoId('naver/splade-v3'), 'naver/splade-v3');
});
