import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SegmentedIndex } from '../../src/inverted-index/segmented-index.js';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { mulberry32 } from '../../src/inverted-index/cluster.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { emptyVector, fromPairs, type SparseVector } from '../../src/sparse/vector.js';
import type { IndexDocument, WeightStorage } from '../../src/inverted-index/types.js';
import { assertSameRanking, bruteForce } from './brute-force.js';
import { toySet } from './toy-data.js';

/** Random corpus with a skewed term distribution; integer weights make exact score ties common. */
function randomCorpus(n: number, dim: number, seed: number, integer: boolean): IndexDocument[] {
  const rand = mulberry32(seed);
  const docs: IndexDocument[] = [];
  for (let i = 0; i < n; i++) {
    const nnz = Math.floor(rand() * 40);
    const idx = new Set<number>();
    for (let j = 0; j < nnz; j++) idx.add(Math.floor(dim * rand() ** 2.5)); // popular low ids
    const indices = [...idx];
    const values = indices.map(() => (integer ? 1 + Math.floor(rand() * 4) : rand() * 3 + 0.01));
    docs.push({ id: `d${i}`, vector: fromPairs(indices, values, dim) });
  }
  return docs;
}

function randomQuery(dim: number, rand: () => number, integer: boolean): SparseVector {
  const idx = new Set<number>();
  const nnz = 1 + Math.floor(rand() * 20);
  for (let j = 0; j < nnz; j++) idx.add(Math.floor(dim * rand() ** 2));
  const indices = [...idx];
  return fromPairs(indices, indices.map(() => (integer ? 1 + Math.floor(rand() * 3) : rand() * 2 + 0.01)), dim);
}

test('toy set: exact search equals brute force at every rank, k beyond the corpus, both algorithms', async () => {
  const { docs, queries } = toySet();
  assert.equal(docs.length, 20);
  assert.ok(docs.some((d) => d.vector.indices.length === 0), 'the toy set has an empty document');
  const index = await SparseIndex.build(docs.map((d) => ({ id: d.id, vector: d.vector, fields: { text: d.content } })));
  assert.equal(index.size, 20);
  const empty = docs.find((d) => d.vector.indices.length === 0)!.id;
  for (const q of queries) {
    for (const k of [1, 5, 10, 50]) {
      const want = bruteForce(docs, q.vector, k);
      for (const algorithm of ['exhaustive', 'pruned'] as const) {
        const got = index.search(q.vector, { k, exact: true, algorithm });
        assertSameRanking(got, want, 1e-6, `query ${q.id} k=${k} ${algorithm}`);
        assert.ok(!got.some((h) => h.id === empty), 'the empty document is never returned');
      }
    }
    const top = index.search(q.vector, { k: 1 })[0]!;
    assert.equal(top.fields?.text, docs.find((d) => d.id === top.id)!.content);
  }
  // k larger than the corpus returns every matching document, no more.
  const all = index.search(queries[0]!.vector, { k: 1000 });
  assert.equal(all.length, bruteForce(docs, queries[0]!.vector, 1000).length);
  assert.ok(all.length <= 19);
});

test('exhaustive and pruned search return the very same scores (one summation), every quantization', async () => {
  // Real-valued weights: a product formed another way (q × scale × code instead of q × (code ×
  // scale)) or another order of terms shows in the last bits. Segments rely on this sameness.
  const dim = 300;
  const docs = randomCorpus(2000, dim, 11, false);
  const rand = mulberry32(5);
  const queries = Array.from({ length: 80 }, () => randomQuery(dim, rand, false));
  for (const quantize of ['f32', 'f16', 'u8'] as WeightStorage[]) {
    const index = await SparseIndex.build(docs, { quantize, rangeSize: 32, reorder: true });
    let compared = 0;
    for (const q of queries) {
      const a = index.search(q, { k: 20, algorithm: 'exhaustive' }).map((h) => [h.id, h.score]);
      const b = index.search(q, { k: 20, algorithm: 'pruned' }).map((h) => [h.id, h.score]);
      assert.deepEqual(a, b, `${quantize}`);
      compared += a.length;
    }
    assert.ok(compared > 1000, `${quantize}: ${compared} hits compared`);
    // Weights given as plain doubles (JavaScript callers) are taken as the f32 they declare.
    for (const q of queries.slice(0, 20)) {
      const plain = { indices: q.indices, values: Array.from(q.values, (v) => v + 1e-9) as unknown as Float32Array, dim };
      const a = index.search(plain, { k: 20, algorithm: 'exhaustive' }).map((h) => [h.id, h.score]);
      assert.deepEqual(index.search(plain, { k: 20, algorithm: 'pruned' }).map((h) => [h.id, h.score]), a, `${quantize}, plain weights`);
    }
  }
});

