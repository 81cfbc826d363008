/**
 * Encoding throughput of BERT-base-shaped SPLADE models (random weights, real bert-base-uncased
 * tokenizer) through the public SparseEncoder, on the first SciFact documents: fp32 against int8
 * (--configs), BERT-base against a GTE-base-shaped model, both fp32 (--family-configs), and
 * ModernBERT-base (real ModernBERT tokenizer) against BERT-base up to 512 tokens and alone on long
 * documents (SciFact documents joined) beyond (--modernbert-configs). --sliding-probe times
 * ModernBERT-base's sliding-window layers per token at each length: two all-sliding models of 12
 * and 2 layers take turns on the same documents, and their difference is 10 layers' time.
 *
 * --window-docs encodes long documents (SciFact documents joined, about 2,000 words) with BERT-base at 512
 * tokens, truncated against longDocuments 'window' (stride 0 and 128), the settings taking turns: the
 * cost of reading a whole document.
 *
 *   npm run bench [-- --docs 256 --threads 2 --configs 256x8,256x32,128x8,128x32 --precisions fp32,int8 --family-configs 256x8,512x8
 *                    --modernbert-configs 512x8,8192x1 --long-docs 2 --sliding-probe 512,8192 --window-docs 16]
 *
 * Per configuration, one child process loads every variant and encodes the documents batch by
 * batch, the variants taking turns on each batch (the first one alternating), so that all see the
 * same machine load; the ratios come from those timings. Before loading, the child measures the
 * FLOP/s of one plain fp32 MatMul [8192×768]×[768×3072] with the same thread count; each
 * variant's achieved model FLOP/s is divided by it. Peak RSS is measured apart, in one child per
 * variant that loads only that model and encodes two batches. Prints tables on stderr and
 * markdown on stdout.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseEncoder, type EncodeOptions } from '../src/encoder/sparse-encoder.js';
import { measureMatMul } from './lib-matmul.js';
import { readLongScifactDocs, readScifactDocs, writeRandomBertBaseSplade } from './lib-bench-data.js';
import { BERT_BASE, MODERNBERT_BASE, gteSpladeFlops, modernBertSpladeFlops, spladeFlops } from './lib-random-bert.js';

interface BenchConfig {
  maxSeqLength: number;
  batchSize: number;
}

type Precision = 'fp32' | 'int8';
type Family = 'bert' | 'gte' | 'modernbert';

interface Variant {
  family: Family;
  precision: Precision;
}

const FAMILY_LABEL: Record<Family, string> = { bert: 'BERT-base', gte: 'GTE-base', modernbert: 'ModernBERT-base' };
const label = (v: Variant): string => `${FAMILY_LABEL[v.family]} ${v.precision}`;

/** Model FLOPs of a family's forward over these real token counts. */
function familyFlops(f: Family, counts: readonly number[]): number {
  return f === 'bert' ? spladeFlops(BERT_BASE, counts) : f === 'gte' ? gteSpladeFlops(BERT_BASE, counts) : modernBertSpladeFlops(MODERNBERT_BASE, counts);
}

/** SciFact documents, or past 512 tokens long ones (documents joined, at least as many words as the length). */
function benchDocs(cfg: BenchConfig, n: number): string[] {
  return cfg.maxSeqLength > 512 ? readLongScifactDocs(n, cfg.maxSeqLength) : readScifactDocs(n);
}

interface VariantTiming {
  variant: Variant;
  seconds: number;
  loadSeconds: number;
  meanNnz: number;
}

interface PairResult extends BenchConfig {
  docs: number;
  /** Token counts per document, per variant (each family has its own tokenizer). */
  counts: number[][];
  matmulFlopPerSecond: number;
  timings: VariantTiming[];
}

