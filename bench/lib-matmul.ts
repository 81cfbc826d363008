import { GraphBuilder } from '../src/graph/graph-builder.js';
import { ONNX_DTYPE } from '../src/graph/onnx-proto.js';
import { OnnxSession } from '../src/runtime/session.js';

/** Random uniform values in [-a, a) from a small deterministic generator (xorshift32). */
export function randomArray(n: number, a: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296) * 2 * a - a;
  }
  return out;
}

export interface MatMulRate {
  m: number;
  k: number;
  n: number;
  seconds: number;
  flopPerSecond: number;
}

/**
 * The FLOP/s onnxruntime-node reaches on one plain fp32 MatMul [m×k]×[k×n] (B a constant
 * initializer, as in a model), best of `repeats` timed runs after one warm-up run.
 */
export async function measureMatMul(m: number, k: number, n: number, threads: number, repeats = 5): Promise<MatMulRate> {
  const g = new GraphBuilder('matmul');
  const a = g.input('a', ONNX_DTYPE.FLOAT, [m, k]);
  const b = g.float('b', randomArray(k * n, 0.05, 7), [k, n]);
  g.exposeAs(g.node('MatMul', [a, b], 'c'), 'out', ONNX_DTYPE.FLOAT, [m, n]);
  const session = await OnnxSession.create(g.toBytes(), { intraOpNumThreads: threads });
  try {
    const feeds = { a: { type: 'float32' as const, data: randomArray(m * k, 1, 3), dims: [m, k] } };
    await session.run(feeds);
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return { m, k, n, seconds: best, flopPerSecond: (2 * m * k * n) / best };
  } finally {
    await session.dispose();
  }
}
