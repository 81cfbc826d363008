/**
 * The graph-level measurements behind design choices quoted in README.md and BENCHMARKS.md.
 *
 *   npm run bench:graph
 *
 * 1. Weights of the BERT-base SPLADE graph in fp32, int8 and int8 with an fp32 vocabulary
 *    projection, and the time to build (quantization scales) and serialize each.
 * 2. Attention at long inputs: one masked 12-head com.microsoft MultiHeadAttention against 12
 *    single-head ones (what gte-graph.ts builds), peak RSS and time, each in its own process.
 * 3. int8 kernels on one [2048×768]×[768×3072] product: fp32 MatMul against DynamicQuantizeMatMul
 *    with 7-bit and 8-bit int8 weights and with uint8 weights (zero point 128): time and the
 *    error against the fp32 product (the 8-bit int8 kernel saturates on CPUs without VNNI).
 * Prints markdown on stdout.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseTransformerConfig } from '../src/graph/config.js';
import { GraphBuilder, MS_DOMAIN } from '../src/graph/graph-builder.js';
import { ONNX_DTYPE } from '../src/graph/onnx-proto.js';
import { buildSpladeModel } from '../src/graph/transformer-graph.js';
import { OnnxSession } from '../src/runtime/session.js';
import { randomArray } from './lib-matmul.js';
import { BERT_BASE, bertConfigJson, randomBertWeights } from './lib-random-bert.js';

const MiB = 2 ** 20;

function weightsTable(): string[] {
  const config = parseTransformerConfig(bertConfigJson(BERT_BASE));
  const weights = randomBertWeights(BERT_BASE);
  const rows = ['| graph | weights (MiB) | build (ms) | serialize (ms) |', '| --- | ---: | ---: | ---: |'];
  for (const [label, quantize] of [
    ['fp32', undefined],
    ['int8', { precision: 'int8' as const }],
    ['int8, fp32 vocabulary projection', { precision: 'int8' as const, vocabProjection: false }],
  ] as const) {
    const t0 = performance.now();
    const model = buildSpladeModel(config, weights, { pooling: 'max', activation: 'relu', ...(quantize === undefined ? {} : { quantize }) });
    const t1 = performance.now();
    let bytes = 0;
    for (const chunk of model.toExternal('weights.bin').dataChunks()) bytes += chunk.byteLength;
    const t2 = performance.now();
    rows.push(`| ${label} | ${(model.initializerBytes / MiB).toFixed(0)} | ${(t1 - t0).toFixed(0)} | ${(t2 - t1).toFixed(0)} |`);
    if (bytes === 0) throw new Error('no weights written');
  }
  return rows;
}

/** Child: one attention variant, `B × S` tokens, hidden 768, 12 heads; prints {ms, peakRssMiB}. */
async function attentionChild(B: number, S: number, perHead: boolean): Promise<{ ms: number; peakRssMiB: number }> {
  const H = 768;
  const N = 12;
  const g = new GraphBuilder('attention');
  const x = g.input('x', ONNX_DTYPE.FLOAT, [B, S, H]);
  const mask = g.input('mask', ONNX_DTYPE.INT32, [B, S]);
  let out: string;
  if (!perHead) {
    out = g.node('MultiHeadAttention', [x, x, x, '', mask], 'ctx', { num_heads: N }, MS_DOMAIN);
  } else {
    const heads = g.nodeN('Split', [x, g.int64('split', new Array<number>(N).fill(H / N))], Array.from({ length: N }, (_, h) => `h${h}`), { axis: 2 });
    out = g.node('Concat', heads.map((h, i) => g.node('MultiHeadAttention', [h, h, h, '', mask], `ctx${i}`, { num_heads: 1 }, MS_DOMAIN)), 'ctx', { axis: 2 });
  }
  g.exposeAs(out, 'out', ONNX_DTYPE.FLOAT, [B, S, H]);
  const session = await OnnxSession.create(g.toBytes(), { intraOpNumThreads: 2 });
  try {
    const feeds = {
      x: { type: 'float32' as const, data: randomArray(B * S * H, 0.5, 3), dims: [B, S, H] },
      mask: { type: 'int32' as const, data: new Int32Array(B * S).fill(1), dims: [B, S] },
    };
    await session.run(feeds);
    let best = Infinity;
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now();
      await session.run(feeds);
      best = Math.min(best, performance.now() - t0);
    }
    return { ms: best, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
  } finally {
    await session.dispose();
  }
}

function attentionTable(): string[] {
  const self = fileURLToPath(import.meta.url);
  const rows = ['| batch × tokens | attention | time (ms) | peak RSS of the process (MiB) |', '| --- | --- | ---: | ---: |'];
  for (const [B, S] of [
    [8, 256],
    [4, 512],
    [1, 8192],
  ] as const) {
    for (const perHead of [false, true]) {
      const r = spawnSync(process.execPath, [self, '--attention', JSON.stringify({ B, S, perHead })], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) throw new Error(`attention child failed with status ${r.status}`);
      const { ms, peakRssMiB } = JSON.parse(r.stdout) as { ms: number; peakRssMiB: number };
      rows.push(`| ${B} × ${S} | ${perHead ? '12 × single-head MultiHeadAttention' : 'one 12-head MultiHeadAttention'} | ${ms.toFixed(0)} | ${peakRssMiB.toFixed(0)} |`);
    }
  }
  return rows;
}

