import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SegmentedIndex } from '../../src/inverted-index/segmented-index.js';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { isSparseEncoderError } from '../../src/errors.js';
import type { IndexDocument, SearchHit, SearchOptions } from '../../src/inverted-index/types.js';
import { randomDocs, randomQueries } from './random-docs.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'segmented-'));

/** What one index built from scratch answers: the reference for every segmented state. */
async function reference(docs: IndexDocument[], queries = randomQueries(30), options: SearchOptions = {}): Promise<SearchHit[][]> {
  const idx = await SparseIndex.build(docs, { reorder: true });
  const out = queries.map((q) => idx.search(q, { k: 10, ...options }));
  idx.dispose();
  return out;
}

function answers(index: SegmentedIndex, queries = randomQueries(30), options: SearchOptions = {}): SearchHit[][] {
  return queries.map((q) => index.search(q, { k: 10, ...options }));
}

test('add + commit in several segments answers exactly as one index built from the same documents', async () => {
  const dir = tempDir();
  const all = randomDocs(0, 3000);
  const index = await SegmentedIndex.open(dir, { flushDocuments: 700, mergeFactor: 0 });
  await index.add(all.slice(0, 2000));
  await index.commit();
  await index.add(all.slice(2000));
  await index.commit();
  assert.ok(index.segmentInfo().length >= 4, `expected several segments, got ${index.segmentInfo().length}`);
  assert.equal(index.size, 3000);
  const want = await reference(all);
  // Same ids, same order, same scores (bit for bit: f32 weights, scores summed in term order).
  assert.deepEqual(answers(index), want);
  assert.deepEqual(answers(index, randomQueries(30), { algorithm: 'exhaustive' }), want);
  await index.dispose();
  const reopened = await SegmentedIndex.open(dir, { readOnly: true });
  assert.deepEqual(answers(reopened), want);
  assert.equal(reopened.get('d2500').fields?.n, 2500);
  await reopened.dispose();
  rmSync(dir, { recursive: true });
});

test('deletes are per-segment tombstones, durable at commit; merge drops them and keeps the answers', async () => {
  const dir = tempDir();
  const all = randomDocs(0, 2400);
  const index = await SegmentedIndex.open(dir, { flushDocuments: 500, mergeFactor: 0 });
  await index.add(all);
  await index.commit();
  const gone = new Set<string>();
  for (let i = 0; i < 2400; i += 7) {
    assert.equal(index.delete(`d${i}`), true);
    gone.add(`d${i}`);
  }
  assert.equal(index.delete('d0'), false);
  assert.equal(index.delete('nope'), false);
  assert.equal(index.has('d7'), false);
  assert.equal(index.has('d8'), true);
  const live = all.filter((d) => !gone.has(d.id));
  const want = await reference(live);
  assert.deepEqual(answers(index), want);
  await index.commit();
  const files = readdirSync(dir);
  assert.ok(files.some((f) => /^seg-\d{8}\.del-00000002$/.test(f)), `tombstone files: ${files.join(' ')}`);
  await index.dispose();

  const again = await SegmentedIndex.open(dir);
  assert.equal(again.size, live.length);
  assert.deepEqual(answers(again), want);
  // A deleted id may be added again; it is then the newest document.
  await again.add([{ ...all[7]!, id: 'd7' }]);
  assert.equal(again.has('d7'), true);
  await again.merge();
  assert.equal(again.segmentInfo().length, 1);
  assert.deepEqual(answers(again), await reference([...live, all[7]!]));
  await again.commit();
  // Only the manifest, the lock and the one merged segment remain.
  assert.deepEqual(readdirSync(dir).sort(), [again.segmentInfo()[0]!.name!, 'manifest.json', 'write.lock'].sort());
  await again.dispose();
  rmSync(dir, { recursive: true });
});

test('automatic merges keep the segment count logarithmic, in insertion order', async () => {
  const dir = tempDir();
  const all = randomDocs(0, 2600);
  const index = await SegmentedIndex.open(dir, { flushDocuments: 100, mergeFactor: 3 });
  await index.add(all);
  await index.commit();
  const sizes = index.segmentInfo().map((s) => s.documents);
  // 26 flushes of 100 with factor 3: 900 + 900 + 300 + 300 + 100 + 100 (a base-3 counter).
  assert.deepEqual(sizes, [900, 900, 300, 300, 100, 100]);
  assert.deepEqual(answers(index), await reference(all));
  await index.dispose();
  rmSync(dir, { recursive: true });
});

