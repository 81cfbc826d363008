import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { SparseEncoder, type EncodeProgressEvent } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../helpers/paths.js';
import { assertVector, loadExpected, loadTexts } from './fixture-data.js';
import { TextTokenizer } from '../../src/tokenizer/text-tokenizer.js';
import { OnnxSession } from '../../src/runtime/session.js';

const TEXTS = loadTexts();
const expected = loadExpected('inference-free');
let model: SparseEncoder;

before(async () => {
  model = await SparseEncoder.fromPretrained(fixture('inference-free'), { threads: 1 });
});
after(async () => {
  await model?.dispose();
});

test('a string gives one vector, an array one per text, an empty array []', async () => {
  const one = await model.encodeQuery(TEXTS[0]!.text);
  assert.ok(one.indices instanceof Uint32Array);
  assertVector(one, expected.results['query']![0]!, 'single string');
  const many = await model.encodeDocument([TEXTS[1]!.text, TEXTS[0]!.text]);
  assert.equal(many.length, 2);
  assertVector(many[1]!, expected.results['document']![0]!, 'order restored');
  assert.deepEqual(await model.encode([]), []);
});

test('non-string input is refused with ERR_INVALID_INPUT naming the index and the type', async () => {
  await assert.rejects(model.encode(['ok', 42 as unknown as string]), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT') && /input 1 is a number/.test(e.message));
  await assert.rejects(model.encodeQuery([null as unknown as string]), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT') && /input 0 is null/.test(e.message));
  await assert.rejects(model.encode({ text: 'x' } as unknown as string), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT') && /an object/.test(e.message));
});

test('bad options are refused with ERR_INVALID_ARGUMENT', async () => {
  await assert.rejects(model.encode('x', { promptName: 'nope' }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT') && e.message.includes('nope'));
  await assert.rejects(model.encode('x', { batchSize: 0 }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  await assert.rejects(model.encode('x', { maxActiveDims: 1.5 }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('spinning: false reaches every onnxruntime session and changes no vector; a non-boolean is ERR_INVALID_ARGUMENT', async () => {
  const create = mock.method(OnnxSession, 'create');
  const quiet = await SparseEncoder.fromPretrained(fixture('splade-bert'), { threads: 2, spinning: false });
  try {
    assert.ok(create.mock.calls.length > 0);
    for (const call of create.mock.calls) assert.equal((call.arguments[1] as { allowSpinning?: boolean }).allowSpinning, false);
    const want = loadExpected('splade-bert');
    const got = await quiet.encodeQuery(TEXTS.slice(0, 3).map((t) => t.text));
    for (let i = 0; i < 3; i++) assertVector(got[i]!, want.results['query']![i]!, `query ${i}`);
  } finally {
    create.mock.restore();
    await quiet.dispose();
  }
  await assert.rejects(SparseEncoder.fromPretrained(fixture('splade-bert'), { spinning: 'no' as never }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT') && /spinning/.test(e.message));
});

test('empty query on the inference-free model: all-zero vector (the genuine code raises)', async () => {
  assert.ok(expected.results['query']![17]!.error);
  const v = await model.encodeQuery('');
  assert.equal(v.indices.length, 0);
  assert.equal(v.dim, 30522);
});

test('encodeStream over an async iterable yields in input order, equal to encode', async () => {
  async function* source(): AsyncGenerator<string> {
    for (const t of TEXTS) yield t.text;
  }
  const streamed: Array<{ indices: Uint32Array; values: Float32Array }> = [];
  for await (const v of model.encodeStream(source(), { task: 'document', chunkSize: 7, batchSize: 3 })) streamed.push(v);
  assert.equal(streamed.length, TEXTS.length);
  for (const r of expected.results['document']!) assertVector(streamed[r.text_id] as never, r, `text ${r.text_id}`);
});

test('onProgress reports every batch; batches are formed longest first', async () => {
  const events: EncodeProgressEvent[] = [];
  await model.encodeQuery(TEXTS.slice(0, 10).map((t) => t.text), { batchSize: 4, onProgress: (e) => events.push(e) });
  assert.deepEqual(events.map((e) => e.done), [4, 8, 10]);
  assert.ok(events.every((e) => e.total === 10));
});

test('similarity, decode, sparsity and intersection', async () => {
  const q = await model.encodeQuery(TEXTS[0]!.text);
  const d = await model.encodeDocument([TEXTS[0]!.text, TEXTS[1]!.text]);
  const sim = model.similarity(q, d);
  assert.equal(sim.length, 1);
  assert.equal(sim[0]!.length, 2);
  const inter = model.intersection(q, d[0]!);
  assert.ok(Math.abs(inter.values.reduce((a, b) => a + b, 0) - sim[0]![0]!) < 1e-4);
  assert.deepEqual(model.decode(q, 2).map(([t]) => t), expected.decode.query[0]!.tokens.slice(0, 2));
  const stats = model.sparsity(d);
  assert.equal(stats.count, 2);
  assert.equal(stats.minActiveDims, Math.min(d[0]!.indices.length, d[1]!.indices.length));
  assert.ok(Math.abs(stats.sparsityRatio - (1 - stats.activeDims / 30522)) < 1e-12);
});

test('accessors and model info', () => {
  assert.equal(model.isRouter, true);
  assert.equal(model.dim, 30522);
  assert.equal(model.similarityFnName, 'dot');
  const info = model.modelInfo;
  assert.equal(info.source, 'local');
  assert.deepEqual(info.routes, ['query', 'document']);
  assert.equal(info.defaultRoute, 'document');
});

test('a nonexistent path, an empty folder and an unsupported architecture are refused with typed errors', async () => {
  await assert.rejects(SparseEncoder.fromPretrained(fixture('does-not-exist')), (e) => isSparseEncoderError(e, 'ERR_MODEL_NOT_FOUND'));
  const dir = mkdtempSync(join(tmpdir(), 'encoder-'));
  try {
    await assert.rejects(SparseEncoder.fromPretrained(dir), (e) => isSparseEncoderError(e, 'ERR_FILE_NOT_FOUND'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }));
    await assert.rejects(SparseEncoder.fromPretrained(dir), (e) => isSparseEncoderError(e, 'ERR_UNSUPPORTED_ARCHITECTURE') && e.message.includes('GPT2LMHeadModel'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maxActiveDims as a load option applies to every call; dispose makes further calls fail', async () => {
  const m = await SparseEncoder.fromPretrained(fixture('splade-bert'), { maxActiveDims: 8, threads: 1 });
  const rec = loadExpected('splade-bert').max_active_dims['8']!['document'] as Array<{ text_id: number; indices: number[]; values: number[] }>;
  assertVector(await m.encodeDocument(TEXTS[1]!.text), rec[1]!, 'k=8 from load options');
  await m.dispose();
  await assert.rejects(m.encode('x'), (e) => isSparseEncoderError(e, 'ERR_DISPOSED'));
});

test('tokenOf maps output dimensions to the vocabulary file entries', async () => {
  const vocab = readFileSync(join(fixture('inference-free'), 'document_0_MLMTransformer', 'vocab.txt'), 'utf8').split('\n');
  for (const i of [0, 100, 101, 102, 1012, 2075, 30521]) assert.equal(model.tokenOf(i), vocab[i], `index ${i}`);
  assert.equal(model.tokenOf(40000), '[40000]');
});

test('backend: wasm reports itself, has no byte offsets (tokens() is ERR_TOKENIZER), and an unknown backend is refused', async () => {
  const model = await SparseEncoder.fromPretrained(fixture('splade-bert'), { backend: 'wasm' });
  try {
    assert.equal(model.modelInfo.backend, 'wasm');
    await assert.rejects(model.tokens('hello world'), (e: unknown) => isSparseEncoderError(e, 'ERR_TOKENIZER'));
    assert.deepEqual((await model.tokenize('hello world')).inputIds, [101, 7592, 2088, 102]);
  } finally {
    await model.dispose();
  }
  await assert.rejects(SparseEncoder.fromPretrained(fixture('splade-bert'), { backend: 'webgl' as never }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('each text is tokenized once when runs are planned by tokens; prepareTexts + encodePrepared equal encode', async () => {
  const texts = loadTexts().map((t) => t.text);
  const calls = { texts: 0, lengths: 0 };
  const proto = TextTokenizer.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const encode = proto['encode']!;
  const lengths = proto['lengths']!;
  proto['encode'] = function (this: unknown, ...a: unknown[]) {
    calls.texts += (a[0] as unknown[]).length;
    return encode.apply(this, a);
  };
  proto['lengths'] = function (this: unknown, ...a: unknown[]) {
    calls.lengths++;
    return lengths.apply(this, a);
  };
  try {
    const planned = await model.encodeDocument(texts, { maxBatchTokens: 200, onBatch: () => {} });
    assert.deepEqual(calls, { texts: texts.length, lengths: 0 });
    const plain = await model.encodeDocument(texts);
    planned.forEach((v, i) => assert.deepEqual(v, plain[i], `text ${i}`));
    calls.texts = 0;
    const prepared = await model.prepareTexts(texts, { task: 'document' });
    assert.equal(calls.texts, texts.length);
    assert.deepEqual(prepared.lengths, (await model.tokenCounts(texts, { task: 'document' })));
    const order = texts.map((_, i) => texts.length - 1 - i);
    const got = await model.encodePrepared(prepared, order);
    order.forEach((t, k) => assert.deepEqual(got[k], plain[t], `text ${t}`));
    assert.equal(calls.texts, texts.length, 'encodePrepared tokenizes nothing');
  } finally {
    proto['encode'] = encode;
    proto['lengths'] = lengths;
  }
  const other = await SparseEncoder.fromPretrained(fixture('splade-bert'), { threads: 1 });
  await assert.rejects(model.encodePrepared(await other.prepareTexts(['x']), [0]), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  await assert.rejects(model.encodePrepared(await model.prepareTexts(['x']), [1]), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  await assert.rejects(model.prepareTexts(['word '.repeat(2000)], { truncate: false }), (e) => isSparseEncoderError(e, 'ERR_INPUT_TOO_LONG'));
  await other.dispose();
});
