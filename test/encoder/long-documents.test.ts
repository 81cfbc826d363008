// Long documents (issue 24): longDocuments 'window' against window vectors computed one by one through
// the public API, on the fixtures' ~790-word text (texts.json id 39) and shorter ones. The reference
// token ids come from the `tokenizers` package directly (no truncation), not from our tokenizer code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { mergeVectors, type SparseVector } from '../../src/sparse/vector.js';
import { fixture } from '../helpers/paths.js';
import { assertVector, loadTexts } from './fixture-data.js';

const TEXTS = loadTexts();
const LONG = TEXTS.find((t) => t.id === 39)!.text;
const SHORT = TEXTS.find((t) => t.id === 0)!.text;

/** The text's own token ids, untruncated, from the tokenizers package itself. */
async function contentIds(folder: string, text: string): Promise<number[]> {
  const t = Tokenizer.fromFile(join(folder, 'tokenizer.json'));
  t.disableTruncation();
  t.disablePadding();
  return (await t.encode(text, null, { addSpecialTokens: false })).getIds();
}

const plain = (v: SparseVector): { indices: number[]; values: number[] } => ({ indices: Array.from(v.indices), values: Array.from(v.values) });
const invalid = (e: unknown): boolean => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT');

describe('longDocuments window, max pooling (splade-bert, 64 tokens)', () => {
  let model: SparseEncoder;
  let ids: number[];
  before(async () => {
    model = await SparseEncoder.fromPretrained(fixture('splade-bert'), { threads: 1 });
    ids = await contentIds(fixture('splade-bert'), LONG);
    assert.ok(ids.length > 500, `${ids.length} tokens`);
  });
  after(() => model?.dispose());

  // [windowTokens, stride]: the default, overlaps, the largest overlap (room - 1), one token of room.
  for (const [windowTokens, stride] of [[64, 0], [64, 16], [20, 3], [12, 9], [3, 0], [3, undefined]] as const) {
    test(`windows of ${windowTokens} tokens, stride ${stride ?? 'default'}: cover the text and merge by elementwise max exactly`, async () => {
      const opts = { windowTokens, ...(stride === undefined ? {} : { stride }) };
      const w = await model.tokenWindows(LONG, { task: 'document', ...opts });
      const room = windowTokens - 2;
      const step = room - (stride ?? 0);
      assert.equal(w.textTokens, ids.length);
      assert.equal(w.rows.length, 1 + Math.ceil((ids.length - room) / step));
      w.rows.forEach((row, i) => {
        assert.ok(row.length <= windowTokens);
        assert.equal(row[0], 101, '[CLS] first');
        assert.equal(row[row.length - 1], 102, '[SEP] last');
        assert.deepEqual(row.slice(1, -1), ids.slice(i * step, i * step + room), `window ${i}`);
      });
      // The last window reaches the text's end (and may be shorter).
      assert.equal(((w.rows.length - 1) * step) + w.rows[w.rows.length - 1]!.length - 2, ids.length);
      assert.deepEqual(w.typeIds, w.rows.map((r) => r.map(() => 0)));

      const windowVectors = await model.encodeTokens(w.rows, { task: 'document' });
      const got = await model.encodeDocument(LONG, { longDocuments: 'window', ...opts });
      assert.deepEqual(got, mergeVectors(windowVectors, 'max'));
      // Each window vector is what the model gives that window alone (batching moves the last bits only).
      for (const [i, row] of w.rows.entries()) {
        if (i % 7 !== 0) continue;
        assertVector((await model.encodeTokens([row], { task: 'document' }))[0]!, plain(windowVectors[i]!), `window ${i} alone`);
      }
    });
  }

  test('the first window is the truncated input; a text that fits gives exactly the truncated vector', async () => {
    const w = await model.tokenWindows(LONG, { task: 'document' });
    assert.deepEqual(w.rows[0], (await model.tokenize(LONG, { task: 'document' })).inputIds);
    for (const text of [SHORT, '', '   ', 'x']) {
      assert.deepEqual(await model.encodeDocument(text, { longDocuments: 'window' }), await model.encodeDocument(text), JSON.stringify(text));
    }
  });

  test('a batch of texts, maxActiveDims, maxBatchTokens and batch sizes give the same merged vectors', async () => {
    const texts = [LONG, SHORT, LONG.slice(0, 900), ''];
    const one = await Promise.all(texts.map((t) => model.encodeDocument(t, { longDocuments: 'window', stride: 8 })));
    for (const options of [{ batchSize: 3 }, { batchSize: 64 }, { maxBatchTokens: 300 }]) {
      const batch = await model.encodeDocument(texts, { longDocuments: 'window', stride: 8, ...options });
      batch.forEach((v, i) => assertVector(v, plain(one[i]!), `text ${i} ${JSON.stringify(options)}`));
    }
    const k = await model.encodeDocument(LONG, { longDocuments: 'window', stride: 8, maxActiveDims: 10 });
    assert.equal(k.indices.length, 10);
    const full = one[0]!;
    const top = Array.from(full.values).sort((a, b) => b - a)[9]!;
    assert.ok(Array.from(k.values).every((v) => v >= top));
  });

  test('settings out of range are ERR_INVALID_ARGUMENT', async () => {
    await assert.rejects(model.encodeDocument(LONG, { longDocuments: 'window', windowTokens: 65 }), invalid);
    await assert.rejects(model.encodeDocument(LONG, { longDocuments: 'window', windowTokens: 2 }), invalid);
    await assert.rejects(model.encodeDocument(LONG, { longDocuments: 'window', stride: 62 }), invalid);
    await assert.rejects(model.encodeDocument(LONG, { longDocuments: 'window', stride: -1 }), invalid);
    await assert.rejects(model.encodeDocument(LONG, { longDocuments: 'chunks' as never }), invalid);
  });
});

