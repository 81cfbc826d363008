/**
 * Load time and memory of BERT-base-shaped SPLADE models with large vocabularies (random weights,
 * tied decoder): 30,522 (bert-base-uncased), 105,879 (bert-base-multilingual-uncased) and 250,002
 * (XLM-R) entries, fp32, int8 and int8 with a float32 vocabulary projection. Each model is loaded
 * in a fresh child process, which reports the load time, its peak RSS, and its RSS once loaded and
 * after encoding 32 SciFact documents (after a garbage collection; anonymous memory, the heap
 * onnxruntime packs weights into, apart from file-backed pages such as the mapped weights file).
 *
 *   npm run bench:vocab [-- --vocabs 30522,105879,250002 --precisions fp32,int8,int8+fp32-vocab --threads 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseEncoder } from '../src/encoder/sparse-encoder.js';
import { readScifactDocs, SHARED } from './lib-bench-data.js';
import { writeSpladeFolder } from './lib-model-folder.js';
import { BERT_BASE, bertConfigJson, randomBertWeights } from './lib-random-bert.js';

type Precision = 'fp32' | 'int8' | 'int8+fp32-vocab';

interface Measured {
  vocab: number;
  precision: Precision;
  loadSeconds: number;
  peakRssMiB: number;
  loaded: Rss;
  afterEncode: Rss;
}

interface Rss {
  anonMiB: number;
  fileMiB: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** RssAnon and RssFile of this process (Linux), in MiB. */
function rss(): Rss {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { anonMiB: kb('RssAnon') / 1024, fileMiB: kb('RssFile') / 1024 };
}

async function child(folder: string, vocab: number, precision: Precision, threads: number): Promise<Measured> {
  const t0 = performance.now();
  const model = await SparseEncoder.fromPretrained(folder, {
    threads,
    ...(precision === 'fp32' ? {} : { quantize: 'int8' as const }),
    ...(precision === 'int8+fp32-vocab' ? { int8VocabProjection: false } : {}),
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  // Collected first: the weights read in JavaScript are garbage once onnxruntime holds its own (freed by a
  // collection after the loading call's frames are gone: a timer tick, then gc).
  const settle = async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, 100));
    (globalThis as { gc?: () => void }).gc?.();
  };
  await settle();
  const loaded = rss();
  await model.encodeDocument(readScifactDocs(32), { batchSize: 16 });
  await settle();
  const afterEncode = rss();
  await model.dispose();
  return { vocab, precision, loadSeconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, loaded, afterEncode };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const { folder, vocab, precision, threads } = JSON.parse(process.argv[3]!) as { folder: string; vocab: number; precision: Precision; threads: number };
    process.stdout.write(JSON.stringify(await child(folder, vocab, precision, threads)));
    return;
  }
  const vocabs = arg('vocabs', '30522,105879,250002').split(',').map(Number);
  const precisions = arg('precisions', 'fp32,int8,int8+fp32-vocab').split(',') as Precision[];
  const threads = Number(arg('threads', '2'));
  const work = mkdtempSync(join(tmpdir(), 'sparse-encoder-vocab-'));
  const rows: Measured[] = [];
  try {
    for (const vocab of vocabs) {
      const folder = join(work, `bert-${vocab}`);
      process.stderr.write(`writing a random BERT-base SPLADE model with ${vocab} vocabulary entries ...\n`);
      const shape = { ...BERT_BASE, vocab };
      // The real bert-base-uncased tokenizer: its ids are a subset of every vocabulary here.
      writeSpladeFolder(folder, { config: bertConfigJson(shape), weights: { write: randomBertWeights(shape) }, tokenizerFrom: join(SHARED, 'fixtures', 'splade-bert'), maxSeqLength: 256 });
      for (const precision of precisions) {
        const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', JSON.stringify({ folder, vocab, precision, threads })], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        if (r.status !== 0) throw new Error(`child for ${vocab} ${precision} failed with status ${r.status}`);
        const m = JSON.parse(r.stdout) as Measured;
        process.stderr.write(`  ${precision}: load ${m.loadSeconds.toFixed(1)} s, peak RSS ${m.peakRssMiB.toFixed(0)} MiB, loaded ${m.loaded.anonMiB.toFixed(0)} MiB anonymous\n`);
        rows.push(m);
      }
      rmSync(folder, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const md = [
    '## Large vocabularies: load time and memory (BERT-base shape, random weights)',
    '',
    `Command: \`npm run bench:vocab -- --vocabs ${vocabs.join(',')} --precisions ${precisions.join(',')} --threads ${threads}\``,
    '',
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; Node ${process.version}.`,
    '',
    '| vocabulary | precision | vocabulary matrix (fp32 MiB) | load (s) | peak RSS (MiB) | loaded: anonymous / file-backed (MiB) | after encoding 32 docs: anonymous / file-backed (MiB) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.vocab} | ${r.precision} | ${((r.vocab * 768 * 4) / 2 ** 20).toFixed(0)} | ${r.loadSeconds.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${r.loaded.anonMiB.toFixed(0)} / ${r.loaded.fileMiB.toFixed(0)} | ${r.afterEncode.anonMiB.toFixed(0)} / ${r.afterEncode.fileMiB.toFixed(0)} |`,
    ),
  ];
  process.stdout.write(md.join('\n') + '\n');
}

await main();
