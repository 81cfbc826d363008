/**
 * Benchmark of the embedded sparse index on a synthetic SPLADE-like corpus (see
 * synthetic-corpus.ts) with the real SPLADE-v3 MS MARCO dev queries. Single-threaded.
 *
 *   npm run bench:index                       # 1,000,000 documents
 *   node dist/bench/index-bench.js --docs 100000 --queries 2000
 *   node dist/bench/index-bench.js --curve-only <kept corpus.idx>   # approximate curve only
 *   node dist/bench/index-bench.js --huge-pages-compare <kept corpus.idx>   # THP on / off (Linux, glibc)
 *
 * Reports build time, file size, open time, peak RSS, latency of exhaustive / exact pruned /
 * approximate search (ranges, and blocks: the index is built with `blocks`, `--blocks` sets their
 * build options as JSON or `false`; all approximate settings timed side by side in alternating
 * batches of queries) and recall@10 of approximate search against exact, and the
 * recall cost of 8-bit and half-precision weights (exact search on each, against f32, on
 * --quant-docs documents).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SparseIndex } from '../src/inverted-index/sparse-index.js';
import type { BlockBuildOptions, SearchHit, SearchOptions, WeightStorage } from '../src/inverted-index/types.js';
import type { SparseVector } from '../src/sparse/vector.js';
import { loadTokenVectors, loadVocab } from './lib-splade-data.js';
import { syntheticCorpus } from './synthetic-corpus.js';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '6980' },
    'quant-docs': { type: 'string', default: '100000' },
    'range-size': { type: 'string', default: '64' },
    settings: { type: 'string' },
    keep: { type: 'boolean', default: false },
    // Approximate curve only, on an index file this bench built before (--keep): exact pruned search
    // (shown equal to exhaustive by the full run) is the reference.
    'curve-only': { type: 'string' },
    // Block structure settings (JSON of IndexBuildOptions.blocks), or "false" to build none.
    blocks: { type: 'string', default: 'true' },
    // --curve-only prints JSON (for --huge-pages-compare).
    json: { type: 'boolean', default: false },
    // Exact pruned and a few approximate settings on a kept index, in child processes with and
    // without transparent huge pages (glibc.malloc.hugetlb=1), alternated for --rounds rounds.
    'huge-pages-compare': { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});
const numDocs = Number(args.docs);
const numQueries = Number(args.queries);
const quantDocs = Math.min(numDocs, Number(args['quant-docs']));
const rangeSize = Number(args['range-size']);
const K = 10;

const approxSettings: Array<{ name: string; options: SearchOptions }> = args.settings
  ? (JSON.parse(args.settings) as Array<{ name: string; options: SearchOptions }>)
  : [
      { name: 'ranges, heapFactor 0.7', options: { approximateAlgorithm: 'ranges', heapFactor: 0.7 } },
      { name: 'ranges, heapFactor 0.8 (ranges default)', options: { approximateAlgorithm: 'ranges', heapFactor: 0.8 } },
      { name: 'ranges, queryTermCut 6, heapFactor 1', options: { approximateAlgorithm: 'ranges', queryTermCut: 6, heapFactor: 1 } },
      { name: 'ranges, queryTermCut 8, heapFactor 1', options: { approximateAlgorithm: 'ranges', queryTermCut: 8, heapFactor: 1 } },
      { name: 'blocks (default: queryTermCut 4, summaryFactor 1.2)', options: { approximateAlgorithm: 'blocks' } },
      ...[2, 3, 4, 5].flatMap((cut) =>
        [1.2, 1.5, 2].map((f) => ({ name: `blocks, queryTermCut ${cut}, summaryFactor ${f}`, options: { approximateAlgorithm: 'blocks' as const, queryTermCut: cut, summaryFactor: f } })),
      ),
      // Fewer candidates (2 × k instead of 3 × k): a higher k-th candidate score, so fewer blocks pass.
      ...[2, 3, 4].map((cut) => ({ name: `blocks, queryTermCut ${cut}, summaryFactor 1.2, candidates 20`, options: { approximateAlgorithm: 'blocks' as const, queryTermCut: cut, summaryFactor: 1.2, candidates: 20 } })),
    ];

const mb = (b: number): string => (b / 2 ** 20).toFixed(1) + ' MiB';
const log = (s: string): void => void process.stderr.write(s + '\n');

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

interface RunResult {
  mean: number;
  p50: number;
  p99: number;
  results: SearchHit[][];
  postings: number;
  /** Block summaries scored and documents scored per query (block search). */
  blocks: number;
  documents: number;
}