interface RssResult {
  peakRssBytes: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function load(folder: string, precision: Precision, threads: number): Promise<SparseEncoder> {
  return SparseEncoder.fromPretrained(folder, { threads, ...(precision === 'int8' ? { quantize: 'int8' as const } : {}) });
}

/** Every variant on the same batches, taking turns. `folders[i]` is variant i's model folder. */
async function pairChild(folders: string[], variants: Variant[], cfg: BenchConfig, docsN: number, threads: number): Promise<PairResult> {
  const mm = await measureMatMul(8192, 768, 3072, threads, 3);
  const docs = benchDocs(cfg, docsN);
  const encoders: SparseEncoder[] = [];
  const timings: VariantTiming[] = [];
  try {
    for (let i = 0; i < variants.length; i++) {
      const t0 = performance.now();
      encoders.push(await load(folders[i]!, variants[i]!.precision, threads));
      timings.push({ variant: variants[i]!, seconds: 0, loadSeconds: (performance.now() - t0) / 1000, meanNnz: 0 });
    }
    // Real token counts (after truncation, special tokens included) for the FLOP count.
    const counts = await Promise.all(encoders.map((e) => e.tokenCounts(docs, { task: 'document' })));
    // Warm-up on one batch each (first runs allocate onnxruntime's arena).
    for (const e of encoders) await e.encodeDocument(docs.slice(0, cfg.batchSize), { batchSize: cfg.batchSize });
    const nnz = variants.map(() => 0);
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
    return { ...cfg, docs: docs.length, counts, matmulFlopPerSecond: mm.flopPerSecond, timings };
  } finally {
    for (const e of encoders) await e.dispose();
  }
}

/** One variant alone: its own peak RSS over loading and two batches. */
async function rssChild(folder: string, cfg: BenchConfig, threads: number, precision: Precision): Promise<RssResult> {
  const encoder = await load(folder, precision, threads);
  try {
    await encoder.encodeDocument(benchDocs(cfg, 2 * cfg.batchSize), { batchSize: cfg.batchSize });
  } finally {
    await encoder.dispose();
  }
  return { peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

interface SlidingResult {
  seq: number;
  docs: number;
  tokens: number;
  /** Seconds of the 12-layer and the 2-layer all-sliding model over the same documents. */
  seconds12: number;
  seconds2: number;
}

/** The two all-sliding ModernBERT-base models on the same documents, taking turns document by document. */
async function slidingChild(folders: [string, string], seq: number, docsN: number, threads: number): Promise<SlidingResult> {
  // Long documents at every length, so that each one fills the length exactly.
  const docs = readLongScifactDocs(docsN, seq);
  const encoders = [await load(folders[0], 'fp32', threads), await load(folders[1], 'fp32', threads)];
  try {
    const counts = await encoders[0]!.tokenCounts(docs, { task: 'document' });
    for (const e of encoders) await e.encodeDocument(docs[0]!);
    const seconds = [0, 0];
    for (const [i, d] of docs.entries()) {
      for (let j = 0; j < 2; j++) {
        const p = (i + j) % 2;
        const t0 = performance.now();
        await encoders[p]!.encodeDocument(d);
        seconds[p]! += (performance.now() - t0) / 1000;
      }
    }
    return { seq, docs: docs.length, tokens: counts.reduce((a, b) => a + b, 0), seconds12: seconds[0]!, seconds2: seconds[1]! };
  } finally {
    for (const e of encoders) await e.dispose();
  }
}

interface WindowRow {
  setting: string;
  seconds: number;
  windows: number;
}

/** BERT-base at 512 tokens on long documents: truncated, then in windows without and with overlap, taking turns per document. */
async function windowChild(folder: string, docsN: number, threads: number): Promise<{ docs: number; tokens: number; rows: WindowRow[] }> {
  const docs = readLongScifactDocs(docsN, 2000);
  const encoder = await load(folder, 'fp32', threads);
  try {
    const settings: Array<[string, EncodeOptions]> = [
      ['truncate', {}],
      ['window, stride 0', { longDocuments: 'window' }],
      ['window, stride 128', { longDocuments: 'window', stride: 128 }],
    ];
    const rows: WindowRow[] = settings.map(([setting]) => ({ setting, seconds: 0, windows: 0 }));
    await encoder.encodeDocument(docs[0]!, { longDocuments: 'window' });
    let tokens = 0;
    for (const [i, d] of docs.entries()) {
      tokens += (await encoder.tokenWindows(d, { task: 'document' })).textTokens;
      for (let j = 0; j < settings.length; j++) {
        const p = (i + j) % settings.length;
        const [, options] = settings[p]!;
        let runs = 0;
        const t0 = performance.now();
        await encoder.encodeDocument(d, { ...options, batchSize: 8, onBatch: (b) => (runs += b.texts) });
        rows[p]!.seconds += (performance.now() - t0) / 1000;
        rows[p]!.windows += options.longDocuments === 'window' ? runs : 1;
      }
    }
    return { docs: docs.length, tokens, rows };
  } finally {
    await encoder.dispose();
  }
}

function runChild<T>(mode: string, payload: unknown): T {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, self, mode, JSON.stringify(payload)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`benchmark child ${mode} failed with status ${r.status}`);
  return JSON.parse(r.stdout) as T;
}

function parseConfigs(spec: string): BenchConfig[] {
  return spec
    .split(',')
    .filter((c) => c !== '')
    .map((c) => {
      const [s, b] = c.split('x').map(Number);
      return { maxSeqLength: s!, batchSize: b! };
    });
}

interface Row {
  seq: number;
  batch: number;
  variant: string;
  docsPerSecond: number;
  relative: number;
  tokensPerSecond: number;
  meanTokens: number;
  gflops: number;
  matmulGflops: number;
  ratio: number;
  peakRssMb: number;
  loadSeconds: number;
  meanNnz: number;
}

/** Runs every configuration with the variants side by side; rows relative to the first variant. */
function section(configs: BenchConfig[], variants: Variant[], folderOf: (f: Family, seq: number) => string, docs: number, threads: number): Row[] {
  const rows: Row[] = [];
  for (const cfg of configs) {
    process.stderr.write(`max_seq_length ${cfg.maxSeqLength}, batch ${cfg.batchSize}, ${variants.map(label).join(' vs ')}: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} ...\n`);
    const folders = variants.map((v) => folderOf(v.family, cfg.maxSeqLength));
    const pair = runChild<PairResult>('--pair', { folders, variants, cfg, docs, threads });
    const rss = variants.map((v, i) => runChild<RssResult>('--rss', { folder: folders[i], cfg, threads, precision: v.precision }));
    pair.timings.forEach((t, i) => {
      const tokens = pair.counts[i]!.reduce((a, b) => a + b, 0);
      const flops = familyFlops(t.variant.family, pair.counts[i]!);
      const achieved = flops / t.seconds;
      rows.push({
        seq: cfg.maxSeqLength,
        batch: cfg.batchSize,
        variant: label(t.variant),
        docsPerSecond: pair.docs / t.seconds,
        relative: pair.timings[0]!.seconds / t.seconds,
        tokensPerSecond: tokens / t.seconds,
        meanTokens: tokens / pair.docs,
        gflops: achieved / 1e9,
        matmulGflops: pair.matmulFlopPerSecond / 1e9,
        ratio: achieved / pair.matmulFlopPerSecond,
        peakRssMb: rss[i]!.peakRssBytes / 2 ** 20,
        loadSeconds: t.loadSeconds,
        meanNnz: t.meanNnz,
      });
    });
  }
  for (const r of rows) {
    process.stderr.write(
      `seq ${r.seq} batch ${r.batch} ${r.variant}: ${r.docsPerSecond.toFixed(2)} docs/s (×${r.relative.toFixed(2)}), ${r.gflops.toFixed(1)} GFLOP/s ` +
        `(MatMul ${r.matmulGflops.toFixed(1)}, ratio ${r.ratio.toFixed(2)}), peak RSS ${r.peakRssMb.toFixed(0)} MiB\n`,
    );
  }
  return rows;
}

function table(rows: Row[], relativeTo: string): string[] {
  const out = [
    `| max_seq_length | batch | model | mean tokens/doc | docs/s | × ${relativeTo} | tokens/s | model GFLOP/s | MatMul GFLOP/s | ratio | peak RSS (MiB) | load (s) | mean nnz |`,
    '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.seq} | ${r.batch} | ${r.variant} | ${r.meanTokens.toFixed(1)} | ${r.docsPerSecond.toFixed(2)} | ${r.relative.toFixed(2)} | ${r.tokensPerSecond.toFixed(0)} | ${r.gflops.toFixed(1)} | ${r.matmulGflops.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.peakRssMb.toFixed(0)} | ${r.loadSeconds.toFixed(1)} | ${r.meanNnz.toFixed(0)} |`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--pair') {
    const { folders, variants, cfg, docs, threads } = JSON.parse(process.argv[3]!) as { folders: string[]; variants: Variant[]; cfg: BenchConfig; docs: number; threads: number };
    process.stdout.write(JSON.stringify(await pairChild(folders, variants, cfg, docs, threads)));
    return;
  }
  if (process.argv[2] === '--sliding') {
    const { folders, seq, docs, threads } = JSON.parse(process.argv[3]!) as { folders: [string, string]; seq: number; docs: number; threads: number };
    process.stdout.write(JSON.stringify(await slidingChild(folders, seq, docs, threads)));
    return;
  }
  if (process.argv[2] === '--windows') {
    const { folder, docs, threads } = JSON.parse(process.argv[3]!) as { folder: string; docs: number; threads: number };
    process.stdout.write(JSON.stringify(await windowChild(folder, docs, threads)));
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
  const configs = parseConfigs(arg('configs', '256x8,256x32,128x8,128x32'));
  const familyConfigs = parseConfigs(arg('family-configs', '256x8,512x8'));
  const modernConfigs = parseConfigs(arg('modernbert-configs', '512x8,8192x1'));
  const longDocs = Number(arg('long-docs', '2'));
  const slidingSeqs = arg('sliding-probe', '512,8192').split(',').filter((x) => x !== '').map(Number);
  const windowDocs = Number(arg('window-docs', '16'));

  const work = mkdtempSync(join(tmpdir(), 'sparse-encoder-bench-'));
  let precisionRows: Row[] = [];
  let familyRows: Row[] = [];
  let modernRows: Row[] = [];
  const sliding: SlidingResult[] = [];
  let windows: { docs: number; tokens: number; rows: WindowRow[] } | undefined;
  try {
    process.stderr.write(`writing random BERT-base and GTE-base SPLADE models to ${work} ...\n`);
    const seqs = [...configs, ...familyConfigs].map((c) => c.maxSeqLength);
    const bert = writeRandomBertBaseSplade(work, seqs);
    const gte = familyConfigs.length > 0 ? writeRandomBertBaseSplade(work, familyConfigs.map((c) => c.maxSeqLength), 'gte') : new Map<number, string>();
    const folderOf = (f: Family, seq: number): string => (f === 'bert' ? bert : gte).get(seq)!;
    precisionRows = section(configs, precisions.map((precision) => ({ family: 'bert', precision })), folderOf, docs, threads);
    familyRows = section(familyConfigs, [{ family: 'bert', precision: 'fp32' }, { family: 'gte', precision: 'fp32' }], folderOf, docs, threads);
    if (modernConfigs.length > 0) {
      const bertModern = writeRandomBertBaseSplade(work, modernConfigs.filter((c) => c.maxSeqLength <= 512).map((c) => c.maxSeqLength));
      const modern = writeRandomBertBaseSplade(work, modernConfigs.map((c) => c.maxSeqLength), 'modernbert');
      const modernFolder = (f: Family, seq: number): string => (f === 'bert' ? bertModern : modern).get(seq)!;
      for (const cfg of modernConfigs) {
        // BERT-base has 512 positions: past them ModernBERT runs alone, on long documents.
        const variants: Variant[] = cfg.maxSeqLength <= 512 ? [{ family: 'bert', precision: 'fp32' }, { family: 'modernbert', precision: 'fp32' }] : [{ family: 'modernbert', precision: 'fp32' }];
        modernRows.push(...section([cfg], variants, modernFolder, cfg.maxSeqLength > 512 ? longDocs : docs, threads));
      }
    }
    if (windowDocs > 0) {
      process.stderr.write('long documents in windows, BERT-base at 512 tokens ...\n');
      windows = runChild('--windows', { folder: writeRandomBertBaseSplade(work, [512]).get(512)!, docs: windowDocs, threads });
    }
    if (slidingSeqs.length > 0) {
      const allSliding = (layers: number) => ({ shape: { ...MODERNBERT_BASE, layers }, layerTypes: new Array<string>(layers).fill('sliding_attention'), name: `modernbert-sliding${layers}` });
      const twelve = writeRandomBertBaseSplade(work, slidingSeqs, 'modernbert', allSliding(12));
      const two = writeRandomBertBaseSplade(work, slidingSeqs, 'modernbert', allSliding(2));
      for (const seq of slidingSeqs) {
        process.stderr.write(`sliding-window layers at ${seq} tokens ...\n`);
        sliding.push(runChild<SlidingResult>('--sliding', { folders: [twelve.get(seq)!, two.get(seq)!], seq, docs: Math.max(longDocs, Math.round((8 * 8192) / seq / 4)), threads }));
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const require = createRequire(import.meta.url);
  const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
  const md: string[] = [];
  const spec = (cs: BenchConfig[]): string => cs.map((c) => `${c.maxSeqLength}x${c.batchSize}`).join(',');
  const command =
    `npm run bench -- --docs ${docs} --threads ${threads} --configs ${spec(configs)} ` +
    `--precisions ${precisions.join(',')} --family-configs ${spec(familyConfigs)} --modernbert-configs ${spec(modernConfigs)} --long-docs ${longDocs} --sliding-probe ${slidingSeqs.join(',')} --window-docs ${windowDocs}`;
  md.push('## Encoding throughput: BERT-base-shaped SPLADE (random weights), onnxruntime-node CPU, fp32 and int8', '');
  md.push(`Command: \`${command}\``, '');
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
  md.push(...table(precisionRows, 'fp32'));
  md.push(
    '',
    '× fp32 = fp32 seconds ÷ this variant\'s seconds over the same batches in the same process (the variants take turns batch by batch). ' +
      'Model FLOPs count only the real (unpadded) tokens n of each document, with H = 768, I = 3072, V = 30522, 12 layers: ' +
      'per layer 2n·H·3H (QKV) + 2n·H·H (attention output) + 2·2n·H·I (FFN) + 2·2n²·H (scores and context); ' +
      'plus the MLM head 2n·H·H (transform) + 2n·H·V (vocabulary projection); GTE\'s gated MLP adds 2n·H·I per layer. ' +
      'Softmax, LayerNorm, GELU and pooling are not counted; int8 counts the same FLOPs. ratio = model GFLOP/s ÷ the GFLOP/s of one plain ' +
      'fp32 MatMul [8192×768]×[768×3072] (best of 3, constant right-hand side, as weights are in a model) measured in the same child process before loading. ' +
      'Peak RSS: a separate child process per variant that loads only that model and encodes two batches (loading included).',
  );
  if (familyRows.length > 0) {
    md.push('', '### GTE-base-shaped against BERT-base, fp32', '');
    md.push(
      'GTE-base shape: hidden 768, 12 layers, 12 heads, intermediate 3072, vocabulary 30522, rotary embeddings (theta 500000, NTK ×2), gated MLP, ' +
        'no token types (doc-v3-gte\'s settings); random weights as for BERT-base. Same documents, same tokenizer, the two models taking turns batch by batch.',
      '',
    );
    md.push(...table(familyRows, 'BERT-base'));
  }
  if (modernRows.length > 0) {
    md.push('', '### ModernBERT-base-shaped against BERT-base, fp32', '');
    md.push(
      'ModernBERT-base shape: hidden 768, 22 layers (every third global, the others sliding-window with local_attention 128), 12 heads, ' +
        'intermediate 1152 (gated), vocabulary 50368, 8192 positions; random weights; the real ModernBERT-base tokenizer (so token counts differ from BERT\'s). ' +
        `Up to 512 tokens, the two models take turns batch by batch on the same SciFact documents; past 512 ModernBERT runs alone on ${longDocs} long ` +
        'documents (consecutive SciFact documents joined). ModernBERT FLOPs: per layer 2n·H·3H + 2n·H·H + 2n·H·2I + 2n·I·H, attention 4·H per attended ' +
        '(query, key) pair (n² in a global layer, the window\'s pairs in a sliding one: the blocked kernel computes 1.5× those, not counted), head 2n·H·H + 2n·H·V.',
      '',
    );
    md.push(...table(modernRows, 'first model'));
  }
  if (sliding.length > 0) {
    md.push('', '### ModernBERT-base sliding-window layers: time per token by input length', '');
    md.push(
      'Two all-sliding ModernBERT-base models (12 and 2 layers, otherwise ModernBERT-base) encode the same documents, taking turns document by document; ' +
        '(12-layer time − 2-layer time) / 10 is one sliding layer\'s time, divided by the documents\' tokens.',
      '',
      '| tokens/doc | docs | 12-layer s | 2-layer s | one sliding layer, µs/token | × the shortest |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    const perToken = sliding.map((r) => ((r.seconds12 - r.seconds2) / 10 / r.tokens) * 1e6);
    sliding.forEach((r, i) => md.push(`| ${(r.tokens / r.docs).toFixed(0)} | ${r.docs} | ${r.seconds12.toFixed(2)} | ${r.seconds2.toFixed(2)} | ${perToken[i]!.toFixed(1)} | ${(perToken[i]! / perToken[0]!).toFixed(2)} |`));
  }
  if (windows !== undefined) {
    md.push('', '### Long documents: truncated against token windows (BERT-base fp32, 512 tokens)', '');
    md.push(
      `${windows.docs} long documents (consecutive SciFact documents joined, at least 2,000 words; ${(windows.tokens / windows.docs).toFixed(0)} tokens each on average) ` +
        'encoded one at a time with `encodeDocument(doc, { longDocuments, stride, batchSize: 8 })`, the settings taking turns document by document.',
      '',
      '| setting | windows per document | documents/s | × truncate time |',
      '| --- | ---: | ---: | ---: |',
    );
    const base = windows.rows[0]!.seconds;
    for (const r of windows.rows) md.push(`| ${r.setting} | ${(r.windows / windows.docs).toFixed(2)} | ${(windows.docs / r.seconds).toFixed(2)} | ${(r.seconds / base).toFixed(2)} |`);
  }
  process.stdout.write(md.join('\n') + '\n');
}

await main();
