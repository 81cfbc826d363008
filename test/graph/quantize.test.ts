import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSparseEncoderError } from '../../src/errors.js';
import { INT8_WEIGHT_MAX, quantizeLinear } from '../../src/graph/quantize.js';

test('per-output-channel symmetric quantization: columns side by side, each within half a step of the weight', () => {
  // Two Linear weights [out, in] = [3, 4] and [2, 4]; the second contributes its rows 1..2 only.
  const a = Float32Array.from([1, -2, 0.5, 4, 0, 0, 0, 0, -0.25, 0.125, 0.5, -1]);
  const b = Float32Array.from([9, 9, 9, 9, 3, -6, 1.5, 0]);
  const q = quantizeLinear([
    { weight: a, name: 'a', outDim: 3, inDim: 4 },
    { weight: b, name: 'b', outDim: 2, inDim: 4, r0: 1, r1: 2 },
  ]);
  assert.equal(q.inDim, 4);
  assert.equal(q.outDim, 4);
  assert.deepEqual(Array.from(q.scales), Array.from(Float32Array.of(4 / INT8_WEIGHT_MAX, 1, 1 / INT8_WEIGHT_MAX, 6 / INT8_WEIGHT_MAX)));
  const dst = new Int8Array(16);
  q.fill(dst);
  const rows = [a.subarray(0, 4), a.subarray(4, 8), a.subarray(8, 12), b.subarray(4, 8)];
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < 4; i++) {
      const v = dst[i * 4 + c]!;
      assert.ok(Math.abs(v) <= INT8_WEIGHT_MAX, `|q| <= ${INT8_WEIGHT_MAX}`);
      assert.ok(Math.abs(v * q.scales[c]! - rows[c]![i]!) <= q.scales[c]! / 2 + 1e-7, `column ${c} row ${i}`);
    }
  }
  // The largest magnitude of each channel maps to ±INT8_WEIGHT_MAX exactly; an all-zero channel to zeros.
  assert.equal(dst[3 * 4 + 0], INT8_WEIGHT_MAX);
  assert.equal(dst[1 * 4 + 3], -INT8_WEIGHT_MAX);
  for (let i = 0; i < 4; i++) assert.equal(dst[i * 4 + 1], 0);
});

test('a NaN or infinite weight is ERR_CORRUPT_WEIGHTS naming the tensor and the place', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const w = Float32Array.from([0, 1, 2, 3, 4, bad]);
    assert.throws(
      () => quantizeLinear([{ weight: w, name: 'encoder.layer.0.output.dense.weight', outDim: 2, inDim: 3 }]),
      (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && e.message.includes('encoder.layer.0.output.dense.weight') && e.message.includes('[1, 2]'),
    );
  }
});