function timeQueries(index: SparseIndex, queries: SparseVector[], options: SearchOptions): RunResult {
  // Warm-up on a few queries so the JIT has compiled the kernels.
  for (let i = 0; i < Math.min(100, queries.length); i++) index.search(queries[i]!, { ...options, fields: false });
  const lat = new Float64Array(queries.length);
  const results: SearchHit[][] = [];
  let postings = 0;
  let blocks = 0;
  let documents = 0;
  for (let i = 0; i < queries.length; i++) {
    const t0 = process.hrtime.bigint();
    const hits = index.search(queries[i]!, { k: K, ...options, fields: false });
    lat[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    results.push(hits);
    const st = index.lastSearchStats();
    // Block search scores documents (their heaviest forward entries), not postings.
    postings += st.postings;
    blocks += st.blocksScored ?? 0;
    documents += st.documentsScored ?? 0;
  }
  let sum = 0;
  for (const x of lat) sum += x;
  lat.sort();
  return { mean: sum / lat.length, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), results, postings: postings / queries.length, blocks: blocks / queries.length, documents: documents / queries.length };
}

/**
 * Times several settings side by side: the queries in batches, each batch run under every setting
 * in turn, so a slower or faster spell of the machine falls on every setting alike (this machine's
 * speed drifts by tens of percent within minutes).
 */
function timeSettingsInterleaved(index: SparseIndex, queries: SparseVector[], settings: SearchOptions[], batch = 250): RunResult[] {
  for (const options of settings) for (let i = 0; i < Math.min(100, queries.length); i++) index.search(queries[i]!, { ...options, fields: false });
  const out = settings.map(() => ({ lat: new Float64Array(queries.length), results: new Array<SearchHit[]>(queries.length), postings: 0, blocks: 0, documents: 0 }));
  for (let from = 0; from < queries.length; from += batch) {
    const to = Math.min(queries.length, from + batch);
    settings.forEach((options, si) => {
      const o = out[si]!;
      for (let i = from; i < to; i++) {
        const t0 = process.hrtime.bigint();
        const hits = index.search(queries[i]!, { k: K, ...options, fields: false });
        o.lat[i] = Number(process.hrtime.bigint() - t0) / 1e6;
        o.results[i] = hits;
        const st = index.lastSearchStats();
        o.postings += st.postings;
        o.blocks += st.blocksScored ?? 0;
        o.documents += st.documentsScored ?? 0;
      }
    });
  }
  return out.map((o) => {
    let sum = 0;
    for (const x of o.lat) sum += x;
    const lat = o.lat.sort();
    const n = queries.length;
    return { mean: sum / n, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), results: o.results, postings: o.postings / n, blocks: o.blocks / n, documents: o.documents / n };
  });
}

/** The block-search columns: summaries and documents scored per query. */
const blockWork = (r: RunResult): string => (r.blocks > 0 ? `${Math.round(r.blocks).toLocaleString('en-US')} | ${Math.round(r.documents).toLocaleString('en-US')}` : '— | —');
const postingsOf = (r: RunResult): string => (r.blocks > 0 ? '—' : Math.round(r.postings).toLocaleString('en-US'));

function recall(got: SearchHit[][], want: SearchHit[][]): number {
  let hit = 0, total = 0;
  for (let i = 0; i < want.length; i++) {
    const ids = new Set(want[i]!.map((h) => h.id));
    hit += got[i]!.filter((h) => ids.has(h.id)).length;
    total += want[i]!.length;
  }
  return total === 0 ? 1 : hit / total;
}

