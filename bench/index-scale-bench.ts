/**
 * An index larger than we want in memory: 5M synthetic documents in segments of 500k (u8
 * weights), opened on demand with a 512 MiB cache in a fresh process, searched with the real
 * SPLADE-v3 queries. Reports file size, open time, peak RSS and latency.
 *
 *   npm run bench:index-scale                      # 5,000,000 documents, builds then measures
 *   node dist/bench/index-scale-bench.js --docs 500000 --segment 100000
 *   node dist/bench/index-scale-bench.js --dir /path --keep       # reuse a built directory
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SegmentedIndex } from '../src/inverted-index/segmented-index.js';
import type { SearchOptions } from '../src/inverted-index/types.js';
import { loadTokenVectors, loadVocab } from './lib-splade-data.js';
import { syntheticCorpus } from './synthetic-corpus.js';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '5000000' },
    segment: { type: 'string', default: '500000' },
    queries: { type: 'string', default: '6980' },
    cache: { type: 'string', default: String(512 * 2 ** 20) },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    measure: { type: 'boolean', default: false },
  },
});
const log = (s: string): void => void process.stderr.write(s + '\n');
type Run = { mean: number; p50: number; p99: number; readPerQuery: number };
const mib = (b: number): string => (b / 2 ** 20).toFixed(0) + ' MiB';

async function measure(dir: string): Promise<void> {
  const queries = loadTokenVectors('msmarco-dev/queries.splade-v3.x100.jsonl', 100, loadVocab())
    .slice(0, Number(args.queries))
    .map((q) => q.vector);
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const index = await SegmentedIndex.open(dir, { readOnly: true, cacheBytes: Number(args.cache) });
  const openMs = performance.now() - t0;
  log(`  opened in ${openMs.toFixed(0)} ms`);
  const rssOpen = process.memoryUsage().rss;
  const run = (options: SearchOptions): Run => {
    const lat = new Float64Array(queries.length);
    const read0 = index.cacheStats()!.readBytes;
    for (let i = 0; i < queries.length; i++) {
      const s = performance.now();
      index.search(queries[i]!, { k: 10, fields: false, ...options });
      lat[i] = performance.now() - s;
    }
    const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
    log(`  ${JSON.stringify(options)}: mean ${mean.toFixed(2)} ms`);
    lat.sort();
    const readPerQuery = (index.cacheStats()!.readBytes - read0) / queries.length;
    return { mean, p50: lat[Math.floor(lat.length / 2)]!, p99: lat[Math.floor(lat.length * 0.99)]!, readPerQuery };
  };
  const cold = run({});
  const warm = run({});
  const approx = run({ exact: false });
  const st = index.cacheStats()!;
  const out = { openMs, rssBefore, rssOpen, cold, warm, approx, cache: st, maxRss: process.resourceUsage().maxRSS * 1024, documents: index.size, segments: index.segmentInfo().length };
  await index.dispose();
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function main(): Promise<void> {
  if (args.measure) return measure(args.dir!);
  const n = Number(args.docs);
  const dir = args.dir ?? join(mkdtempSync(join(tmpdir(), 'index-scale-')), 'index');
  let buildSecs = NaN;
  if (!existsSync(join(dir, 'manifest.json'))) {
    const t0 = performance.now();
    // cacheBytes 0: each written segment is reopened from disk, so building holds one segment at a time.
    const w = await SegmentedIndex.open(dir, { quantize: 'u8', flushDocuments: Number(args.segment), mergeFactor: 0, cacheBytes: 0 });
    let done = 0;
    await w.add(
      (function* () {
        for (const d of syntheticCorpus({ documents: n })) {
          if (++done % 500_000 === 0) log(`  ${done} documents, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
          yield d;
        }
      })(),
    );
    await w.commit();
    await w.dispose();
    buildSecs = (performance.now() - t0) / 1000;
    log(`built in ${buildSecs.toFixed(0)} s (generation included), peak RSS of the builder ${mib(process.resourceUsage().maxRSS * 1024)}`);
  }
  const bytes = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  // A fresh process, so its peak RSS is the search side's alone.
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--measure', '--dir', dir, '--queries', args.queries!, '--cache', args.cache!], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`measure failed: ${r.status}`);
  const m = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    openMs: number; rssBefore: number; rssOpen: number; maxRss: number; documents: number; segments: number;
    cold: Run; warm: Run; approx: Run;
    cache: { bytes: number; maxBytes: number; hits: number; misses: number };
  };
  const row = (name: string, x: Run): string => `| ${name} | ${x.mean.toFixed(2)} | ${x.p50.toFixed(2)} | ${x.p99.toFixed(2)} | ${(x.readPerQuery / 2 ** 20).toFixed(2)} |`;
  const lines = [
    `${m.documents.toLocaleString('en-US')} synthetic documents in ${m.segments} segments (u8), opened read-only with cacheBytes ${mib(m.cache.maxBytes)} in a fresh process; ${Number(args.queries)} SPLADE-v3 queries, k = 10, one thread.`,
    '',
    '| measure | value |',
    '| --- | --- |',
    ...(Number.isFinite(buildSecs) ? [`| build (generation included, one segment in memory at a time) | ${buildSecs.toFixed(0)} s |`] : []),
    `| files on disk | ${(bytes / 2 ** 30).toFixed(2)} GiB |`,
    `| open | **${m.openMs.toFixed(0)} ms** (target < 2 s) |`,
    `| RSS before open / after open | ${mib(m.rssBefore)} / ${mib(m.rssOpen)} |`,
    `| peak RSS of the search process | **${mib(m.maxRss)}** (target ≤ 1 GiB) |`,
    `| cache at the end | ${mib(m.cache.bytes)} held, ${m.cache.hits.toLocaleString('en-US')} hits, ${m.cache.misses.toLocaleString('en-US')} misses |`,
    '',
    '| search | mean ms | p50 ms | p99 ms | read from the files / query (MiB) |',
    '| --- | --- | --- | --- | --- |',
    row('exact, first pass (cold cache)', m.cold),
    row('exact, second pass', m.warm),
    row('approximate (heapFactor 0.8)', m.approx),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (!args.keep && !args.dir) rmSync(join(dir, '..'), { recursive: true });
  else log(`kept ${dir}`);
}

await main();
