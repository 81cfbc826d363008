import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparseEncoderError } from '../../src/errors.js';
import { SegmentedIndex } from '../../src/inverted-index/segmented-index.js';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import type { SearchOptions, WeightStorage } from '../../src/inverted-index/types.js';
import { fromPairs, type SparseVector } from '../../src/sparse/vector.js';
import { randomDocs, randomQueries, RANDOM_DIM } from './random-docs.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'blocks-test-'));
/** Budgets large enough that block search visits every block of every query term and scores every document found. */
const everything: SearchOptions = { exact: false, approximateAlgorithm: 'blocks', queryTermCut: 1000, summaryFactor: 0, candidates: 10_000 };

for (const quantize of ['f32', 'f16', 'u8'] as WeightStorage[]) {
  test(`blocks (${quantize}): with every block visited and no pruning, approximate search equals exact search bit for bit`, async () => {
    const docs = randomDocs(0, 1500);
    // postingsPerTerm above any list length: nothing is pruned away.
    const index = await SparseIndex.build(docs, { quantize, blocks: { postingsPerTerm: 100_000, blockSize: 8 }, rangeSize: 32 });
    for (const q of randomQueries(40)) {
      const exact = index.search(q, { k: 10, fields: false });
      assert.deepEqual(index.search(q, { ...everything, k: 10, fields: false }), exact);
      // Default settings are approximate, but their scores are still exact scores.
      const approx = index.search(q, { exact: false, k: 10, fields: false });
      const exactById = new Map(index.search(q, { k: 1500, fields: false }).map((h) => [h.id, h.score]));
      for (const h of approx) assert.equal(h.score, exactById.get(h.id));
    }
    index.dispose();
  });
}

test('blocks: a vocabulary wider than 16 bits (two-word forward entries) answers as exact search, for every weight storage', async () => {
  // The random documents' terms spread over 70,000 (term × 14), saved and reopened.
  const wideDim = 70_000;
  const spread = (v: SparseVector): SparseVector => fromPairs(Array.from(v.indices, (t) => t * 14), Array.from(v.values), wideDim);
  const narrowDocs = randomDocs(0, 600);
  const docs = narrowDocs.map((d) => ({ id: d.id, vector: spread(d.vector) }));
  const dir = tmp();
  // Candidates ranked by partial scores, few kept: the forward kernel decides which survive.
  const partial: SearchOptions = { exact: false, approximateAlgorithm: 'blocks', queryTermCut: 3, summaryFactor: 1, candidates: 10, k: 10, fields: false };
  for (const quantize of ['f32', 'f16', 'u8'] as WeightStorage[]) {
    const settings = { quantize, blocks: { postingsPerTerm: 100_000, blockSize: 8 } };
    const built = await SparseIndex.build(docs, settings);
    await built.save(join(dir, `${quantize}.idx`));
    built.dispose();
    const index = await SparseIndex.open(join(dir, `${quantize}.idx`));
    // The same documents over 5,000 terms (one-word entries but for f32): the same blocks, so the same answers.
    const narrow = await SparseIndex.build(narrowDocs, settings);
    for (const [i, q] of randomQueries(20).entries()) {
      const wide = spread(q);
      assert.deepEqual(index.search(wide, { ...everything, k: 10, fields: false }), index.search(wide, { k: 10, fields: false }), quantize);
      assert.deepEqual(index.search(wide, partial), narrow.search(q, partial), `${quantize}, query ${i}`);
    }
    index.dispose();
    narrow.dispose();
  }
  rmSync(dir, { recursive: true });
});

test('blocks: searches of two indexes, interleaved, answer as each alone (the query tables are shared)', async () => {
  const a = await SparseIndex.build(randomDocs(0, 700), { quantize: 'u8', blocks: { postingsPerTerm: 200, blockSize: 8 } });
  const b = await SparseIndex.build(randomDocs(0, 500, 3), { quantize: 'f16', blocks: true });
  const qs = randomQueries(30);
  const opts: SearchOptions = { exact: false, queryTermCut: 3, k: 10, fields: false };
  const alone = [a, b].map((ix) => qs.map((q) => ix.search(q, opts)));
  qs.forEach((q, i) => {
    assert.deepEqual(a.search(q, opts), alone[0]![i]);
    assert.deepEqual(b.search(q, opts), alone[1]![i]);
  });
  a.dispose();
  b.dispose();
});

test('blocks: static pruning keeps each term\'s heaviest postings only', async () => {
  // Term 7 in six documents with weights 1..6; two postings kept per term.
  const docs = [1, 2, 3, 4, 5, 6].map((w, i) => ({ id: `w${w}`, vector: fromPairs([7, 100 + i], [w, 0.5], 200) }));
  const index = await SparseIndex.build(docs, { blocks: { postingsPerTerm: 2, blockSize: 1 } });
  const q = fromPairs([7], [1], 200);
  assert.deepEqual(index.search(q, { ...everything, k: 10 }).map((h) => h.id), ['w6', 'w5']);
  assert.equal(index.search(q, { k: 10 }).length, 6, 'exact search still sees every posting');
  assert.equal(index.search(q, { exact: false, approximateAlgorithm: 'ranges', k: 10 }).length, 6);
  index.dispose();
});

