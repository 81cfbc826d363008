import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';

test('routes: an inference-free model loads its query route alone and encodes queries exactly as the full model', async () => {
  const full = await SparseEncoder.fromPretrained(fixture('inference-free'), { threads: 1 });
  const queryOnly = await SparseEncoder.fromPretrained(fixture('inference-free'), { routes: ['query'] });
  try {
    assert.deepEqual(queryOnly.modelInfo.routes, ['query']);
    assert.equal(queryOnly.modelInfo.queryKind, 'static');
    const texts = ['what folds proteins', 'Deep Learning is not...', ''];
    const a = await full.encodeQuery(texts);
    const b = await queryOnly.encodeQuery(texts);
    for (let i = 0; i < texts.length; i++) {
      assert.deepEqual(Array.from(b[i]!.indices), Array.from(a[i]!.indices));
      assert.deepEqual(Array.from(b[i]!.values), Array.from(a[i]!.values));
    }
    await assert.rejects(SparseEncoder.fromPretrained(fixture('inference-free'), { routes: ['nope'] }), (e) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG') && /none of the routes asked for \(nope\)/.test(e.message));
    await assert.rejects(SparseEncoder.fromPretrained(fixture('inference-free'), { routes: [] }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  } finally {
    await full.dispose();
    await queryOnly.dispose();
  }
});