test('buffered documents are searchable before a flush; dispose without commit drops them', async () => {
  const dir = tempDir();
  const all = randomDocs(0, 600);
  const index = await SegmentedIndex.open(dir);
  await index.add(all.slice(0, 400));
  await index.commit();
  await index.add(all.slice(400));
  assert.equal(index.delete('d450'), true);
  assert.equal(index.size, 599);
  assert.deepEqual(answers(index), await reference(all.filter((d) => d.id !== 'd450')));
  await index.dispose();
  const reopened = await SegmentedIndex.open(dir);
  assert.equal(reopened.size, 400);
  assert.deepEqual(answers(reopened), await reference(all.slice(0, 400)));
  await assert.rejects(reopened.add([all[5]!]), (e) => isSparseEncoderError(e, 'ERR_DUPLICATE_ID'));
  await reopened.dispose();
  rmSync(dir, { recursive: true });
});

test('segments read on demand through a bounded cache answer as segments read whole', async () => {
  const dir = tempDir();
  const all = randomDocs(0, 3000);
  const w = await SegmentedIndex.open(dir, { flushDocuments: 1000, quantize: 'u8' });
  await w.add(all);
  w.delete('d10');
  await w.commit();
  await w.dispose();
  const whole = await SegmentedIndex.open(dir, { readOnly: true });
  const want = answers(whole);
  const wantApprox = answers(whole, randomQueries(30), { exact: false, heapFactor: 0.7 });
  await whole.dispose();
  for (const cacheBytes of [0, 64 * 1024, 64 * 1024 * 1024]) {
    const lazy = await SegmentedIndex.open(dir, { readOnly: true, cacheBytes });
    assert.deepEqual(answers(lazy), want, `cacheBytes ${cacheBytes}`);
    assert.deepEqual(answers(lazy, randomQueries(30), { exact: false, heapFactor: 0.7 }), wantApprox);
    const st = lazy.cacheStats()!;
    assert.ok(st.bytes <= cacheBytes, `cache holds ${st.bytes} of ${cacheBytes}`);
    if (cacheBytes === 64 * 1024 * 1024) {
      assert.ok(st.hits > 0);
      // Everything the queries read is cached now: the same queries again read nothing.
      assert.ok(st.readBytes > 0);
      answers(lazy);
      assert.equal(lazy.cacheStats()!.readBytes, st.readBytes);
    } else if (cacheBytes === 0) {
      // Nothing is kept: the same queries read as much each time.
      const once = (): number => {
        const before = lazy.cacheStats()!.readBytes;
        answers(lazy);
        return lazy.cacheStats()!.readBytes - before;
      };
      const first = once();
      assert.ok(first > 0);
      assert.equal(once(), first);
    }
    assert.equal(lazy.get('d20').fields?.n, 20);
    assert.equal(lazy.has('d10'), false);
    await lazy.dispose();
  }
  // A writer on demand: flushed segments are reopened from disk, merges read without the cache.
  const lazyWriter = await SegmentedIndex.open(dir, { cacheBytes: 1 << 20, flushDocuments: 500, mergeFactor: 0 });
  const more = randomDocs(3000, 1200);
  await lazyWriter.add(more);
  await lazyWriter.merge();
  await lazyWriter.commit();
  assert.equal(lazyWriter.size, 4199);
  const wholeAgain = await SegmentedIndex.open(dir, { readOnly: true });
  assert.deepEqual(answers(lazyWriter), answers(wholeAgain));
  await wholeAgain.dispose();
  await lazyWriter.dispose();
  rmSync(dir, { recursive: true });
});

test('SparseIndex.open with cacheBytes reads lists on demand and refuses a corrupt list with a typed error', async () => {
  const dir = tempDir();
  const docs = randomDocs(0, 2000);
  const built = await SparseIndex.build(docs, { quantize: 'f32' });
  const path = join(dir, 'a.idx');
  await built.save(path);
  const lazy = await SparseIndex.open(path, { cacheBytes: 1 << 20 });
  for (const q of randomQueries(20)) assert.deepEqual(lazy.search(q), built.search(q));
  lazy.dispose();
  // Flip the weights section to NaN: a list read on demand is refused, never scored as NaN.
  const bytes = readFileSync(path);
  const header = JSON.parse(bytes.subarray(32, 32 + bytes.readUInt32LE(12)).toString()) as { sections: Record<string, { offset: number; length: number }> };
  for (const name of ['short_weights', 'long_weights']) {
    const s = header.sections[name]!;
    for (let at = s.offset; at < s.offset + s.length; at += 4) bytes.writeFloatLE(NaN, at);
  }
  writeFileSync(path, bytes);
  const bad = await SparseIndex.open(path, { cacheBytes: 1 << 20 });
  assert.throws(() => bad.search(randomQueries(1)[0]!), (e) => isSparseEncoderError(e, 'ERR_INDEX_CORRUPT') && /invalid weight/.test(e.message));
  bad.dispose();
  await assert.rejects(SparseIndex.open(path, { cacheBytes: 1 << 20, verifyChecksum: true }), (e) => isSparseEncoderError(e, 'ERR_INDEX_CORRUPT') && /checksum/.test(e.message));
  built.dispose();
  rmSync(dir, { recursive: true });
});

