import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, readSpecialTokensMap } from '../../src/tokenizer/tokenizer-folder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';
import { loadExpected, loadTexts } from '../encoder/fixture-data.js';

const TEXTS = loadTexts();

test('BERT: ids and token type ids as the genuine tokenizer, truncated to 64 counting [CLS]/[SEP]', async () => {
  const expected = loadExpected('splade-bert').results['document']!;
  const tok = await loadTokenizer(fixture('splade-bert'), { maxLength: 64 });
  assert.equal(tok.returnsTokenTypeIds, true);
  const batch = await tok.encode(expected.map((r) => r.tokenizer_input));
  expected.forEach((r, i) => {
    assert.deepEqual(batch.ids[i], r.input_ids, `text ${r.text_id}`);
    assert.deepEqual(batch.typeIds![i], r.token_type_ids, `text ${r.text_id}`);
  });
  const long = batch.ids[39]!;
  assert.equal(long.length, 64);
  assert.equal(long[63], 102);
});

test('RoBERTa: legacy "a b" merges load; no token type ids; pad id from special_tokens_map', async () => {
  const expected = loadExpected('splade-roberta').results['query']!;
  const tok = await loadTokenizer(fixture('splade-roberta'), { maxLength: 64 });
  assert.equal(tok.returnsTokenTypeIds, false);
  assert.equal(tok.padTokenId, 1);
  const batch = await tok.encode(expected.map((r) => r.tokenizer_input));
  assert.equal(batch.typeIds, undefined);
  expected.forEach((r, i) => assert.deepEqual(batch.ids[i], r.input_ids, `text ${r.text_id}`));
  assert.equal(tok.idToToken(232), 'Ġworld');
});

test('DistilBERT returns no token type ids; special_tokens_map.json in object form', async () => {
  const tok = await loadTokenizer(fixture('splade-distilbert-bin'));
  assert.equal(tok.returnsTokenTypeIds, false);
  assert.equal(tok.modelMaxLength, 64);
  const map = await readSpecialTokensMap(fixture('splade-distilbert-bin'));
  assert.equal(map['cls_token'], '[CLS]');
  assert.equal(map['pad_token'], '[PAD]');
  assert.equal(tok.padTokenId, 0);
});

test('static route: no special tokens, truncation at model_max_length (512)', async () => {
  const folder = fixture('inference-free/query_0_SparseStaticEmbedding');
  const expected = loadExpected('inference-free').results['query']!;
  const tok = await loadTokenizer(folder, { addSpecialTokens: false });
  assert.equal(tok.maxLength, 512);
  const batch = await tok.encode(TEXTS.map((t) => t.text));
  expected.forEach((r) => assert.deepEqual(batch.ids[r.text_id], r.input_ids, `text ${r.text_id}`));
  assert.equal(batch.ids[39]!.length, 512);
  assert.deepEqual(batch.ids[17], []);
});

test('padding and truncation stored in tokenizer.json are overridden (rows stay unpadded)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  try {
    const json = JSON.parse(readFileSync(join(fixture('splade-bert'), 'tokenizer.json'), 'utf8'));
    json.padding = { strategy: { Fixed: 16 }, direction: 'Right', pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: '[PAD]' };
    json.truncation = { direction: 'Right', max_length: 3, strategy: 'LongestFirst', stride: 0 };
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    copyFileSync(join(fixture('splade-bert'), 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    const tok = await loadTokenizer(dir, { maxLength: 64 });
    const { ids } = await tok.encode(['hello world']);
    assert.deepEqual(ids[0], [101, 7592, 2088, 102]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder without tokenizer.json is refused with ERR_FILE_NOT_FOUND', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  try {
    await assert.rejects(loadTokenizer(dir), (e) => isSparseEncoderError(e, 'ERR_FILE_NOT_FOUND') && e.message.includes('tokenizer.json'));
    writeFileSync(join(dir, 'tokenizer.json'), '{"not": "a tokenizer"}');
    await assert.rejects(loadTokenizer(dir), (e) => isSparseEncoderError(e, 'ERR_TOKENIZER'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RoBERTa merges in the newer ["a", "b"] pair form give the same ids', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  try {
    const json = JSON.parse(readFileSync(join(fixture('splade-roberta'), 'tokenizer.json'), 'utf8'));
    assert.equal(typeof json.model.merges[0], 'string');
    json.model.merges = (json.model.merges as string[]).map((m) => m.split(' '));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    for (const f of ['tokenizer_config.json', 'special_tokens_map.json']) copyFileSync(join(fixture('splade-roberta'), f), join(dir, f));
    const tok = await loadTokenizer(dir, { maxLength: 64 });
    const expected = loadExpected('splade-roberta').results['query']!;
    const batch = await tok.encode(expected.map((r) => r.tokenizer_input));
    expected.forEach((r, i) => assert.deepEqual(batch.ids[i], r.input_ids, `text ${r.text_id}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