/** Ranks where exact results differ from exhaustive ones beyond a float near-tie. */
function mismatches(got: SearchHit[][], want: SearchHit[][]): number {
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!, b = want[i]!;
    if (a.length !== b.length) {
      bad++;
      continue;
    }
    for (let r = 0; r < b.length; r++) {
      const close = Math.abs(a[r]!.score - b[r]!.score) <= 1e-9 * Math.max(1, b[r]!.score);
      if (!close || (a[r]!.id !== b[r]!.id && !b.some((h) => h.id === a[r]!.id && Math.abs(h.score - b[r]!.score) <= 1e-9 * Math.max(1, h.score)))) {
        bad++;
        break;
      }
    }
  }
  return bad;
}

async function curveOnly(path: string): Promise<void> {
  const queries = loadTokenVectors('msmarco-dev/queries.splade-v3.x100.jsonl', 100, loadVocab())
    .slice(0, numQueries)
    .map((q) => q.vector);
  const index = await SparseIndex.open(path);
  const pruned = timeQueries(index, queries, { exact: true, algorithm: 'pruned' });
  const lines = [
    `${index.size.toLocaleString('en-US')} documents (${path}), ${queries.length} SPLADE-v3 queries, k = ${K}, one thread; recall@10 against exact search.`,
    '',
    '| search | mean ms | p50 ms | p99 ms | postings scored / query | summaries scored / query | documents scored / query | recall@10 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| exact, block-max pruned | ${pruned.mean.toFixed(3)} | ${pruned.p50.toFixed(3)} | ${pruned.p99.toFixed(3)} | ${Math.round(pruned.postings).toLocaleString('en-US')} | — | — | 1 |`,
  ];
  const runs = timeSettingsInterleaved(index, queries, approxSettings.map((a) => ({ ...a.options, exact: false })));
  if (args.json) {
    const settings = approxSettings.map((a, i) => ({ name: a.name, mean: runs[i]!.mean, recall: recall(runs[i]!.results, pruned.results), documents: runs[i]!.documents }));
    process.stdout.write(JSON.stringify({ pruned: pruned.mean, settings, anonHugeKiB: anonHugeKiB() }) + '\n');
    index.dispose();
    return;
  }
  approxSettings.forEach((a, i) => {
    const r = runs[i]!;
    lines.push(`| approximate ${a.name} | ${r.mean.toFixed(3)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${postingsOf(r)} | ${blockWork(r)} | ${recall(r.results, pruned.results).toFixed(4)} |`);
  });
  index.dispose();
  process.stdout.write(lines.join('\n') + '\n');
}