test('a second writer is locked out; a dead writer’s lock is taken over; hostile manifests are refused', async () => {
  const dir = tempDir();
  const a = await SegmentedIndex.open(dir);
  await a.add(randomDocs(0, 50));
  await a.commit();
  await assert.rejects(SegmentedIndex.open(dir), (e) => isSparseEncoderError(e, 'ERR_INDEX_LOCKED'));
  const reader = await SegmentedIndex.open(dir, { readOnly: true });
  assert.equal(reader.size, 50);
  await assert.rejects(reader.add(randomDocs(50, 1)), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  await reader.dispose();
  await a.dispose();
  // A lock left by a process that no longer exists.
  writeFileSync(join(dir, 'write.lock'), '999999999\n');
  const b = await SegmentedIndex.open(dir);
  assert.equal(b.size, 50);
  await b.dispose();

  const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
  const m = JSON.parse(manifest) as { segments: Array<{ name: string; documents: number }> };
  const cases: Array<[string, string]> = [
    ['{not json', 'ERR_INDEX_CORRUPT'],
    [JSON.stringify({ ...m, segments: [{ ...m.segments[0], name: '../../etc/passwd' }] }), 'ERR_INDEX_CORRUPT'],
    [JSON.stringify({ ...m, segments: [{ ...m.segments[0], name: 'seg-00000099.idx' }] }), 'ERR_INDEX_CORRUPT'],
    [JSON.stringify({ ...m, segments: [{ ...m.segments[0], documents: 51 }] }), 'ERR_INDEX_CORRUPT'],
    [JSON.stringify({ ...m, format_version: 2 }), 'ERR_INDEX_VERSION'],
    [JSON.stringify({ format: 'something-else' }), 'ERR_INDEX_FORMAT'],
  ];
  for (const [text, code] of cases) {
    writeFileSync(join(dir, 'manifest.json'), text);
    await assert.rejects(SegmentedIndex.open(dir, { readOnly: true }), (e) => isSparseEncoderError(e, code as never), text.slice(0, 60));
  }
  writeFileSync(join(dir, 'manifest.json'), manifest);
  await assert.rejects(SegmentedIndex.open(join(dir, 'manifest.json')), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  rmSync(dir, { recursive: true });
});

test('a single-file index migrates to a directory unchanged (fromFile) and keeps its deletes', async () => {
  const dir = tempDir();
  const docs = randomDocs(0, 800);
  const single = await SparseIndex.build(docs, { quantize: 'u8' });
  // A single file with a tombstone (an older version's delete; segments keep theirs in this section too).
  single.markDeleted(1);
  await single.save(join(dir, 'one.idx'));
  const index = await SegmentedIndex.fromFile(join(dir, 'one.idx'), join(dir, 'dir'));
  assert.equal(index.size, 799);
  const qs = randomQueries(20);
  assert.deepEqual(qs.map((q) => index.search(q)), qs.map((q) => single.search(q)));
  await index.add(randomDocs(800, 10));
  await index.commit();
  await index.dispose();
  const back = await SegmentedIndex.open(join(dir, 'dir'), { readOnly: true });
  assert.equal(back.size, 809);
  await back.dispose();
  single.dispose();
  rmSync(dir, { recursive: true });
});

test('with blocks, a document deleted after searches have run is never returned by approximate search (regression: a stale live count skipped tombstones)', async () => {
  const dir = tempDir();
  const index = await SegmentedIndex.open(dir, { blocks: true, flushDocuments: 1000 });
  await index.add(randomDocs(0, 800));
  await index.commit();
  const q = randomQueries(1)[0]!;
  const top = index.search(q, { exact: false, k: 5 });
  assert.equal(index.delete(top[0]!.id), true);
  for (const exact of [false, true]) assert.ok(!index.search(q, { exact, k: 5 }).some((h) => h.id === top[0]!.id), `exact ${exact}`);
  await index.commit();
  await index.dispose();
  const reopened = await SegmentedIndex.open(dir, { readOnly: true });
  reopened.search(q, { exact: false, k: 5 });
  assert.ok(!reopened.search(q, { exact: false, k: 5 }).some((h) => h.id === top[0]!.id), 'after reopening');
  await reopened.dispose();
  rmSync(dir, { recursive: true });
});
