/**
 * Online query latency (issue 27): one query at a time, as a search user waits for it.
 *
 *   npm run bench:latency [-- --queries 200 --threads 2 --variants fp32,int8 --python /path/to/python --profile-runs 20]
 *
 * A random-weight BERT-base SPLADE model (the real bert-base-uncased tokenizer) and real SciFact
 * queries of 8–32 tokens. Every variant is loaded in this one process and the variants take turns
 * query by query (the first one rotating), each query timed around the public
 * `encodeQuery(text)` (tokenization and the sparse vector included). With `--python` (a Python
 * with sentence-transformers and torch; default $BENCH_PYTHON, skipped when unset), the genuine
 * SparseEncoder in fp32 and torch's dynamic int8 join the rotation (bench/latency/st_server.py,
 * timed inside Python).
 *
 * The same run measures the machine's memory read bandwidth (worker threads summing a 1 GiB
 * buffer, as many as --threads), and for each of our variants: the weight bytes one query reads
 * (every initializer but the embedding tables, of which a query reads a few rows), the achieved
 * model GOP/s and weight bytes/s at the p50 of the 18–22-token queries, and an onnxruntime profile
 * of `--profile-runs` runs of one 20-token query split by op type. Markdown on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { SparseEncoder, type SparseEncoderLoadOptions } from '../src/encoder/sparse-encoder.js';
import { parseTransformerConfig } from '../src/graph/config.js';
import { buildSpladeModel, type SpladeGraphOptions } from '../src/graph/transformer-graph.js';
import { readSafetensors } from '../src/weights/read-file.js';
import { readScifactQueries, writeRandomBertBaseSplade } from './lib-bench-data.js';
import { BERT_BASE, bertConfigJson, spladeFlops } from './lib-random-bert.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};

/** Our variants: a name and the load option that makes it. */
const OURS: Record<string, Pick<SparseEncoderLoadOptions, 'quantize'>> = {
  fp32: {},
  int8: { quantize: 'int8' },
};

const MiB = 2 ** 20;

// --- memory bandwidth ----------------------------------------------------------------------------