/** This process's memory on transparent huge pages (Linux), or null where it cannot be read. */
function anonHugeKiB(): number | null {
  try {
    const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** GLIBC_TUNABLES with glibc.malloc.hugetlb set to `on` (1) or removed, the others kept. */
function tunables(on: boolean): string {
  const kept = (process.env.GLIBC_TUNABLES ?? '').split(':').filter((t) => t !== '' && !t.startsWith('glibc.malloc.hugetlb='));
  return [...kept, ...(on ? ['glibc.malloc.hugetlb=1'] : [])].join(':');
}

/**
 * The same index searched in child processes with and without transparent huge pages: glibc
 * (2.35 and later) then advises the kernel to back its large allocations, the index buffer
 * among them, with 2 MiB pages, so random reads of the forward index and the accumulators miss
 * the TLB less. The default settings need an index built with blocks (else pass --settings).
 * Processes alternate (which one goes first too), as only one process at a time is measured on
 * this two-core machine.
 */
function hugePagesCompare(path: string): void {
  const rounds = Number(args.rounds);
  const settings = args.settings ?? JSON.stringify([
    { name: 'ranges default (heapFactor 0.8)', options: { approximateAlgorithm: 'ranges', heapFactor: 0.8 } },
    { name: 'blocks default (queryTermCut 4, summaryFactor 1.2)', options: { approximateAlgorithm: 'blocks' } },
    { name: 'blocks, queryTermCut 4, summaryFactor 1.5', options: { approximateAlgorithm: 'blocks', queryTermCut: 4, summaryFactor: 1.5 } },
    { name: 'blocks, queryTermCut 2, summaryFactor 1.2, candidates 20', options: { approximateAlgorithm: 'blocks', queryTermCut: 2, summaryFactor: 1.2, candidates: 20 } },
  ]);
  type Child = { pruned: number; settings: Array<{ name: string; mean: number; recall: number; documents: number }>; anonHugeKiB: number | null };
  const got: Record<'on' | 'off', Child[]> = { on: [], off: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const argv = [...process.execArgv, process.argv[1]!, '--curve-only', path, '--json', '--queries', String(numQueries), '--settings', settings];
      const out = execFileSync(process.execPath, argv, { env: { ...process.env, GLIBC_TUNABLES: tunables(mode === 'on') }, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
      const child = JSON.parse(out.trim().split('\n').pop()!) as Child;
      log(`round ${r + 1}, huge pages ${mode}: exact pruned ${child.pruned.toFixed(3)} ms, on huge pages ${child.anonHugeKiB ?? '?'} KiB`);
      got[mode].push(child);
    }
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pages = (c: Child[]): string => c.map((x) => (x.anonHugeKiB === null ? '?' : mb(x.anonHugeKiB * 1024))).join(', ');
  const lines = [
    `${path}, ${numQueries} SPLADE-v3 queries, k = ${K}, one thread; ${rounds} rounds of one child process each way, alternated; mean ms over the rounds.`,
    `Memory on huge pages, off: ${pages(got.off)}; on: ${pages(got.on)}.`,
    '',
    '| search | recall@10 | huge pages off: mean ms | on: mean ms | on / off |',
    '| --- | --- | --- | --- | --- |',
  ];
  const row = (name: string, rec: string, off: number, on: number): void => void lines.push(`| ${name} | ${rec} | ${off.toFixed(3)} | ${on.toFixed(3)} | ${(on / off).toFixed(2)}× |`);
  row('exact, block-max pruned', '1', mean(got.off.map((c) => c.pruned)), mean(got.on.map((c) => c.pruned)));
  got.off[0]!.settings.forEach((s, i) => row(s.name, s.recall.toFixed(4), mean(got.off.map((c) => c.settings[i]!.mean)), mean(got.on.map((c) => c.settings[i]!.mean))));
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  if (args['huge-pages-compare']) return hugePagesCompare(args['huge-pages-compare']);
  if (args['curve-only']) return curveOnly(args['curve-only']);
  const dir = mkdtempSync(join(tmpdir(), 'sparse-index-bench-'));
  const path = join(dir, 'corpus.idx');
  const vocab = loadVocab();
  const queries = loadTokenVectors('msmarco-dev/queries.splade-v3.x100.jsonl', 100, vocab)
    .slice(0, numQueries)
    .map((q) => q.vector);
  log(`corpus: ${numDocs} synthetic documents; queries: ${queries.length} SPLADE-v3 MS MARCO dev`);

  const t0 = performance.now();
  let built = await SparseIndex.build(syntheticCorpus({ documents: numDocs }), {
    quantize: 'u8',
    rangeSize,
    blocks: JSON.parse(args.blocks) as boolean | BlockBuildOptions,
    onProgress: (e) => {
      if (e.type === 'read' && e.documents % 200_000 === 0) log(`  read ${e.documents}`);
      if (e.type === 'stage') log(`  ${e.stage} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    },
  });
  const buildSecs = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await built.save(path);
  const saveSecs = (performance.now() - t1) / 1000;
  const info = built.info();
  built.dispose();
  built = undefined as unknown as SparseIndex;
  const fileBytes = statSync(path).size;
  log(`built in ${buildSecs.toFixed(1)} s (generation included), saved in ${saveSecs.toFixed(1)} s, ${mb(fileBytes)}`);

  const t3 = performance.now();
  (await SparseIndex.open(path, { verifyChecksum: false })).dispose();
  const openNoCrcMs = performance.now() - t3;
  const t2 = performance.now();
  const index = await SparseIndex.open(path);
  const openMs = performance.now() - t2;

  const exhaustive = timeQueries(index, queries, { exact: true, algorithm: 'exhaustive' });
  log(`exhaustive: mean ${exhaustive.mean.toFixed(3)} ms`);
  const pruned = timeQueries(index, queries, { exact: true, algorithm: 'pruned' });
  log(`exact pruned: mean ${pruned.mean.toFixed(3)} ms`);
  const approxRuns = timeSettingsInterleaved(index, queries, approxSettings.map((s) => ({ ...s.options, exact: false })));
  const approx = approxSettings.map((s, i) => {
    const r = approxRuns[i]!;
    log(`${s.name}: mean ${r.mean.toFixed(3)} ms`);
    return { ...s, r, recall: recall(r.results, exhaustive.results) };
  });
  const peakRss = process.resourceUsage().maxRSS * 1024;
  index.dispose();

  // Recall cost of weight storage: exact search on each, against f32, on a prefix of the corpus.
  const quant: Array<{ q: WeightStorage; recall: number; bytes: number; postings: number }> = [];
  if (quantDocs > 0) {
    const qq = queries.slice(0, Math.min(queries.length, 2000));
    let reference: SearchHit[][] = [];
    for (const q of ['f32', 'f16', 'u8'] as WeightStorage[]) {
      const idx = await SparseIndex.build(syntheticCorpus({ documents: quantDocs }), { quantize: q, rangeSize });
      const p = join(dir, `q-${q}.idx`);
      await idx.save(p);
      const res = qq.map((v) => idx.search(v, { k: K, fields: false }));
      if (q === 'f32') reference = res;
      quant.push({ q, recall: recall(res, reference), bytes: statSync(p).size, postings: idx.info().postings });
      idx.dispose();
    }
  }

  const postings = info.postings;
  const lines: string[] = [];
  lines.push(`Corpus: ${numDocs.toLocaleString('en-US')} synthetic SPLADE-like documents (bench/synthetic-corpus.ts), ${postings.toLocaleString('en-US')} postings (${(postings / numDocs).toFixed(1)} per document); queries: ${queries.length} SPLADE-v3 MS MARCO dev vectors; k = ${K}; one thread; weights u8, range size ${rangeSize}.`);
  lines.push('');
  lines.push(`| measure | value |`);
  lines.push(`| --- | --- |`);
  lines.push(`| build (generation included) | ${buildSecs.toFixed(1)} s |`);
  lines.push(`| save | ${saveSecs.toFixed(1)} s |`);
  lines.push(`| file size | ${mb(fileBytes)} (${(fileBytes / postings).toFixed(2)} bytes per posting) |`);
  lines.push(`| open (read + CRC-32 + views) | ${openMs.toFixed(0)} ms |`);
  lines.push(`| open without checksum (read + views) | ${openNoCrcMs.toFixed(0)} ms |`);
  lines.push(`| peak RSS | ${mb(peakRss)} |`);
  lines.push('');
  lines.push(`| search | mean ms | p50 ms | p99 ms | postings scored / query | summaries scored / query | documents scored / query | speed-up vs exhaustive | recall@10 vs exact | queries differing from exhaustive |`);
  lines.push(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  const row = (name: string, r: RunResult, rec: string, diff: string): void =>
    void lines.push(`| ${name} | ${r.mean.toFixed(3)} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${postingsOf(r)} | ${blockWork(r)} | ${(exhaustive.mean / r.mean).toFixed(1)}× | ${rec} | ${diff} |`);
  row('exact, exhaustive (every posting of the query terms)', exhaustive, '1', '—');
  row('exact, block-max pruned', pruned, recall(pruned.results, exhaustive.results).toFixed(4), String(mismatches(pruned.results, exhaustive.results)));
  for (const a of approx) row(`approximate ${a.name}`, a.r, a.recall.toFixed(4), '—');
  if (quant.length > 0) {
    lines.push('');
    lines.push(`Weight storage (exact search, first ${quantDocs.toLocaleString('en-US')} documents, ${Math.min(queries.length, 2000)} queries; recall@10 against f32):`);
    lines.push('');
    lines.push(`| weights | file size | bytes per posting | recall@10 vs f32 |`);
    lines.push(`| --- | --- | --- | --- |`);
    for (const q of quant) lines.push(`| ${q.q} | ${mb(q.bytes)} | ${(q.bytes / q.postings).toFixed(2)} | ${q.recall.toFixed(4)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (!args.keep) rmSync(dir, { recursive: true });
  else log(`kept ${dir}`);
}

await main();
