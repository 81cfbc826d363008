/**
 * Encoding throughput of a BERT-base-shaped SPLADE model (random weights, real bert-base-uncased
 * tokenizer) through the public SparseEncoder, on the first SciFact documents.
 *
 *   npm run bench [-- --docs 256 --threads 2 --configs 256x8,256x32,128x8,128x32]
 *
 * Each configuration runs in its own child process so that its peak RSS is its own. In each
 * child, before loading the model, the FLOP/s of one plain fp32 MatMul [8192×768]×[768×3072]
 * is measured with the same thread count; the model's achieved FLOP/s is divided by it.
 * Prints a table on stderr and the results as markdown on stdout.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseEncoder } from '../src/encoder/sparse-encoder.js';
import { measureMatMul } from './lib-matmul.js';
import { writeSpladeFolder } from './lib-model-folder.js';
import { BERT_BASE, bertConfigJson, randomBertWeights, spladeFlops } from './lib-random-bert.js';

interface BenchConfig {
  maxSeqLength: number;
  batchSize: number;
}

interface ChildResult extends BenchConfig {
  docs: number;
  tokens: number;
  seconds: number;
  modelFlops: number;
  matmulFlopPerSecond: number;
  loadSeconds: number;
  peakRssBytes: number;
  meanNnz: number;
}

function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      dir = join(dir, '..');
    }
  }
  throw new Error('package.json not found');
}

const ROOT = repoRoot();
const SHARED = join(ROOT, '..', 'shared');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function readDocs(n: number): string[] {
  const lines = readFileSync(join(SHARED, 'data', 'scifact', 'corpus.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.slice(0, n).map((l) => {
    const d = JSON.parse(l) as { title: string; text: string };
    return `${d.title} ${d.text}`;
  });
}

async function child(folder: string, cfg: BenchConfig, docsN: number, threads: number): Promise<ChildResult> {
  const mm = await measureMatMul(8192, 768, 3072, threads, 3);
  const docs = readDocs(docsN);
  const t0 = performance.now();
  const encoder = await SparseEncoder.fromPretrained(folder, { threads });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    // Real token counts (after truncation, special tokens included) for the FLOP count.
    const counts: number[] = [];
    for (const d of docs) counts.push((await encoder.tokenize(d, { task: 'document' })).inputIds.length);
    // Warm-up on a few documents (first runs allocate onnxruntime's arena).
    await encoder.encodeDocument(docs.slice(0, cfg.batchSize), { batchSize: cfg.batchSize });
    const t1 = performance.now();
    const vectors = await encoder.encodeDocument(docs, { batchSize: cfg.batchSize });
    const seconds = (performance.now() - t1) / 1000;
    return {
      ...cfg,
      docs: docs.length,
      tokens: counts.reduce((a, b) => a + b, 0),
      seconds,
      modelFlops: spladeFlops(BERT_BASE, counts),
      matmulFlopPerSecond: mm.flopPerSecond,
      loadSeconds,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      meanNnz: vectors.reduce((a, v) => a + v.indices.length, 0) / vectors.length,
    };
  } finally {
    await encoder.dispose();
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const { folder, cfg, docs, threads } = JSON.parse(process.argv[3]!) as { folder: string; cfg: BenchConfig; docs: number; threads: number };
    process.stdout.write(JSON.stringify(await child(folder, cfg, docs, threads)));
    return;
  }
  const docs = Number(arg('docs', '256'));
  const threads = Number(arg('threads', '2'));
  const configs: BenchConfig[] = arg('configs', '256x8,256x32,128x8,128x32')
    .split(',')
    .map((c) => {
      const [s, b] = c.split('x').map(Number);
      return { maxSeqLength: s!, batchSize: b! };
    });

  const work = mkdtempSync(join(tmpdir(), 'sparse-encoder-bench-'));
  const results: ChildResult[] = [];
  try {
    process.stderr.write(`writing a random BERT-base SPLADE model to ${work} ...\n`);
    const tokenizerFrom = join(SHARED, 'fixtures', 'splade-bert');
    const folders = new Map<number, string>();
    let weightsFile: string | undefined;
    for (const s of [...new Set(configs.map((c) => c.maxSeqLength))]) {
      const folder = join(work, `splade-base-${s}`);
      const config = bertConfigJson(BERT_BASE);
      weightsFile = writeSpladeFolder(folder, {
        config,
        weights: weightsFile === undefined ? { write: randomBertWeights(BERT_BASE) } : { linkFrom: weightsFile },
        tokenizerFrom,
        maxSeqLength: s,
      });
      folders.set(s, folder);
    }
    const self = fileURLToPath(import.meta.url);
    for (const cfg of configs) {
      process.stderr.write(`max_seq_length ${cfg.maxSeqLength}, batch ${cfg.batchSize}: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} ...\n`);
      const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', JSON.stringify({ folder: folders.get(cfg.maxSeqLength), cfg, docs, threads })], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 20,
      });
      if (r.status !== 0) throw new Error(`benchmark child failed with status ${r.status}`);
      results.push(JSON.parse(r.stdout) as ChildResult);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const require = createRequire(import.meta.url);
  const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
  const rows = results.map((r) => {
    const achieved = r.modelFlops / r.seconds;
    return {
      seq: r.maxSeqLength,
      batch: r.batchSize,
      docsPerSecond: r.docs / r.seconds,
      tokensPerSecond: r.tokens / r.seconds,
      meanTokens: r.tokens / r.docs,
      gflops: achieved / 1e9,
      matmulGflops: r.matmulFlopPerSecond / 1e9,
      ratio: achieved / r.matmulFlopPerSecond,
      peakRssMb: r.peakRssBytes / 2 ** 20,
      loadSeconds: r.loadSeconds,
      meanNnz: r.meanNnz,
    };
  });
  for (const r of rows) {
    process.stderr.write(
      `seq ${r.seq} batch ${r.batch}: ${r.docsPerSecond.toFixed(2)} docs/s, ${r.tokensPerSecond.toFixed(0)} tokens/s, ${r.gflops.toFixed(1)} GFLOP/s ` +
        `(MatMul ${r.matmulGflops.toFixed(1)}, ratio ${r.ratio.toFixed(2)}), peak RSS ${r.peakRssMb.toFixed(0)} MiB\n`,
    );
  }
  const md: string[] = [];
  md.push('## Encoding throughput: BERT-base-shaped SPLADE (random weights), onnxruntime-node CPU', '');
  md.push(`Command: \`npm run bench -- --docs ${docs} --threads ${threads} --configs ${configs.map((c) => `${c.maxSeqLength}x${c.batchSize}`).join(',')}\``, '');
  md.push(
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; ` +
      `Node ${process.version}, onnxruntime-node ${ortVersion}, ${threads} intra-op threads. ` +
      `Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (the bench itself adds about 2; the machine is shared, so numbers are noisy).`,
    '',
  );
  md.push(
    `Data: the first ${docs} SciFact documents (title + ' ' + text), tokenized with bert-base-uncased's tokenizer.json through ` +
      'the public `SparseEncoder.fromPretrained(folder).encodeDocument(docs, { batchSize })` (tokenization included, model loading excluded).',
    '',
  );
  md.push('| max_seq_length | batch | mean tokens/doc | docs/s | tokens/s | model GFLOP/s | MatMul GFLOP/s | ratio | peak RSS (MiB) | load (s) | mean nnz |');
  md.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    md.push(
      `| ${r.seq} | ${r.batch} | ${r.meanTokens.toFixed(1)} | ${r.docsPerSecond.toFixed(2)} | ${r.tokensPerSecond.toFixed(0)} | ${r.gflops.toFixed(1)} | ${r.matmulGflops.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.peakRssMb.toFixed(0)} | ${r.loadSeconds.toFixed(1)} | ${r.meanNnz.toFixed(0)} |`,
    );
  }
  md.push(
    '',
    'Model FLOPs count only the real (unpadded) tokens n of each document, with H = 768, I = 3072, V = 30522, 12 layers: ' +
      'per layer 2n·H·3H (QKV) + 2n·H·H (attention output) + 2·2n·H·I (FFN) + 2·2n²·H (scores and context); ' +
      'plus the MLM head 2n·H·H (transform) + 2n·H·V (vocabulary projection). Softmax, LayerNorm, GELU and pooling are not counted. ' +
      'ratio = model GFLOP/s ÷ the GFLOP/s of one plain fp32 MatMul [8192×768]×[768×3072] (2·8192·768·3072 FLOPs, best of 3; ' +
      'the right-hand side is a constant initializer, as weights are in a model, so onnxruntime pre-packs it) ' +
      'measured by onnxruntime-node in the same child process just before loading the model. ' +
      'Peak RSS is the child process maximum (model loading, MatMul reference and encoding included).',
  );
  process.stdout.write(md.join('\n') + '\n');
}

await main();