test('random vectors with exact ties: every quantization, both algorithms, reordered ranges', async () => {
  const dim = 400;
  const docs = randomCorpus(3000, dim, 7, true);
  const rand = mulberry32(99);
  const queries = Array.from({ length: 60 }, () => randomQuery(dim, rand, true));
  for (const quantize of ['f32', 'f16', 'u8'] as WeightStorage[]) {
    const index = await SparseIndex.build(docs, { quantize, rangeSize: 32, reorder: true });
    // The reference scores the stored (dequantized) vectors; f32 and f16 store small integers exactly.
    const maxima = termMaxima(docs);
    const stored = quantize === 'u8' ? docs.map((d) => ({ id: d.id, vector: dequantizeU8(maxima, d.vector) })) : docs;
    for (const q of queries) {
      for (const k of [1, 10, 100]) {
        const want = bruteForce(stored, q, k);
        for (const algorithm of ['exhaustive', 'pruned'] as const) {
          const got = index.search(q, { k, algorithm });
          if (quantize === 'u8') assertSameRanking(got, want, 1e-9, `${quantize} ${algorithm} k=${k}`);
          else assert.deepEqual(got.map((h) => [h.id, h.score]), want.map((h) => [h.id, h.score]), `${quantize} ${algorithm} k=${k}`);
        }
      }
    }
  }
});

/** The documented u8 rule, computed independently: code = clamp(round(w / s_t), 1, 255), s_t = f32(max_t / 255). */
function termMaxima(docs: IndexDocument[]): Map<number, number> {
  const max = new Map<number, number>();
  for (const d of docs) d.vector.indices.forEach((t, i) => max.set(t, Math.max(max.get(t) ?? 0, d.vector.values[i]!)));
  return max;
}

function dequantizeU8(max: Map<number, number>, v: SparseVector): SparseVector {
  const values = Array.from(v.values, (w, i) => {
    const s = Math.fround(max.get(v.indices[i]!)! / 255);
    return Math.min(255, Math.max(1, Math.round(w / s))) * s;
  });
  return { indices: v.indices, values: Float64Array.from(values) as unknown as Float32Array, dim: v.dim };
}

