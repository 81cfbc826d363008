// The pure-JavaScript tokenizer engine (@huggingface/tokenizers, issue 23) against the native Rust
// bindings on every tokenizer in ../shared/fixtures and every fixture text: ids and type ids with and
// without special tokens, truncated or not, token windows, decoding, the vocabulary. (Ids against the
// genuine Python tokenizer: the parity suite runs the JavaScript engine on every fixture too.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isSparseEncoderError } from '../../src/errors.js';
import { MAX_TOKEN_ID } from '../../src/tokenizer/engine.js';
import { JsEngine } from '../../src/tokenizer/js-engine.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer-folder.js';
import { FIXTURES } from '../helpers/paths.js';
import { loadTexts } from '../encoder/fixture-data.js';

const TEXTS = loadTexts().map((t) => t.text);

/** Every fixture folder (and module sub-folder) holding a tokenizer. */
function tokenizerFolders(dir: string, depth = 0): string[] {
  const names = readdirSync(dir);
  const here = names.includes('tokenizer.json') || names.includes('vocab.txt') || names.includes('vocab.json') ? [dir] : [];
  if (depth === 2) return here;
  return [...here, ...names.filter((n) => statSync(join(dir, n)).isDirectory()).flatMap((n) => tokenizerFolders(join(dir, n), depth + 1))];
}

const FOLDERS = tokenizerFolders(FIXTURES);

test('the fixtures hold tokenizers of every kind', () => {
  assert.ok(FOLDERS.length >= 20, `${FOLDERS.length} folders`);
  for (const kind of ['splade-bert', 'splade-roberta', 'splade-modernbert', 'inference-free-multilingual/query_0_SparseStaticEmbedding']) {
    assert.ok(FOLDERS.some((f) => relative(FIXTURES, f) === kind), kind);
  }
});

for (const folder of FOLDERS) {
  describe(`tokenizer ${relative(FIXTURES, folder)}`, () => {
    for (const [maxLength, addSpecialTokens] of [[undefined, true], [undefined, false], [16, true], [5, false]] as const) {
      test(`same ids, type ids and truncation (maxLength ${maxLength ?? 'from the config'}, special tokens ${addSpecialTokens})`, async () => {
        const options = { addSpecialTokens, ...(maxLength === undefined ? {} : { maxLength }) };
        const native = await loadTokenizer(folder, options);
        const js = await loadTokenizer(folder, { ...options, engine: 'js' });
        assert.equal(js.engineKind, 'js');
        assert.deepEqual(await js.encode(TEXTS), await native.encode(TEXTS));
        assert.deepEqual(await js.lengths(TEXTS), await native.lengths(TEXTS));
        if (addSpecialTokens) assert.deepEqual(await js.windows(TEXTS, 12, 3), await native.windows(TEXTS, 12, 3));
      });
    }

    test('same vocabulary and decoding', async () => {
      const native = await loadTokenizer(folder);
      const js = await loadTokenizer(folder, { engine: 'js' });
      assert.equal(js.vocabSize, native.vocabSize);
      for (let id = 0; id < native.vocabSize; id += 97) assert.equal(js.idToToken(id), native.idToToken(id), `id ${id}`);
      for (const text of TEXTS.slice(0, 24)) {
        const { ids } = await native.encode([text]);
        for (const skip of [true, false]) assert.equal(await js.decodeIds(ids[0]!, skip), await native.decodeIds(ids[0]!, skip), `${JSON.stringify(text)} skip ${skip}`);
      }
    });
  });
}

test('token ids beyond MAX_TOKEN_ID or not integers are ERR_TOKENIZER at load, at once (fuzzing: an id of 2^31 took 90 s)', async () => {
  const json = JSON.parse(readFileSync(join(FIXTURES, 'splade-bert', 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens: Array<{ id: unknown }> };
  for (const [where, mutate] of [
    ['vocab', (j: typeof json) => (j.model.vocab['leith'] = 2 ** 31)],
    ['vocab', (j: typeof json) => (j.model.vocab['leith'] = 1.5)],
    ['added_tokens', (j: typeof json) => (j.added_tokens[0]!.id = MAX_TOKEN_ID + 1)],
  ] as const) {
    const copy = structuredClone(json);
    mutate(copy);
    const t0 = performance.now();
    assert.throws(() => JsEngine.create(copy, {}, 'hostile'), (e: unknown) => isSparseEncoderError(e, 'ERR_TOKENIZER') && (e as Error).message.includes(where === 'vocab' ? 'model.vocab gives "leith"' : 'added_tokens'));
    assert.ok(performance.now() - t0 < 1000);
  }
  // The largest id allowed still loads.
  const edge = structuredClone(json);
  edge.model.vocab['leith'] = MAX_TOKEN_ID;
  assert.equal(JsEngine.create(edge, {}, 'edge').tokenToId('leith'), MAX_TOKEN_ID);
});

test('the JavaScript engine has no offsets: tokens() is ERR_TOKENIZER; a broken tokenizer.json is ERR_TOKENIZER', async () => {
  const js = await loadTokenizer(join(FIXTURES, 'splade-bert'), { engine: 'js' });
  await assert.rejects(js.tokens('hello', true), (e: unknown) => isSparseEncoderError(e, 'ERR_TOKENIZER'));
  await assert.rejects(loadTokenizer(join(FIXTURES, 'splade-bert'), { engine: 'rust' as never }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});
