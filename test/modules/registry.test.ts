import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { moduleKind } from '../../src/modules/registry.js';
import { moduleFolder } from '../../src/modules/load-model.js';
import { isSparseEncoderError } from '../../src/errors.js';

test('5.x and 6.x type strings map to the same module kinds', () => {
  const cases: Array<[string, string]> = [
    ['sentence_transformers.sparse_encoder.models.MLMTransformer', 'MLMTransformer'],
    ['sentence_transformers.sparse_encoder.models.MLMTransformer.MLMTransformer', 'MLMTransformer'],
    ['sentence_transformers.sparse_encoder.modules.mlm_transformer.MLMTransformer', 'MLMTransformer'],
    ['sentence_transformers.base.modules.transformer.Transformer', 'Transformer'],
    ['sentence_transformers.models.Transformer', 'Transformer'],
    ['sentence_transformers.sparse_encoder.models.SpladePooling', 'SpladePooling'],
    ['sentence_transformers.sparse_encoder.modules.splade_pooling.SpladePooling', 'SpladePooling'],
    ['sentence_transformers.sparse_encoder.models.SparseStaticEmbedding.SparseStaticEmbedding', 'SparseStaticEmbedding'],
    ['sentence_transformers.sparse_encoder.modules.sparse_static_embedding.SparseStaticEmbedding', 'SparseStaticEmbedding'],
    ['sentence_transformers.sparse_encoder.models.IDF', 'SparseStaticEmbedding'],
    ['sentence_transformers.models.Router', 'Router'],
    ['sentence_transformers.base.modules.router.Router', 'Router'],
    ['sentence_transformers.models.Pooling', 'Pooling'],
    ['sentence_transformers.sparse_encoder.models.SparseAutoEncoder', 'SparseAutoEncoder'],
  ];
  for (const [type, kind] of cases) assert.equal(moduleKind(type, 'test'), kind, type);
});

test('unknown classes and code outside sentence_transformers are refused with ERR_UNSUPPORTED_MODULE', () => {
  for (const type of ['sentence_transformers.models.Normalize', 'sentence_transformers.models.Dense', 'my_package.SpladePooling', 'SpladePooling']) {
    assert.throws(() => moduleKind(type, 'modules.json entry 1'), (e) => isSparseEncoderError(e, 'ERR_UNSUPPORTED_MODULE') && e.message.includes(type) && e.message.includes('entry 1'));
  }
  assert.throws(() => moduleKind(42, 'x'), (e) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG'));
});

test('module folders: "", "." and "./" are the root; sub-folders join; escaping paths are refused', () => {
  const root = '/models/m';
  assert.equal(moduleFolder(root, '', 'w'), root);
  assert.equal(moduleFolder(root, '.', 'w'), root);
  assert.equal(moduleFolder(root, './', 'w'), root);
  assert.equal(moduleFolder(root, '1_SpladePooling', 'w'), join(root, '1_SpladePooling'));
  assert.equal(moduleFolder(root, 'a/./b/', 'w'), join(root, 'a', 'b'));
  assert.throws(() => moduleFolder(root, '../elsewhere', 'w'), (e) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG'));
  assert.throws(() => moduleFolder(root, '/etc', 'w'), (e) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG'));
});
