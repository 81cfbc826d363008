/**
 * Issue 27's first question: which matmul formulation is fastest for one short query
 * ([m×768]×[768×n], m = 20)? fp32 MatMul, our int8 DynamicQuantizeMatMul (7-bit int8 weights,
 * per-column scales), and com.microsoft MatMulNBits (weight-only, 8 and 4 bits, blocks of 32) at
 * accuracy_level 0 (dequantize to fp32) and 4 (int8 activations). Variants alternate; median of
 * `--repeats` runs. Prints markdown on stdout.
 *
 *   node dist/bench/small-matmul-probe.js [--m 20 --threads 2 --repeats 200]
 */
import { GraphBuilder, MS_DOMAIN } from '../src/graph/graph-builder.js';
import { ONNX_DTYPE } from '../src/graph/onnx-proto.js';
import { OnnxSession } from '../src/runtime/session.js';
import { randomArray } from './lib-matmul.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

type Kind = 'fp32' | 'dq-int8' | 'nbits8-acc0' | 'nbits8-acc4' | 'nbits4-acc0' | 'nbits4-acc4';
const KINDS: Kind[] = ['fp32', 'dq-int8', 'nbits8-acc0', 'nbits8-acc4', 'nbits4-acc0', 'nbits4-acc4'];

/** Weight-only blocks as MatMulNBits reads them: B [N, K/bs, bs*bits/8] uint8, scales [N*K/bs], zero point implicit (2^(bits-1)). */
function nbits(w: Float32Array, k: number, n: number, bits: 4 | 8, bs: number): { b: Uint8Array; scales: Float32Array } {
  const blocks = k / bs;
  const half = 2 ** (bits - 1);
  const b = new Uint8Array(n * blocks * ((bs * bits) / 8));
  const scales = new Float32Array(n * blocks);
  for (let col = 0; col < n; col++) {
    for (let blk = 0; blk < blocks; blk++) {
      let amax = 0;
      for (let i = 0; i < bs; i++) amax = Math.max(amax, Math.abs(w[(blk * bs + i) * n + col]!));
      const scale = amax / (half - 1) || 1;
      scales[col * blocks + blk] = scale;
      const base = (col * blocks + blk) * ((bs * bits) / 8);
      for (let i = 0; i < bs; i++) {
        const q = Math.max(0, Math.min(2 * half - 1, Math.round(w[(blk * bs + i) * n + col]! / scale) + half));
        if (bits === 8) b[base + i] = q;
        else b[base + (i >> 1)]! |= (i & 1) === 0 ? q : q << 4;
      }
    }
  }
  return { b, scales };
}

async function session(kind: Kind, m: number, k: number, n: number, w: Float32Array, threads: number): Promise<OnnxSession> {
  const g = new GraphBuilder('probe');
  const a = g.input('a', ONNX_DTYPE.FLOAT, [m, k]);
  let out: string;
  if (kind === 'fp32') out = g.node('MatMul', [a, g.float('b', w, [k, n])], 'c');
  else if (kind === 'dq-int8') {
    const scales = new Float32Array(n);
    for (let c = 0; c < n; c++) for (let r = 0; r < k; r++) scales[c] = Math.max(scales[c]!, Math.abs(w[r * n + c]!) / 63);
    const b = g.int8Deferred('b', [k, n], (dst) => {
      for (let i = 0; i < k * n; i++) dst[i] = Math.round(w[i]! / (scales[i % n]! || 1));
    });
    out = g.node('DynamicQuantizeMatMul', [a, b, g.float('s', scales, [n])], 'c', {}, MS_DOMAIN);
  } else {
    const bits = kind.startsWith('nbits8') ? 8 : 4;
    const acc = kind.endsWith('acc4') ? 4 : 0;
    const bs = 32;
    const q = nbits(w, k, n, bits, bs);
    const b = g.int8Deferred('b', [n, k / bs, (bs * bits) / 8], (dst) => dst.set(q.b), ONNX_DTYPE.UINT8);
    out = g.node('MatMulNBits', [a, b, g.float('s', q.scales, [n * (k / bs)])], 'c', { K: k, N: n, bits, block_size: bs, accuracy_level: acc }, MS_DOMAIN);
  }
  g.exposeAs(out, 'out', ONNX_DTYPE.FLOAT, [m, n]);
  return OnnxSession.create(g.toBytes(), { intraOpNumThreads: threads });
}

async function main(): Promise<void> {
  const m = arg('m', 20);
  const threads = arg('threads', 2);
  const repeats = arg('repeats', 200);
  const rows = ['| shape | kernel | median µs | GOP/s | weight bytes | GB/s of weights | max abs error vs fp32 |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const [k, n] of [[768, 768], [768, 3072], [3072, 768], [768, 30522]] as const) {
    const w = randomArray(k * n, 0.05, 7);
    const a = randomArray(m * k, 1, 3);
    const feeds = { a: { type: 'float32' as const, data: a, dims: [m, k] } };
    const sessions = new Map<Kind, OnnxSession>();
    for (const kind of KINDS) sessions.set(kind, await session(kind, m, k, n, w, threads));
    const ref = (await sessions.get('fp32')!.run(feeds))['out']!.data as Float32Array;
    const times = new Map<Kind, number[]>(KINDS.map((x) => [x, []]));
    const err = new Map<Kind, number>();
    for (const kind of KINDS) {
      const o = (await sessions.get(kind)!.run(feeds))['out']!.data as Float32Array;
      let e = 0;
      for (let i = 0; i < o.length; i++) e = Math.max(e, Math.abs(o[i]! - ref[i]!));
      err.set(kind, e);
    }
    for (let r = 0; r < repeats; r++) {
      for (let j = 0; j < KINDS.length; j++) {
        const kind = KINDS[(j + r) % KINDS.length]!;
        const t0 = process.hrtime.bigint();
        await sessions.get(kind)!.run(feeds);
        times.get(kind)!.push(Number(process.hrtime.bigint() - t0) / 1e3);
      }
    }
    for (const kind of KINDS) {
      const t = times.get(kind)!.sort((x, y) => x - y);
      const med = t[t.length >> 1]!;
      const bytes = kind === 'fp32' ? 4 * k * n : kind === 'dq-int8' || kind.startsWith('nbits8') ? k * n : (k * n) / 2;
      rows.push(`| ${m}×${k}×${n} | ${kind} | ${med.toFixed(0)} | ${((2 * m * k * n) / med / 1e3).toFixed(1)} | ${(bytes / 2 ** 20).toFixed(1)} MiB | ${(bytes / med / 1e3).toFixed(1)} | ${err.get(kind)!.toExponential(1)} |`);
      await sessions.get(kind)!.dispose();
    }
  }
  process.stdout.write(rows.join('\n') + '\n');
}

await main();