const SUM_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { buffer, start, end } = workerData;
const a = new Float64Array(buffer);
parentPort.on('message', () => {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = start; i < end; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
  parentPort.postMessage(s0 + s1 + s2 + s3);
});
`;

/** Bytes/s of a streaming read of a 1 GiB buffer by `threads` worker threads, best of 5. */
async function readBandwidth(threads: number): Promise<number> {
  const bytes = 1024 * MiB;
  const buffer = new SharedArrayBuffer(bytes);
  new Float64Array(buffer).fill(1);
  const n = bytes / 8;
  const per = Math.floor(n / threads / 4) * 4;
  const workers = Array.from({ length: threads }, (_, t) => new Worker(SUM_WORKER, { eval: true, workerData: { buffer, start: t * per, end: (t + 1) * per } }));
  const pass = (): Promise<number[]> => Promise.all(workers.map((w) => new Promise<number>((resolve) => (w.once('message', resolve), w.postMessage(0)))));
  try {
    await pass();
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      const sums = await pass();
      best = Math.min(best, (performance.now() - t0) / 1e3);
      if (sums.reduce((x, y) => x + y, 0) !== per * threads) throw new Error('bandwidth probe: wrong sum');
    }
    return (per * threads * 8) / best;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

// --- the genuine sentence-transformers, over a pipe -----------------------------------------------

interface PythonRotation {
  variants: string[];
  versions: Record<string, string>;
  time(variant: string, text: string): Promise<number>;
  close(): void;
}

async function startPython(python: string, folder: string, threads: number): Promise<PythonRotation> {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bench', 'latency', 'st_server.py');
  const child = spawn(python, [script, folder, String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next();
    if (r.done === true) throw new Error(`${python} ${script} ended (sentence-transformers and torch installed?)`);
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const ready = await next();
  return {
    variants: ['st-fp32', 'st-int8'],
    versions: ready['versions'] as Record<string, string>,
    async time(variant, text) {
      child.stdin.write(JSON.stringify({ variant, text }) + '\n');
      return (await next())['ms'] as number;
    },
    close: () => child.stdin.end(),
  };
}

// --- onnxruntime's profile, by op type ------------------------------------------------------------

interface OpRow {
  op: string;
  calls: number;
  us: number;
}

interface Profile {
  runUs: number;
  kernelUs: number;
  ops: OpRow[];
}

/** Our graph for `variant`, as the encoder builds it, and its weight bytes a query reads. */
async function variantGraph(folder: string, variant: string): Promise<{ bytes: Uint8Array; weightBytes: number }> {
  const config = parseTransformerConfig(bertConfigJson(BERT_BASE));
  const weights = await readSafetensors(join(folder, 'model.safetensors'));
  const quantize = OURS[variant]!.quantize;
  const options: SpladeGraphOptions = { pooling: 'max', activation: 'relu', ...(quantize === 'int8' ? { quantize: { precision: 'int8' as const } } : {}) };
  const model = buildSpladeModel(config, weights, options);
  const H = BERT_BASE.hidden;
  // The embedding tables stay fp32 in every variant; a query gathers a few of their rows.
  const embeddings = 4 * H * (BERT_BASE.vocab + BERT_BASE.maxPositions + BERT_BASE.typeVocab);
  return { bytes: model.toBytes(), weightBytes: model.initializerBytes - embeddings };
}

async function profile(graph: Uint8Array, ids: number[], threads: number, runs: number, dir: string): Promise<Profile> {
  const prefix = join(dir, `profile-${Date.now()}`);
  const session = await ort.InferenceSession.create(graph, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: prefix,
    logSeverityLevel: 3,
  });
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = {};
  const long = (values: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, n]);
  for (const name of session.inputNames) {
    if (name === 'input_ids') feeds[name] = long(ids);
    else if (name === 'attention_mask') feeds[name] = long(ids.map(() => 1));
    else if (name === 'token_type_ids') feeds[name] = long(ids.map(() => 0));
    else feeds[name] = new ort.Tensor('bool', [false], []);
  }
  for (let r = 0; r < runs + 1; r++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = readdirSync(dir).find((f) => join(dir, f).startsWith(prefix) && f.endsWith('.json'));
  if (file === undefined) throw new Error('onnxruntime wrote no profile');
  const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Array<{ cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }>;
  const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  if (modelRuns.length !== runs + 1) throw new Error(`profile: ${modelRuns.length} runs, expected ${runs + 1}`);
  const after = modelRuns[0]!.ts + modelRuns[0]!.dur; // the first run warms up
  const byOp = new Map<string, OpRow>();
  let kernelUs = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < after) continue;
    const op = e.args?.op_name ?? '?';
    const row = byOp.get(op) ?? { op, calls: 0, us: 0 };
    row.calls += 1 / runs;
    row.us += e.dur / runs;
    byOp.set(op, row);
    kernelUs += e.dur / runs;
  }
  const runUs = modelRuns.slice(1).reduce((s, e) => s + e.dur, 0) / runs;
  return { runUs, kernelUs, ops: [...byOp.values()].sort((a, b) => b.us - a.us) };
}

// --- the rotation ---------------------------------------------------------------------------------

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function main(): Promise<void> {
  const queriesN = Number(arg('queries', '200'));
  const threads = Number(arg('threads', '2'));
  const variants = arg('variants', 'fp32,int8').split(',');
  for (const v of variants) if (OURS[v] === undefined) throw new Error(`unknown variant ${v}; known: ${Object.keys(OURS).join(', ')}`);
  const python = arg('python', process.env['BENCH_PYTHON'] ?? '');
  const profileRuns = Number(arg('profile-runs', '20'));
  const gapMs = Number(arg('gap-ms', '0'));
  const spinning = arg('spinning', 'on') !== 'off';
  const work = mkdtempSync(join(tmpdir(), 'latency-bench-'));
  try {
    const folder = writeRandomBertBaseSplade(work, [512]).get(512)!;
    const encoders = new Map<string, SparseEncoder>();
    for (const v of variants) encoders.set(v, await SparseEncoder.fromPretrained(folder, { threads, spinning, ...OURS[v] }));
    const first = encoders.get(variants[0]!)!;
    const all = readScifactQueries(10_000);
    const counts = await first.tokenCounts(all);
    const picked = all.map((text, i) => ({ text, tokens: counts[i]! })).filter((q) => q.tokens >= 8 && q.tokens <= 32).slice(0, queriesN);
    const isMid = (tokens: number): boolean => tokens >= 18 && tokens <= 22;
    const mid = picked.filter((q) => isMid(q.tokens));
    // The query the onnxruntime profile runs: the first of 18–22 tokens.
    const probeIds = (await first.tokenize((mid[0] ?? picked[0]!).text, { task: 'query' })).inputIds;
    const py = python === '' ? undefined : await startPython(python, folder, threads);
    const names = [...variants, ...(py?.variants ?? [])];
    const time = async (name: string, text: string): Promise<number> => {
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      const encoder = encoders.get(name);
      if (encoder === undefined) return py!.time(name, text);
      const t0 = performance.now();
      await encoder.encodeQuery(text);
      return performance.now() - t0;
    };
    process.stderr.write(`${picked.length} queries, ${names.join(' / ')} taking turns (${threads} threads)\n`);
    for (const q of picked.slice(0, 10)) for (const name of names) await time(name, q.text); // warm-up
    const ms = new Map<string, Array<{ ms: number; tokens: number }>>(names.map((n) => [n, []]));
    for (const [i, q] of picked.entries()) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(i + j) % names.length]!;
        ms.get(name)!.push({ ms: await time(name, q.text), tokens: q.tokens });
      }
    }
    py?.close();
    for (const e of encoders.values()) await e.dispose();

    const bandwidth = await readBandwidth(threads);
    const midFlops = spladeFlops(BERT_BASE, mid.map((q) => q.tokens)) / Math.max(1, mid.length);
    const graphs = new Map<string, { bytes: Uint8Array; weightBytes: number }>();
    for (const v of variants) graphs.set(v, await variantGraph(folder, v));
    const sortedMs = (name: string, keep: (tokens: number) => boolean = () => true): number[] =>
      ms.get(name)!.filter((r) => keep(r.tokens)).map((r) => r.ms).sort((a, b) => a - b);
    const fp32Mid = ms.has('fp32') ? sortedMs('fp32', isMid) : [];
    const fp32p50 = fp32Mid.length > 0 ? quantile(fp32Mid, 0.5) : undefined;

    const out: string[] = [];
    out.push(`Machine: ${cpus()[0]?.model ?? '?'}, ${threads} threads; memory read bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (${threads} worker threads summing 1 GiB).`);
    out.push(`Queries: ${picked.length} SciFact queries of 8–32 tokens (${mid.length} of 18–22), batch 1, the variants taking turns query by query.`);
    if (py !== undefined) out.push(`Python: sentence-transformers ${py.versions['sentence_transformers']}, torch ${py.versions['torch']}.`);
    out.push('');
    out.push('| variant | p50 ms (8–32) | p90 | p99 | p50 ms (18–22) | p90 (18–22) | vs our fp32 (18–22 p50) | model GOP/s | weights read per query | weight GB/s | of bandwidth |');
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const name of names) {
      const t = sortedMs(name);
      const tm = sortedMs(name, isMid);
      const p50m = quantile(tm, 0.5);
      const g = graphs.get(name);
      const cells = [
        name,
        quantile(t, 0.5).toFixed(1),
        quantile(t, 0.9).toFixed(1),
        quantile(t, 0.99).toFixed(1),
        p50m.toFixed(1),
        quantile(tm, 0.9).toFixed(1),
        fp32p50 === undefined ? '' : `${(fp32p50 / p50m).toFixed(2)}×`,
        (midFlops / (p50m / 1e3) / 1e9).toFixed(0),
        g === undefined ? '' : `${(g.weightBytes / MiB).toFixed(0)} MiB`,
        g === undefined ? '' : ((g.weightBytes / (p50m / 1e3)) / 1e9).toFixed(1),
        g === undefined ? '' : `${((g.weightBytes / (p50m / 1e3) / bandwidth) * 100).toFixed(0)}%`,
      ];
      out.push(`| ${cells.join(' | ')} |`);
    }
    for (const [v, g] of graphs) {
      const p = await profile(g.bytes, [...probeIds], threads, profileRuns, work);
      out.push('');
      out.push(`onnxruntime profile, ${v}, one ${probeIds.length}-token query (mean of ${profileRuns} runs): run ${(p.runUs / 1e3).toFixed(2)} ms, kernels ${(p.kernelUs / 1e3).toFixed(2)} ms (${((p.kernelUs / p.runUs) * 100).toFixed(0)}%).`);
      out.push('');
      out.push('| op type | calls | ms | share of kernel time |');
      out.push('| --- | ---: | ---: | ---: |');
      for (const r of p.ops.filter((r) => r.us / p.kernelUs >= 0.005)) out.push(`| ${r.op} | ${r.calls.toFixed(0)} | ${(r.us / 1e3).toFixed(2)} | ${((r.us / p.kernelUs) * 100).toFixed(1)}% |`);
    }
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
