/**
 * Encoding throughput of a BERT-base-shaped SPLADE model (random weights, real bert-base-uncased
 * tokenizer) through the public SparseEncoder, on the first SciFact documents, fp32 and int8
 * side by side.
 *
 *   npm run bench [-- --docs 256 --threads 2 --configs 256x8,256x32,128x8,128x32 --precisions fp32,int8]
 *
 * Per configuration, one child process loads every precision and encodes the documents batch by
 * batch, the precisions taking turns on each batch (the first one alternating), so that both
 * see the same machine load; the int8/fp32 ratio comes from those timings. Before loading, the
 * child measures the FLOP/s of one plain fp32 MatMul [8192×768]×[768×3072] with the same thread
 * count; each precision's achieved model FLOP/s is divided by it. Peak RSS is measured apart, in
 * one child per precision that loads only that model and encodes two batches, so that each
 * number is that precision's own. Prints a table on stderr and markdown on stdout.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseEncoder } from '../src/encoder/sparse-encoder.js';
import { measureMatMul } from './lib-matmul.js';
import { readScifactDocs, writeRandomBertBaseSplade } from './lib-bench-data.js';
import { BERT_BASE, spladeFlops } from './lib-random-bert.js';

interface BenchConfig {
  maxSeqLength: number;
  batchSize: number;
}

type Precision = 'fp32' | 'int8';

interface PrecisionTiming {
  precision: Precision;
  seconds: number;
  loadSeconds: number;
  meanNnz: number;
}

interface PairResult extends BenchConfig {
  docs: number;
  tokens: number;
  modelFlops: number;
  matmulFlopPerSecond: number;
  timings: PrecisionTiming[];
}

interface RssResult {
  precision: Precision;
  peakRssBytes: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function load(folder: string, precision: Precision, threads: number): Promise<SparseEncoder> {
  return SparseEncoder.fromPretrained(folder, { threads, ...(precision === 'int8' ? { quantize: 'int8' as const } : {}) });
}

/** Every precision on the same batches, taking turns. */
async function pairChild(folder: string, cfg: BenchConfig, docsN: number, threads: number, precisions: Precision[]): Promise<PairResult> {
  const mm = await measureMatMul(8192, 768, 3072, threads, 3);
  const docs = readScifactDocs(docsN);
  const encoders: SparseEncoder[] = [];
  const timings: PrecisionTiming[] = [];
  try {
    for (const precision of precisions) {
      const t0 = performance.now();
      encoders.push(await load(folder, precision, threads));
      timings.push({ precision, seconds: 0, loadSeconds: (performance.now() - t0) / 1000, meanNnz: 0 });
    }
    // Real token counts (after truncation, special tokens included) for the FLOP count.
    const counts: number[] = [];
    for (const d of docs) counts.push((await encoders[0]!.tokenize(d, { task: 'document' })).inputIds.length);
    // Warm-up on one batch each (first runs allocate onnxruntime's arena).
    for (const e of encoders) await e.encodeDocument(docs.slice(0, cfg.batchSize), { batchSize: cfg.batchSize });
    const nnz = precisions.map(() => 0);
    for (let b = 0, at = 0; at < docs.length; b++, at += cfg.batchSize) {
      const batch = docs.slice(at, at + cfg.batchSize);
      for (let j = 0; j < encoders.length; j++) {
        const p = (j + b) % encoders.length;
        const t1 = performance.now();
        const vectors = await encoders[p]!.encodeDocument(batch, { batchSize: cfg.batchSize });
        timings[p]!.seconds += (performance.now() - t1) / 1000;
        nnz[p] += vectors.reduce((a, v) => a + v.indices.length, 0);
      }
    }
    timings.forEach((t, p) => (t.meanNnz = nnz[p]! / docs.length));
    return {
      ...cfg,
      docs: docs.length,
      tokens: counts.reduce((a, b) => a + b, 0),
      modelFlops: spladeFlops(BERT_BASE, counts),
      matmulFlopPerSecond: mm.flopPerSecond,
      timings,
    };
  } finally {
    for (const e of encoders) await e.dispose();
  }
}

