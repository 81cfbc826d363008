import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/tokenizer/tokenizer-folder.js';
import { fixture } from '../helpers/paths.js';
import { loadExpected, loadTexts } from '../encoder/fixture-data.js';

// Without tokenizer.json the vocabulary files are converted as transformers converts slow
// tokenizers; the ids must equal the genuine ones recorded for every fixture text.
const TMP = mkdtempSync(join(tmpdir(), 'slow-tok-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
const TEXTS = loadTexts();

function withoutTokenizerJson(source: string, files: string[]): string {
  const dir = join(TMP, source.replace(/\W/g, '_'));
  mkdirSync(dir);
  for (const f of files) symlinkSync(join(fixture(source), f), join(dir, f));
  return dir;
}

test('BERT vocab.txt → WordPiece: same ids as tokenizer.json for all texts (with and without special tokens)', async () => {
  const dir = withoutTokenizerJson('splade-bert', ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']);
  const tok = await loadTokenizer(dir, { maxLength: 64 });
  const expected = loadExpected('splade-bert').results['document']!;
  const batch = await tok.encode(expected.map((r) => r.tokenizer_input));
  expected.forEach((r, i) => assert.deepEqual(batch.ids[i], r.input_ids, `text ${r.text_id}`));

  const staticDir = withoutTokenizerJson('inference-free/query_0_SparseStaticEmbedding', ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']);
  const stat = await loadTokenizer(staticDir, { addSpecialTokens: false });
  const q = loadExpected('inference-free').results['query']!;
  const qb = await stat.encode(TEXTS.map((t) => t.text));
  q.forEach((r) => assert.deepEqual(qb.ids[r.text_id], r.input_ids, `static text ${r.text_id}`));
});

test('RoBERTa vocab.json + merges.txt → byte-level BPE: same ids as the genuine tokenizer', async () => {
  const dir = withoutTokenizerJson('splade-roberta', ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']);
  const tok = await loadTokenizer(dir, { maxLength: 64 });
  const expected = loadExpected('splade-roberta').results['document']!;
  const batch = await tok.encode(expected.map((r) => r.tokenizer_input));
  expected.forEach((r, i) => assert.deepEqual(batch.ids[i], r.input_ids, `text ${r.text_id}`));
});