test('blocks: deleted documents are never returned; an index without blocks uses ranges or refuses "blocks"', async () => {
  const docs = randomDocs(0, 800);
  const index = await SparseIndex.build(docs, { blocks: true });
  const q = randomQueries(1)[0]!;
  const top = index.search(q, { ...everything, k: 5 });
  // A tombstone, as a SegmentedIndex sets on its segments.
  index.markDeleted(Number(top[0]!.id.slice(1)));
  const after = index.search(q, { ...everything, k: 5 });
  assert.ok(!after.some((h) => h.id === top[0]!.id));
  assert.deepEqual(after, index.search(q, { k: 5 }));
  index.dispose();

  const plain = await SparseIndex.build(docs);
  assert.throws(() => plain.search(q, { exact: false, approximateAlgorithm: 'blocks' }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT') && /built with the blocks option/.test(e.message));
  assert.ok(plain.search(q, { exact: false }).length > 0);
  assert.equal(plain.info().blocks, undefined);
  plain.dispose();
});

test('blocks: invalid settings are refused with a typed error', async () => {
  const docs = randomDocs(0, 10);
  for (const blocks of [{ postingsPerTerm: 0 }, { blockSize: 1.5 }, { summaryEnergy: 0 }, { summaryEnergy: 1.5 }]) {
    await assert.rejects(SparseIndex.build(docs, { blocks }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  }
  const index = await SparseIndex.build(docs, { blocks: true });
  const q = randomQueries(1)[0]!;
  // Each setting is checked whichever algorithm runs (heapFactor on blocks, summaryFactor on ranges).
  for (const o of [
    { summaryFactor: -1 },
    { summaryFactor: Number.NaN },
    { queryTermCut: 0 },
    { approximateAlgorithm: 'fast' as 'auto' },
    { heapFactor: 2 },
    { heapFactor: '0.5' as unknown as number },
    { approximateAlgorithm: 'ranges' as const, summaryFactor: -1 },
    { candidates: 2.5 },
  ]) {
    assert.throws(() => index.search(q, { exact: false, ...o }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  }
  index.dispose();
});

test('blocks: saved and reopened, the structure and its answers are the same; opened on demand, searches use ranges', async () => {
  const dir = tmp();
  const path = join(dir, 'b.idx');
  const built = await SparseIndex.build(randomDocs(0, 1200), { quantize: 'u8', blocks: { postingsPerTerm: 300, blockSize: 8, summaryEnergy: 0.5 } });
  await built.save(path);
  const opened = await SparseIndex.open(path);
  assert.deepEqual(opened.info().blocks, { postingsPerTerm: 300, blockSize: 8, summaryEnergy: 0.5 });
  const opts: SearchOptions = { exact: false, queryTermCut: 3, summaryFactor: 1, k: 10 };
  for (const q of randomQueries(30)) assert.deepEqual(opened.search(q, opts), built.search(q, opts));
  const lazy = await SparseIndex.open(path, { cacheBytes: 1 << 20 });
  const q = randomQueries(1)[0]!;
  assert.deepEqual(lazy.search(q, { exact: false, k: 10 }), built.search(q, { exact: false, approximateAlgorithm: 'ranges', k: 10 }));
  assert.throws(() => lazy.search(q, { exact: false, approximateAlgorithm: 'blocks' }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT') && /cacheBytes/.test(e.message));
  for (const i of [built, opened, lazy]) i.dispose();
  rmSync(dir, { recursive: true });
});

test('blocks: a corrupt block section is refused at open, never scored', async () => {
  const dir = tmp();
  const path = join(dir, 'b.idx');
  const built = await SparseIndex.build(randomDocs(0, 600), { blocks: true });
  await built.save(path);
  built.dispose();
  const original = readFileSync(path);
  const header = JSON.parse(original.subarray(32, 32 + original.readUInt32LE(12)).toString()) as { sections: Record<string, { offset: number; length: number }> };
  const cases: Array<[string, (b: Buffer, at: number) => void, RegExp]> = [
    // f32 weights: a document is its count word, then (term, weight bits) pairs.
    ['fwd_words', (b, at) => b.writeUInt32LE(999, at), /forward document 0 holds \d+ words, its count says 999/],
    ['fwd_words', (b, at) => b.writeUInt32LE(RANDOM_DIM + 1, at + 4), /outside the vocabulary/],
    ['fwd_words', (b, at) => b.writeFloatLE(Number.NaN, at + 8), /forward weight/],
    ['fwd_words', (b, at) => b.writeFloatLE(-1, at + 8), /forward weight/],
    ['blk_docs', (b, at) => b.writeUInt32LE(600, at), /beyond 600 documents/],
    ['blk_doc_start', (b, at) => b.writeUInt32LE(0xffffffff, at + 4), /block document offsets|blk_docs/],
    ['sum_list_terms', (b, at) => b.writeUInt16LE(60000, at), /outside the vocabulary/],
    ['sum_list_terms', (b, at) => b.writeUInt16LE(RANDOM_DIM - 1, at), /not in ascending \(term, block\) order/],
    ['sum_list_blocks', (b, at) => b.writeUInt8(255, at), /names block 255 of term/], // u8: no term has more than 256 blocks here
    ['sum_list_start', (b, at) => b.writeUInt32LE(0xffffffff, at + 4), /summary offsets|sum_list/],
    ['sum_scale', (b, at) => b.writeFloatLE(Number.POSITIVE_INFINITY, at), /summary scale/],
  ];
  for (const [name, patch, message] of cases) {
    const bytes = Buffer.from(original);
    patch(bytes, header.sections[name]!.offset);
    writeFileSync(path, bytes);
    await assert.rejects(SparseIndex.open(path, { verifyChecksum: false }), (e) => isSparseEncoderError(e, 'ERR_INDEX_CORRUPT') && message.test(e.message), name);
    // The checksum catches the change too.
    await assert.rejects(SparseIndex.open(path), (e) => isSparseEncoderError(e, 'ERR_INDEX_CORRUPT'), name);
  }
  rmSync(dir, { recursive: true });
});

test('blocks: a segmented index builds them in every segment and keeps the setting across reopening and merges', async () => {
  const dir = join(tmp(), 'idx');
  const docs = randomDocs(0, 900);
  const seg = await SegmentedIndex.open(dir, { blocks: { postingsPerTerm: 100_000, blockSize: 8 }, flushDocuments: 300, mergeFactor: 0 });
  await seg.add(docs);
  await seg.commit();
  await seg.dispose();
  const reopened = await SegmentedIndex.open(dir);
  await reopened.add(randomDocs(900, 100));
  await reopened.commit();
  assert.ok(reopened.segmentInfo().length >= 3);
  const single = await SparseIndex.build([...docs, ...randomDocs(900, 100)]);
  for (const q of randomQueries(20)) assert.deepEqual(reopened.search(q, { ...everything, k: 10, fields: false }), single.search(q, { k: 10, fields: false }));
  await reopened.merge({ maxSegments: 1 });
  await reopened.commit();
  assert.deepEqual(reopened.info().blocks, { postingsPerTerm: 100_000, blockSize: 8, summaryEnergy: 0.4 });
  const q = randomQueries(1)[0]!;
  assert.deepEqual(reopened.search(q, { ...everything, k: 10, fields: false }), single.search(q, { k: 10, fields: false }));
  await reopened.dispose();
  single.dispose();
  rmSync(join(dir, '..'), { recursive: true });
});

test('blocks: a larger summaryFactor evaluates fewer blocks, 0 evaluates every block of the cut terms', async () => {
  const index = await SparseIndex.build(randomDocs(0, 3000), { blocks: { postingsPerTerm: 400, blockSize: 8 } });
  let fewer = 0;
  for (const q of randomQueries(20)) {
    const evaluated = [0, 0.5, 1, 2].map((summaryFactor) => {
      index.search(q, { exact: false, queryTermCut: 4, summaryFactor, k: 10 });
      const st = index.lastSearchStats();
      return [st.blocksEvaluated!, st.blocksScored!];
    });
    assert.equal(evaluated[0]![0], evaluated[0]![1], 'summaryFactor 0 evaluates every scored block');
    for (let i = 1; i < evaluated.length; i++) assert.ok(evaluated[i]![0] <= evaluated[i - 1]![0], `evaluated blocks grow with summaryFactor: ${JSON.stringify(evaluated)}`);
    if (evaluated[3]![0] < evaluated[0]![0]) fewer++;
  }
  assert.ok(fewer > 10, `summaryFactor 2 skipped blocks in only ${fewer} of 20 queries`);
  index.dispose();
});

test('blocks: a query of more than 255 terms still gets exact scores', async () => {
  const index = await SparseIndex.build(randomDocs(0, 500), { blocks: true });
  const terms = Array.from({ length: 400 }, (_, i) => i * 12);
  const q = fromPairs(terms, terms.map((t) => 0.1 + (t % 7) / 10), RANDOM_DIM);
  const exactById = new Map(index.search(q, { k: 500, fields: false }).map((h) => [h.id, h.score]));
  const approx = index.search(q, { exact: false, k: 10, fields: false });
  assert.equal(approx.length, 10);
  for (const h of approx) assert.equal(h.score, exactById.get(h.id));
  assert.deepEqual(index.search(q, { ...everything, k: 10, fields: false }), index.search(q, { k: 10, fields: false }));
  index.dispose();
});