async function kernelTable(): Promise<string[]> {
  const [M, K, N] = [2048, 768, 3072];
  // Weights uniform with std 0.02 (as the benchmark models); activations non-negative and dense, as a
  // GELU output is: quantized to uint8 many sit near 255, so neighbouring products are large together.
  const w = randomArray(K * N, 0.02 * Math.sqrt(3), 7);
  const a = randomArray(M * K, 1, 3).map((v) => Math.abs(v) * 4);
  const colMax = new Float32Array(N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) colMax[n] = Math.max(colMax[n]!, Math.abs(w[k * N + n]!));
  type Variant = { label: string; kind: 'fp32' | 's8' | 'u8'; max: number };
  const variants: Variant[] = [
    { label: 'fp32 MatMul', kind: 'fp32', max: 0 },
    { label: 'DynamicQuantizeMatMul, int8 weights ±63 (7-bit, chosen)', kind: 's8', max: 63 },
    { label: 'DynamicQuantizeMatMul, int8 weights ±127 (8-bit)', kind: 's8', max: 127 },
    { label: 'DynamicQuantizeMatMul, uint8 weights, zero point 128 (8-bit)', kind: 'u8', max: 127 },
  ];
  const outputs: Float32Array[] = [];
  const rows = ['| kernel | time (ms) | × fp32 | relative error against fp32 (RMS) |', '| --- | ---: | ---: | ---: |'];
  const times: number[] = [];
  for (const v of variants) {
    const g = new GraphBuilder('kernel');
    const x = g.input('a', ONNX_DTYPE.FLOAT, [M, K]);
    let out: string;
    if (v.kind === 'fp32') {
      out = g.node('MatMul', [x, g.float('b', w, [K, N])], 'c');
    } else {
      const scale = Float32Array.from(colMax, (m) => m / v.max);
      const q = new Int8Array(K * N);
      const u = new Uint8Array(K * N);
      for (let i = 0; i < K * N; i++) {
        const r = Math.round(w[i]! / scale[i % N]!);
        q[i] = r;
        u[i] = r + 128;
      }
      const inputs: string[] = [x, v.kind === 's8' ? g.int8Deferred('b', [K, N], (dst) => dst.set(q)) : '', g.float('s', scale, [N])];
      if (v.kind === 'u8') {
        // The uint8 variant: the same matrix shifted by 128, with that zero point per column.
        inputs[1] = g.int8Deferred('b8', [K, N], (dst) => new Uint8Array(dst.buffer, dst.byteOffset, K * N).set(u), ONNX_DTYPE.UINT8);
        inputs.push(g.int8Deferred('zp', [N], (dst) => new Uint8Array(dst.buffer, dst.byteOffset, N).fill(128), ONNX_DTYPE.UINT8));
      }
      out = g.node('DynamicQuantizeMatMul', inputs, 'c', {}, MS_DOMAIN);
    }
    g.exposeAs(out, 'out', ONNX_DTYPE.FLOAT, [M, N]);
    const session = await OnnxSession.create(g.toBytes(), { intraOpNumThreads: 2 });
    try {
      const feeds = { a: { type: 'float32' as const, data: a, dims: [M, K] } };
      const first = await session.run(feeds);
      outputs.push(first['out']!.data as Float32Array);
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        await session.run(feeds);
        best = Math.min(best, performance.now() - t0);
      }
      times.push(best);
    } finally {
      await session.dispose();
    }
  }
  const ref = outputs[0]!;
  let refSq = 0;
  for (const v of ref) refSq += v * v;
  variants.forEach((v, i) => {
    let errSq = 0;
    const o = outputs[i]!;
    for (let j = 0; j < o.length; j++) errSq += (o[j]! - ref[j]!) ** 2;
    rows.push(`| ${v.label} | ${times[i]!.toFixed(1)} | ${(times[0]! / times[i]!).toFixed(2)} | ${i === 0 ? '–' : Math.sqrt(errSq / refSq).toExponential(2)} |`);
  });
  return rows;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--attention') {
    const { B, S, perHead } = JSON.parse(process.argv[3]!) as { B: number; S: number; perHead: boolean };
    process.stdout.write(JSON.stringify(await attentionChild(B, S, perHead)));
    return;
  }
  // Attention first: a child's peak RSS starts from this process's size when it is spawned.
  process.stderr.write('attention ...\n');
  const attention = attentionTable();
  process.stderr.write('weights ...\n');
  const weights = weightsTable();
  process.stderr.write('int8 kernels ...\n');
  const kernels = await kernelTable();
  const md = [
    '## Graph probes: weight sizes, attention memory, int8 kernels',
    '',
    `Command: \`npm run bench:graph\`. Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, 2 intra-op threads.`,
    '',
    'BERT-base SPLADE graph (random weights), built by `buildSpladeModel` and serialized to an external-data layout:',
    '',
    ...weights,
    '',
    'Attention, hidden 768, 12 heads, padding mask given (all ones), each variant in its own process:',
    '',
    ...attention,
    '',
    'One [2048×768]×[768×3072] product, weights uniform with std 0.02, activations uniform in [0, 4) (dense and non-negative, as after GELU):',
    '',
    ...kernels,
  ];
  process.stdout.write(md.join('\n') + '\n');
}

await main();
