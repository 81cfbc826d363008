import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isSparseEncoderError } from '../../src/errors.js';
import { GraphBuilder } from '../../src/graph/graph-builder.js';
import { ONNX_DTYPE, ProtoMessage } from '../../src/graph/onnx-proto.js';
import { OnnxSession } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/session.js';

describe('protobuf encoding', () => {
  it('writes varints as the protobuf spec examples (150 → 08 96 01, -1 → ten bytes)', () => {
    assert.deepEqual(Array.from(new ProtoMessage().varint(1, 150).toBytes()), [0x08, 0x96, 0x01]);
    assert.deepEqual(Array.from(new ProtoMessage().varint(1, -1).toBytes()), [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert.deepEqual(Array.from(new ProtoMessage().string(2, 'testing').toBytes()), [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
  });
  it('nests messages with their length prefix', () => {
    const inner = new ProtoMessage().varint(1, 150);
    assert.deepEqual(Array.from(new ProtoMessage().message(3, inner).toBytes()), [0x1a, 0x03, 0x08, 0x96, 0x01]);
  });
});

/** A small graph exercising initializers, int/ints/float attributes, a negative int and a contrib op. */
function tinyModel(): Uint8Array {
  const g = new GraphBuilder('tiny');
  const x = g.input('x', ONNX_DTYPE.FLOAT, ['batch', 3]);
  g.input('k', ONNX_DTYPE.INT64, ['batch']);
  const c = g.float('c', Float32Array.of(1, 2, 3), [3]);
  const y = g.node('Add', [x, c], 'y');
  const z = g.node('LeakyRelu', [y], 'z', { alpha: { float: 0.5 } });
  const t = g.node('Transpose', [z], 't', { perm: [1, 0] });
  const u = g.node('Concat', [t, t], 'u', { axis: -1 });
  const v = g.node('BiasGelu', [x, c], 'v', {}, 'com.microsoft');
  g.exposeAs(u, 'out', ONNX_DTYPE.FLOAT, [3, 'twice_batch']);
  g.exposeAs(v, 'gelu', ONNX_DTYPE.FLOAT, ['batch', 3]);
  return g.toBytes();
}

describe('OnnxSession', () => {
  let s: OnnxSession;
  before(async () => {
    s = await OnnxSession.create(tinyModel(), { intraOpNumThreads: 1 });
  });
  after(async () => s?.dispose());

  const x = (dims: number[], data = new Float32Array(dims.reduce((a, b) => a * b, 1))): TensorData => ({ type: 'float32', data, dims });
  const k = (n: number): TensorData => ({ type: 'int64', data: new BigInt64Array(n), dims: [n] });

  it('computes a hand-built graph as ONNX specifies', async () => {
    const out = await s.run({ x: x([1, 3], Float32Array.of(-4, 0, 1)), k: k(1) });
    // y = x + c = [-3, 2, 4]; LeakyRelu(0.5) = [-1.5, 2, 4]; transposed [3,1]; concatenated to [3,2].
    assert.deepEqual(out['out']!.dims, [3, 2]);
    assert.deepEqual(Array.from(out['out']!.data as Float32Array), [-1.5, -1.5, 2, 2, 4, 4]);
    // exact GELU of [-3, 2, 4] = v·Φ(v) (Φ via erf; reference values from the closed form).
    const gelu = Array.from(out['gelu']!.data as Float32Array);
    [-0.0040496, 1.9544997, 3.9998733].forEach((want, i) => assert.ok(Math.abs(gelu[i]! - want) < 1e-5, `${gelu[i]} vs ${want}`));
  });

  it('reports its inputs and outputs', () => {
    assert.deepEqual(s.inputNames, ['x', 'k']);
    assert.deepEqual(s.outputNames, ['out', 'gelu']);
    assert.deepEqual(s.inputs[0]!.dims, ['batch', 3]);
  });

  it('rejects bad feeds with ERR_INVALID_INPUT before onnxruntime sees them', async () => {
    const bad: Array<[Record<string, TensorData>, string]> = [
      [{ x: x([1, 3]) }, 'missing model input "k"'],
      [{ x: x([1, 3]), k: k(1), extra: k(1) }, 'unexpected model input "extra"'],
      [{ x: { type: 'int64', data: new BigInt64Array(3), dims: [1, 3] }, k: k(1) }, 'must be float32'],
      [{ x: x([3]), k: k(1) }, 'must have 2 dimensions'],
      [{ x: x([1, 4]), k: k(1) }, 'dimension 1 must be 3'],
      [{ x: x([2, 3]), k: k(1) }, 'batch = 1'],
      [{ x: { type: 'float32', data: new Float32Array(5), dims: [2, 3] }, k: k(2) }, 'holds 5 values'],
      [{ x: x([0, 3]), k: k(1) }, 'invalid dimension 0'],
      [{ x: { type: 'float32', data: new Int32Array(3) as never, dims: [1, 3] }, k: k(1) }, 'does not match its type'],
    ];
    for (const [feeds, msg] of bad) {
      await assert.rejects(s.run(feeds), (err: unknown) => {
        assert.ok(isSparseEncoderError(err, 'ERR_INVALID_INPUT'), String(err));
        assert.ok((err as Error).message.includes(msg), `${(err as Error).message} should include ${msg}`);
        return true;
      });
    }
  });

  it('rejects unknown output names', async () => {
    await assert.rejects(s.run({ x: x([1, 3]), k: k(1) }, ['nope']), (err: unknown) => isSparseEncoderError(err, 'ERR_INVALID_ARGUMENT'));
  });

  it('turns unloadable bytes into ERR_RUNTIME and bad options into ERR_INVALID_ARGUMENT', async () => {
    await assert.rejects(OnnxSession.create(Uint8Array.of(1, 2, 3)), (err: unknown) => isSparseEncoderError(err, 'ERR_RUNTIME'));
    await assert.rejects(OnnxSession.create(tinyModel(), { intraOpNumThreads: 0 }), (err: unknown) => isSparseEncoderError(err, 'ERR_INVALID_ARGUMENT'));
    await assert.rejects(OnnxSession.create(tinyModel(), { graphOptimizationLevel: 'max' as never }), (err: unknown) => isSparseEncoderError(err, 'ERR_INVALID_ARGUMENT'));
  });

  it('throws ERR_DISPOSED after dispose()', async () => {
    const t = await OnnxSession.create(tinyModel(), { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
    await t.dispose();
    await assert.rejects(t.run({ x: x([1, 3]), k: k(1) }), (err: unknown) => isSparseEncoderError(err, 'ERR_DISPOSED'));
  });
});

describe('OnnxSession.fromModel', () => {
  const N = 3000; // 12 kB: above toExternal's 4 kB minimum, so it really goes to the data file
  /** y = x + c with c[i] = i, plus a small inline initializer. */
  function addModel(): GraphBuilder {
    const g = new GraphBuilder('add');
    const x = g.input('x', ONNX_DTYPE.FLOAT, [N]);
    const c = g.floatDeferred('c', [N], (dst) => dst.forEach((_, i) => (dst[i] = i)));
    const y = g.node('Add', [g.node('Add', [x, c], 'sum'), g.scalarFloat('half', 0.5)], 'sum2');
    g.exposeAs(y, 'y', ONNX_DTYPE.FLOAT, [N]);
    return g;
  }
  const feeds: Record<string, TensorData> = { x: { type: 'float32', data: new Float32Array(N).fill(1), dims: [N] } };

  it('moves only large initializers to the page-aligned data file', () => {
    const ext = addModel().toExternal('w.bin');
    const chunks = Array.from(ext.dataChunks());
    assert.equal(ext.dataByteLength, N * 4);
    assert.equal(chunks.reduce((a, c) => a + c.byteLength, 0), N * 4);
    assert.equal(new Float32Array(chunks[0]!.slice().buffer)[7], 7);
    assert.ok(ext.model.byteLength < 1000, `model proto of ${ext.model.byteLength} bytes should hold no weights`);
  });

  for (const [label, opts] of [
    ['inline bytes', {}],
    ['an external data file', { externalDataAboveBytes: 0 }],
    ['inline bytes when the temporary folder cannot be written', { externalDataAboveBytes: 0, tempDir: '/nonexistent/folder' }],
  ] as const) {
    it(`loads through ${label}`, async () => {
      const s = await OnnxSession.fromModel(addModel(), { intraOpNumThreads: 1, ...opts });
      try {
        const y = (await s.run(feeds))['y']!.data as Float32Array;
        assert.deepEqual([y[0], y[1], y[N - 1]], [1.5, 2.5, N + 0.5]);
      } finally {
        await s.dispose();
      }
    });
  }
});

describe('the wasm backend (onnxruntime-web)', () => {
  it('runs the same graph as the native backend: same outputs, the same feed checks', async () => {
    const native = await OnnxSession.create(tinyModel(), { intraOpNumThreads: 1 });
    const wasm = await OnnxSession.create(tinyModel(), { backend: 'wasm' });
    try {
      assert.equal(wasm.backend, 'wasm');
      assert.equal(native.backend, 'native');
      assert.deepEqual(wasm.inputs, native.inputs);
      const feeds: Record<string, TensorData> = {
        x: { type: 'float32', data: Float32Array.of(-4, 0, 1, 2, -2, 5), dims: [2, 3] },
        k: { type: 'int64', data: BigInt64Array.of(1n, 2n), dims: [2] },
      };
      assert.deepEqual(await wasm.run(feeds), await native.run(feeds));
      await assert.rejects(wasm.run({ ...feeds, x: { type: 'float32', data: new Float32Array(5), dims: [2, 3] } }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'));
    } finally {
      await native.dispose();
      await wasm.dispose();
    }
  });

  it('refuses weights WebAssembly cannot hold before building anything, and an unknown backend', async () => {
    let serialized = false;
    const huge = {
      initializerBytes: 3.5 * 2 ** 30,
      toBytes: (): Uint8Array => {
        serialized = true;
        return new Uint8Array();
      },
      toExternal: () => {
        serialized = true;
        return { model: new Uint8Array(), dataByteLength: 0, dataChunks: () => [] };
      },
    };
    await assert.rejects(OnnxSession.fromModel(huge, { backend: 'wasm' }), (e: unknown) => isSparseEncoderError(e, 'ERR_RUNTIME') && /4 GiB/.test((e as Error).message));
    assert.equal(serialized, false);
    await assert.rejects(OnnxSession.create(tinyModel(), { backend: 'gpu' as never }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  });
});