/** One precision alone: its own peak RSS over loading and two batches. */
async function rssChild(folder: string, cfg: BenchConfig, threads: number, precision: Precision): Promise<RssResult> {
  const encoder = await load(folder, precision, threads);
  try {
    await encoder.encodeDocument(readScifactDocs(2 * cfg.batchSize), { batchSize: cfg.batchSize });
  } finally {
    await encoder.dispose();
  }
  return { precision, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

function runChild<T>(mode: string, payload: unknown): T {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, self, mode, JSON.stringify(payload)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`benchmark child ${mode} failed with status ${r.status}`);
  return JSON.parse(r.stdout) as T;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--pair') {
    const { folder, cfg, docs, threads, precisions } = JSON.parse(process.argv[3]!) as { folder: string; cfg: BenchConfig; docs: number; threads: number; precisions: Precision[] };
    process.stdout.write(JSON.stringify(await pairChild(folder, cfg, docs, threads, precisions)));
    return;
  }
  if (process.argv[2] === '--rss') {
    const { folder, cfg, threads, precision } = JSON.parse(process.argv[3]!) as { folder: string; cfg: BenchConfig; threads: number; precision: Precision };
    process.stdout.write(JSON.stringify(await rssChild(folder, cfg, threads, precision)));
    return;
  }
  const docs = Number(arg('docs', '256'));
  const threads = Number(arg('threads', '2'));
  const precisions = arg('precisions', 'fp32,int8').split(',') as Precision[];
  if (precisions.length === 0 || precisions.some((p) => p !== 'fp32' && p !== 'int8')) throw new Error('--precisions takes fp32 and/or int8');
  const configs: BenchConfig[] = arg('configs', '256x8,256x32,128x8,128x32')
    .split(',')
    .map((c) => {
      const [s, b] = c.split('x').map(Number);
      return { maxSeqLength: s!, batchSize: b! };
    });

  const work = mkdtempSync(join(tmpdir(), 'sparse-encoder-bench-'));
  const results: Array<{ pair: PairResult; rss: RssResult[] }> = [];
  try {
    process.stderr.write(`writing a random BERT-base SPLADE model to ${work} ...\n`);
    const folders = writeRandomBertBaseSplade(work, configs.map((c) => c.maxSeqLength));
    for (const cfg of configs) {
      const folder = folders.get(cfg.maxSeqLength);
      process.stderr.write(`max_seq_length ${cfg.maxSeqLength}, batch ${cfg.batchSize}: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} ...\n`);
      const pair = runChild<PairResult>('--pair', { folder, cfg, docs, threads, precisions });
      const rss = precisions.map((precision) => runChild<RssResult>('--rss', { folder, cfg, threads, precision }));
      results.push({ pair, rss });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const require = createRequire(import.meta.url);
  const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
  const rows = results.flatMap(({ pair: r, rss }) => {
    const fp32 = r.timings.find((t) => t.precision === 'fp32');
    return r.timings.map((t) => {
      const achieved = r.modelFlops / t.seconds;
      return {
        seq: r.maxSeqLength,
        batch: r.batchSize,
        precision: t.precision,
        docsPerSecond: r.docs / t.seconds,
        tokensPerSecond: r.tokens / t.seconds,
        meanTokens: r.tokens / r.docs,
        gflops: achieved / 1e9,
        matmulGflops: r.matmulFlopPerSecond / 1e9,
        ratio: achieved / r.matmulFlopPerSecond,
        speedup: fp32 === undefined ? undefined : fp32.seconds / t.seconds,
        peakRssMb: rss.find((x) => x.precision === t.precision)!.peakRssBytes / 2 ** 20,
        loadSeconds: t.loadSeconds,
        meanNnz: t.meanNnz,
      };
    });
  });
  for (const r of rows) {
    process.stderr.write(
      `seq ${r.seq} batch ${r.batch} ${r.precision}: ${r.docsPerSecond.toFixed(2)} docs/s, ${r.tokensPerSecond.toFixed(0)} tokens/s, ${r.gflops.toFixed(1)} GFLOP/s ` +
        `(MatMul ${r.matmulGflops.toFixed(1)}, ratio ${r.ratio.toFixed(2)})${r.speedup === undefined ? '' : `, ×${r.speedup.toFixed(2)} fp32`}, peak RSS ${r.peakRssMb.toFixed(0)} MiB\n`,
    );
  }
  const md: string[] = [];
  md.push('## Encoding throughput: BERT-base-shaped SPLADE (random weights), onnxruntime-node CPU, fp32 and int8', '');
  md.push(`Command: \`npm run bench -- --docs ${docs} --threads ${threads} --configs ${configs.map((c) => `${c.maxSeqLength}x${c.batchSize}`).join(',')} --precisions ${precisions.join(',')}\``, '');
  md.push(
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; ` +
      `Node ${process.version}, onnxruntime-node ${ortVersion}, ${threads} intra-op threads. ` +
      `Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (the bench itself adds about 2; the machine is shared, so numbers are noisy).`,
    '',
  );
  md.push(
    `Data: the first ${docs} SciFact documents (title + ' ' + text), tokenized with bert-base-uncased's tokenizer.json through ` +
      'the public `SparseEncoder.fromPretrained(folder, { quantize }).encodeDocument(batch, { batchSize })` (tokenization included, model loading excluded).',
    '',
  );
  md.push('| max_seq_length | batch | precision | mean tokens/doc | docs/s | × fp32 | tokens/s | model GFLOP/s | MatMul GFLOP/s | ratio | peak RSS (MiB) | load (s) | mean nnz |');
  md.push('| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    md.push(
      `| ${r.seq} | ${r.batch} | ${r.precision} | ${r.meanTokens.toFixed(1)} | ${r.docsPerSecond.toFixed(2)} | ${r.speedup === undefined ? '–' : r.speedup.toFixed(2)} | ${r.tokensPerSecond.toFixed(0)} | ${r.gflops.toFixed(1)} | ${r.matmulGflops.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.peakRssMb.toFixed(0)} | ${r.loadSeconds.toFixed(1)} | ${r.meanNnz.toFixed(0)} |`,
    );
  }
  md.push(
    '',
    '× fp32 = fp32 seconds ÷ this precision\'s seconds over the same batches in the same process (the precisions take turns batch by batch). ' +
      'Model FLOPs count only the real (unpadded) tokens n of each document, with H = 768, I = 3072, V = 30522, 12 layers: ' +
      'per layer 2n·H·3H (QKV) + 2n·H·H (attention output) + 2·2n·H·I (FFN) + 2·2n²·H (scores and context); ' +
      'plus the MLM head 2n·H·H (transform) + 2n·H·V (vocabulary projection). Softmax, LayerNorm, GELU and pooling are not counted; ' +
      'int8 counts the same FLOPs. ratio = model GFLOP/s ÷ the GFLOP/s of one plain fp32 MatMul [8192×768]×[768×3072] (best of 3, ' +
      'constant right-hand side, as weights are in a model) measured in the same child process before loading. ' +
      'Peak RSS: a separate child process per precision that loads only that model and encodes two batches (loading included).',
  );
  process.stdout.write(md.join('\n') + '\n');
}

await main();
