import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosine, dot, fromDense, fromPairs, intersection, topKByMagnitude, toDense } from '../../src/sparse/vector.js';
import { isSparseEncoderError } from '../../src/errors.js';

test('fromDense/toDense round trip drops zeros', () => {
  const v = fromDense([0, 1.5, 0, -2, 0]);
  assert.deepEqual([...v.indices], [1, 3]);
  assert.deepEqual([...v.values], [1.5, -2]);
  assert.deepEqual([...toDense(v)], [0, 1.5, 0, -2, 0]);
});

test('dot and cosine agree with dense arithmetic; zero vector has cosine 0', () => {
  const a = fromDense([1, 0, 2, 0, 3]);
  const b = fromDense([0, 4, 5, 0, 6]);
  assert.equal(dot(a, b), 2 * 5 + 3 * 6);
  assert.ok(Math.abs(cosine(a, b) - 28 / (Math.sqrt(14) * Math.sqrt(77))) < 1e-12);
  assert.equal(cosine(a, fromDense([0, 0, 0, 0, 0])), 0);
  assert.deepEqual([...intersection(a, b).indices], [2, 4]);
});

test('fromPairs sorts and rejects duplicates and out-of-range indices', () => {
  const v = fromPairs([5, 1, 3], [0.5, 0.1, 0.3], 10);
  assert.deepEqual([...v.indices], [1, 3, 5]);
  assert.throws(() => fromPairs([1, 1], [1, 2], 10), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'));
  assert.throws(() => fromPairs([10], [1], 10), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'));
  assert.throws(() => fromPairs([1], [1, 2], 10), (e) => isSparseEncoderError(e, 'ERR_SHAPE_MISMATCH'));
});

test('topKByMagnitude keeps the largest absolute values in index order', () => {
  const v = fromDense([0.1, -5, 3, 0, 4, -0.2]);
  const t = topKByMagnitude(v, 2);
  assert.deepEqual([...t.indices], [1, 4]);
  assert.deepEqual([...t.values], [-5, 4]);
  assert.equal(topKByMagnitude(v, 10), v);
});

test('fromPairs refuses values a float32 cannot hold (found by fuzzing: 1e308 became Infinity) and drops ones that round to zero', () => {
  assert.throws(() => fromPairs([1], [1e308], 10), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_INPUT');
  assert.throws(() => fromPairs([1], [-3.5e38], 10), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_INPUT');
  const v = fromPairs([1, 2], [1e-320, 3e38], 10);
  assert.deepEqual([...v.indices], [2]);
  assert.ok(Number.isFinite(v.values[0]!));
});