test('random float vectors: pruned exact search equals brute force through deletes, merges and adds (SegmentedIndex, the growth path)', async () => {
  const dim = 300;
  const docs = randomCorpus(2500, dim, 3, false);
  const dir = mkdtempSync(join(tmpdir(), 'sparse-index-growth-'));
  const index = await SegmentedIndex.open(dir, { rangeSize: 64, flushDocuments: 1000, mergeFactor: 0 });
  try {
    await index.add(docs);
    await index.commit();
    const rand = mulberry32(5);
    const queries = Array.from({ length: 40 }, () => randomQuery(dim, rand, false));
    const removed = new Set<string>();
    for (let i = 0; i < docs.length; i += 7) {
      assert.equal(index.delete(docs[i]!.id), true);
      removed.add(docs[i]!.id);
    }
    assert.equal(index.delete(docs[0]!.id), false, 'second delete of the same id');
    assert.equal(index.delete('nope'), false);
    assert.equal(index.size, docs.length - removed.size);
    const check = (label: string, live: IndexDocument[], skip?: Set<string>): void => {
      for (const q of queries) {
        const want = bruteForce(live, q, 10, skip);
        for (const algorithm of ['exhaustive', 'pruned'] as const) {
          const got = index.search(q, { k: 10, algorithm });
          assertSameRanking(got, want, 1e-9, `${label} ${algorithm}`);
          assert.ok(!got.some((h) => removed.has(h.id)), 'deleted documents are never returned');
        }
      }
    };
    check('after delete', docs, removed);
    await index.merge();
    assert.equal(index.size, docs.length - removed.size);
    const live = docs.filter((d) => !removed.has(d.id));
    check('after merge', live);
    const extra = randomCorpus(300, dim, 11, false).map((d) => ({ ...d, id: 'x' + d.id }));
    await index.add(extra);
    check('after add', [...live, ...extra]);
    await assert.rejects(index.add([{ id: live[0]!.id, vector: emptyVector(dim) }]), (e) => isSparseEncoderError(e, 'ERR_DUPLICATE_ID'));
    // A deleted id can be added again.
    await index.add([{ id: docs[0]!.id, vector: fromPairs([1], [5], dim) }]);
    assert.ok(index.has(docs[0]!.id));
  } finally {
    await index.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SparseIndex is immutable: growing is SegmentedIndex\'s job, so there is no add, delete or compact to misuse', async () => {
  const index = await SparseIndex.build(randomCorpus(50, 100, 1, false));
  for (const name of ['add', 'delete', 'compact', 'commit', 'merge']) assert.equal((index as unknown as Record<string, unknown>)[name], undefined, name);
  for (const name of ['add', 'delete', 'merge', 'commit']) assert.equal(typeof (SegmentedIndex.prototype as unknown as Record<string, unknown>)[name], 'function', name);
  index.dispose();
});

test('approximate search: full settings equal exact; cuts return exact scores of the full query', async () => {
  const dim = 300;
  const docs = randomCorpus(4000, dim, 21, false);
  const index = await SparseIndex.build(docs, { rangeSize: 32, quantize: 'u8' });
  const rand = mulberry32(8);
  let overlap = 0;
  let total = 0;
  for (let i = 0; i < 30; i++) {
    const q = randomQuery(dim, rand, false);
    const exact = index.search(q, { k: 10 });
    assertSameRanking(index.search(q, { k: 10, exact: false, heapFactor: 1 }), exact, 1e-12, 'approximate at exact settings');
    const approx = index.search(q, { k: 10, exact: false, queryTermCut: 3, heapFactor: 0.8 });
    for (const h of approx) {
      const stored = index.get(h.id).vector;
      let s = 0;
      q.indices.forEach((t, j) => {
        const at = stored.indices.indexOf(t);
        if (at >= 0) s += q.values[j]! * stored.values[at]!;
      });
      assert.ok(Math.abs(s - h.score) < 1e-6 * Math.max(1, s), 'approximate hit carries its exact score');
    }
    const ids = new Set(exact.map((h) => h.id));
    overlap += approx.filter((h) => ids.has(h.id)).length;
    total += exact.length;
  }
  assert.ok(overlap / total > 0.3, `recall ${overlap / total}`);
});

test('edge cases: empty query, empty index, duplicate ids, dimension mismatch, bad input, negative query weights', async () => {
  const dim = 50;
  const docs = randomCorpus(200, dim, 4, false);
  const index = await SparseIndex.build(docs);
  assert.deepEqual(index.search(emptyVector(dim)), []);
  assert.deepEqual(index.search(fromPairs([3], [1], dim), { k: 0 }), []);
  await assert.rejects(
    SparseIndex.build([docs[0]!, docs[1]!, { ...docs[2]!, id: docs[0]!.id }]),
    (e) => isSparseEncoderError(e, 'ERR_DUPLICATE_ID') && e.message.includes(docs[0]!.id),
  );
  await assert.rejects(SparseIndex.build([docs[0]!, { id: 'z', vector: emptyVector(dim + 1) }]), (e) => isSparseEncoderError(e, 'ERR_DIMENSION_MISMATCH'));
  assert.throws(() => index.search(emptyVector(dim + 1)), (e) => isSparseEncoderError(e, 'ERR_DIMENSION_MISMATCH'));
  // A query weight beyond f32's range (a plain array from JavaScript) is refused, never scored as Infinity.
  for (const bad of [Number.NaN, 1e39]) {
    const plain = { indices: Uint32Array.of(1, 3), values: [1, bad] as unknown as Float32Array, dim };
    assert.throws(() => index.search(plain), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT') && /query weight at index 3/.test(e.message));
  }
  await assert.rejects(
    SparseIndex.build([{ id: 'neg', vector: { indices: Uint32Array.of(1), values: Float32Array.of(-1), dim } }]),
    (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'),
  );
  await assert.rejects(
    SparseIndex.build([{ id: 'unsorted', vector: { indices: Uint32Array.of(3, 1), values: Float32Array.of(1, 1), dim } }]),
    (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'),
  );
  const empty = await SparseIndex.build([], { dim });
  assert.equal(empty.size, 0);
  assert.deepEqual(empty.search(fromPairs([1], [1], dim)), []);
  // Negative query weights: exact via the signed exhaustive path.
  const q = fromPairs([0, 1, 2, 5], [1, -0.5, 2, -1], dim);
  assertSameRanking(index.search(q, { k: 15 }), bruteForce(docs, q, 15), 1e-9, 'signed');
  assert.throws(() => index.get('missing'), (e) => isSparseEncoderError(e, 'ERR_UNKNOWN_ID'));
  index.dispose();
  assert.throws(() => index.search(q), (e) => isSparseEncoderError(e, 'ERR_DISPOSED'));
});

test('async iterables are accepted', async () => {
  const docs = randomCorpus(50, 20, 1, false);
  async function* gen(): AsyncGenerator<IndexDocument> {
    for (const d of docs) yield d;
  }
  const index = await SparseIndex.build(gen());
  assert.equal(index.size, 50);
  assert.equal(index.dim, 20);
});