test('sum pooling: windows must not overlap, and the merged vector is the float32 sum of the window vectors', async () => {
  const model = await SparseEncoder.fromPretrained(fixture('splade-bert-sum'), { threads: 1 });
  try {
    await assert.rejects(model.encodeDocument(LONG, { longDocuments: 'window', stride: 4 }), invalid);
    const w = await model.tokenWindows(LONG, { task: 'document' });
    const windows = await model.encodeTokens(w.rows, { task: 'document' });
    const got = await model.encodeDocument(LONG, { longDocuments: 'window' });
    assert.deepEqual(got, mergeVectors(windows, 'sum'));
    // Sum, not max: a token present in several windows weighs more than in any one of them.
    const max = mergeVectors(windows, 'max');
    assert.ok(Array.from(got.values).some((v, i) => v > max.values[i]!));
  } finally {
    await model.dispose();
  }
});

test('a static query route windows to the presence vector of every token; CSR refuses windows', async () => {
  const free = await SparseEncoder.fromPretrained(fixture('inference-free'), { threads: 1 });
  const long = LONG + ' ' + LONG;
  try {
    const all = await contentIds(join(fixture('inference-free'), 'query_0_SparseStaticEmbedding'), long);
    assert.ok(all.length > 512);
    const got = await free.encodeQuery(long, { longDocuments: 'window' });
    assert.deepEqual(got, (await free.encodeTokens([all], { task: 'query' }))[0]);
    assert.notDeepEqual(got, await free.encodeQuery(long), 'truncation at 512 drops the tail');
    // The static route adds no special tokens; its over-long texts are still seen as such (the native bindings record no overflow there).
    await assert.rejects(free.encodeQuery(long, { truncate: false }), (e: unknown) => isSparseEncoderError(e, 'ERR_INPUT_TOO_LONG'));
  } finally {
    await free.dispose();
  }
  const csr = await SparseEncoder.fromPretrained(fixture('csr'), { threads: 1 });
  try {
    await assert.rejects(csr.encode(LONG, { longDocuments: 'window' }), invalid);
  } finally {
    await csr.dispose();
  }
});

test('ModernBERT: windows of a byte-level BPE text merge the same way', async () => {
  const model = await SparseEncoder.fromPretrained(fixture('splade-modernbert'), { threads: 1 });
  try {
    const w = await model.tokenWindows(LONG, { stride: 10 });
    assert.deepEqual(w.rows.map((r) => [r[0], r[r.length - 1]]), w.rows.map(() => [50281, 50282]));
    const ids = await contentIds(fixture('splade-modernbert'), LONG);
    assert.deepEqual(w.rows.flatMap((r, i) => r.slice(1 + (i === 0 ? 0 : 10), -1)), ids);
    assert.deepEqual(await model.encodeDocument(LONG, { longDocuments: 'window', stride: 10 }), mergeVectors(await model.encodeTokens(w.rows), 'max'));
  } finally {
    await model.dispose();
  }
});

test('truncationDirection left keeps the last tokens: the same vector as encoding exactly those tokens', async () => {
  for (const name of ['splade-bert', 'splade-modernbert', 'inference-free']) {
    const model = await SparseEncoder.fromPretrained(fixture(name), { threads: 1 });
    try {
      const query = name === 'inference-free';
      const task = query ? 'query' : 'document';
      const ids = await contentIds(query ? join(fixture(name), 'query_0_SparseStaticEmbedding') : fixture(name), LONG + (query ? ' ' + LONG : ''));
      const text = LONG + (query ? ' ' + LONG : '');
      // The static query route adds no special tokens and keeps 512; the others wrap 64 - 2 text tokens.
      const [first] = (await model.tokenWindows(text, { task })).rows;
      const lastRow = query ? ids.slice(ids.length - first!.length) : [first![0]!, ...ids.slice(ids.length - (first!.length - 2)), first![first!.length - 1]!];
      const got = query ? await model.encodeQuery(text, { truncationDirection: 'left' }) : await model.encodeDocument(text, { truncationDirection: 'left' });
      assert.deepEqual(got, (await model.encodeTokens([lastRow], { task }))[0], name);
      assert.notDeepEqual(got, query ? await model.encodeQuery(text) : await model.encodeDocument(text), `${name}: the right end differs`);
      await assert.rejects(model.encode('x', { truncationDirection: 'up' as never }), invalid);
    } finally {
      await model.dispose();
    }
  }
});
