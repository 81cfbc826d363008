// StaticQueryEncoder (the edge entry's query side) refuses broken files with coded errors naming them,
// and its vectors equal the genuine query vectors when the tokenizer comes as text or parsed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StaticQueryEncoder } from '../../src/encoder/static-query-encoder.js';
import { SparseEncoderError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';
import { assertVector, loadExpected, loadTexts } from './fixture-data.js';

const MODULE = fixture(join('inference-free', 'query_0_SparseStaticEmbedding'));
const tokenizerText = readFileSync(join(MODULE, 'tokenizer.json'), 'utf8');
const tokenizerConfig = JSON.parse(readFileSync(join(MODULE, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
const weights = new Uint8Array(readFileSync(join(MODULE, 'model.safetensors')));

function refusal(code: string, pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof SparseEncoderError && err.code === code && pattern.test(err.message);
}

test('tokenizer.json as text or parsed gives the genuine query vectors', async () => {
  const expected = loadExpected('inference-free');
  const want = expected.results['query']!.find((r) => r.error === undefined && r.nnz > 0)!;
  const text = loadTexts().find((t) => t.id === want.text_id)!.text;
  for (const tokenizer of [tokenizerText, JSON.parse(tokenizerText) as Record<string, unknown>]) {
    const v = await StaticQueryEncoder.fromFiles({ tokenizer, tokenizerConfig, weights }).encodeQuery(text);
    assertVector(v, want, `query ${want.text_id}`);
  }
});

test('broken files are coded refusals naming the file', () => {
  assert.throws(() => StaticQueryEncoder.fromFiles({ tokenizer: '{"model": ', tokenizerConfig, weights }), refusal('ERR_TOKENIZER', /tokenizer\.json/));
  assert.throws(() => StaticQueryEncoder.fromFiles({ tokenizer: '[1, 2]', tokenizerConfig, weights }), refusal('ERR_TOKENIZER', /tokenizer\.json: not a JSON object/));
  assert.throws(() => StaticQueryEncoder.fromFiles({ tokenizer: tokenizerText, tokenizerConfig }), refusal('ERR_FILE_NOT_FOUND', /model\.safetensors/));
  assert.throws(() => StaticQueryEncoder.fromFiles({ tokenizer: tokenizerText, tokenizerConfig, weights: weights.subarray(0, 7) }), (err) => err instanceof SparseEncoderError && /model\.safetensors/.test(err.message));
});

test('maxActiveDims must be a positive integer', async () => {
  const encoder = StaticQueryEncoder.fromFiles({ tokenizer: tokenizerText, tokenizerConfig, weights });
  await assert.rejects(encoder.encodeQuery('hello', { maxActiveDims: 0 }), refusal('ERR_INVALID_ARGUMENT', /maxActiveDims must be a positive integer/));
  assert.equal((await encoder.encodeQuery('hello world', { maxActiveDims: 1 })).indices.length, 1);
});
