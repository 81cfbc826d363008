/**
 * Growth of a segmented index: adding documents to a committed 1M-document index versus
 * rebuilding one index from all documents, and whether exact answers are the same.
 *
 *   npm run bench:index-growth                          # 1,000,000 + 100,000 documents
 *   node dist/bench/index-growth-bench.js --docs 100000 --add 10000 --queries 500
 *
 * f32 weights: with u8 each segment has its own per-term scales, so only f32 can give the very
 * same scores as a single index (u8 differs within its quantization step).
 */
import { mkdtempSync, rmSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SegmentedIndex } from '../src/inverted-index/segmented-index.js';
import { SparseIndex } from '../src/inverted-index/sparse-index.js';
import { loadTokenVectors, loadVocab } from './lib-splade-data.js';
import { syntheticCorpus } from './synthetic-corpus.js';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '1000000' },
    add: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '2000' },
  },
});
const base = Number(args.docs);
const extra = Number(args.add);
const log = (s: string): void => void process.stderr.write(s + '\n');
const secs = (t0: number): number => (performance.now() - t0) / 1000;

const queries = loadTokenVectors('msmarco-dev/queries.splade-v3.x100.jsonl', 100, loadVocab())
  .slice(0, Number(args.queries))
  .map((q) => q.vector);
log(`generating ${base + extra} documents`);
const docs = [...syntheticCorpus({ documents: base + extra })];
const dir = mkdtempSync(join(tmpdir(), 'index-growth-'));

// The committed starting point: one segment of `base` documents.
let t = performance.now();
const grown = await SegmentedIndex.open(join(dir, 'grown'), { flushDocuments: base, mergeFactor: 10 });
await grown.add(docs.slice(0, base));
await grown.commit();
const baseSecs = secs(t);
log(`base index of ${base}: ${baseSecs.toFixed(1)} s`);

t = performance.now();
await grown.add(docs.slice(base));
await grown.commit();
const addSecs = secs(t);
log(`add ${extra} + commit: ${addSecs.toFixed(2)} s`);

t = performance.now();
const rebuilt = await SparseIndex.build(docs);
await rebuilt.save(join(dir, 'rebuilt.idx'));
const rebuildSecs = secs(t);
log(`rebuild of ${base + extra} + save: ${rebuildSecs.toFixed(1)} s`);

let differ = 0;
let t1 = 0, t2 = 0;
for (const q of queries) {
  let s = performance.now();
  const a = grown.search(q, { k: 10, fields: false });
  t1 += performance.now() - s;
  s = performance.now();
  const b = rebuilt.search(q, { k: 10, fields: false });
  t2 += performance.now() - s;
  if (JSON.stringify(a) !== JSON.stringify(b)) differ++;
}
const segs = grown.segmentInfo();
const bytes = readdirSync(join(dir, 'grown')).reduce((n, f) => n + statSync(join(dir, 'grown', f)).size, 0);
await grown.dispose();
rebuilt.dispose();
rmSync(dir, { recursive: true });

const lines = [
  `Base ${base.toLocaleString('en-US')} synthetic documents (one committed segment), add ${extra.toLocaleString('en-US')}, f32 weights, ${queries.length} SPLADE-v3 queries, exact search, k = 10.`,
  '',
  '| measure | value |',
  '| --- | --- |',
  `| build + commit of the base index | ${baseSecs.toFixed(1)} s |`,
  `| add ${extra.toLocaleString('en-US')} + commit (new segment, manifest) | **${addSecs.toFixed(2)} s** |`,
  `| full rebuild of ${(base + extra).toLocaleString('en-US')} + save | ${rebuildSecs.toFixed(1)} s |`,
  `| add + commit / rebuild | **${((100 * addSecs) / rebuildSecs).toFixed(1)} %** (target ≤ 10 %) |`,
  `| segments after the add | ${segs.length} (${segs.map((s) => s.documents.toLocaleString('en-US')).join(' + ')}), ${(bytes / 2 ** 20).toFixed(1)} MiB |`,
  `| queries whose exact top 10 (ids and scores, bit for bit) differ from the rebuilt index | **${differ} of ${queries.length}** |`,
  `| exact search mean: segmented / rebuilt | ${(t1 / queries.length).toFixed(3)} ms / ${(t2 / queries.length).toFixed(3)} ms |`,
];
process.stdout.write(lines.join('\n') + '\n');
