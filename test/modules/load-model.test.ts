import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSparseModel } from '../../src/modules/load-model.js';
import { isSparseEncoderError, type ErrorCode } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';
import { assertVector, loadExpected, loadTexts } from '../encoder/fixture-data.js';

const TMP = mkdtempSync(join(tmpdir(), 'load-model-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
const TEXTS = loadTexts();

let n = 0;
/** A model folder of `files` (text) and `copies` (name → file to copy: a symlink out of the folder would be refused). */
function folder(files: Record<string, string>, copies: Record<string, string> = {}): string {
  const dir = join(TMP, String(n++));
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  for (const [name, source] of Object.entries(copies)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    copyFileSync(source, join(dir, name));
  }
  return dir;
}

const BERT = fixture('splade-bert');
const bertLinks = (prefix = ''): Record<string, string> =>
  Object.fromEntries(['model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'].map((f) => [prefix + f, join(BERT, f)]));
const bertConfig = (patch: Record<string, unknown>): string => JSON.stringify({ ...JSON.parse(readFileSync(join(BERT, 'config.json'), 'utf8')), ...patch });

async function rejectsWith(dir: string, code: ErrorCode, mention: string): Promise<void> {
  await assert.rejects(loadSparseModel(dir), (e) => {
    assert.ok(isSparseEncoderError(e, code), `expected ${code}, got ${String(e)}`);
    assert.ok(e.message.includes(mention), `message "${e.message}" should mention "${mention}"`);
    return true;
  });
}

test('a bare *ForMaskedLM checkpoint loads as MLM + SpladePooling(max, relu)', async () => {
  // splade-bert without modules.json / sentence_bert_config.json: max_seq_length = min(512, tokenizer's 64).
  const dir = folder({ 'config.json': readFileSync(join(BERT, 'config.json'), 'utf8') }, bertLinks());
  const model = await loadSparseModel(dir);
  try {
    const route = model.routes.get(model.defaultRoute)!;
    assert.equal(route.maxSeqLength, 64);
    const expected = loadExpected('splade-bert').results['document']!;
    for (const id of [0, 4, 39]) assertVector((await route.encode([TEXTS[id]!.text]))[0]!, expected[id]!, `text ${id}`);
  } finally {
    await model.dispose();
  }
});

test('a plain BertModel without modules.json is refused: its sparse head would be untrained', async () => {
  const dir = folder({ 'config.json': bertConfig({ architectures: ['BertModel'] }) }, bertLinks());
  await rejectsWith(dir, 'ERR_UNTRAINED_HEAD', 'BertModel');
});

test('an MLMTransformer module whose checkpoint is not a masked LM is refused', async () => {
  const dir = folder(
    {
      'config.json': bertConfig({ architectures: ['BertModel'] }),
      'modules.json': readFileSync(join(BERT, 'modules.json'), 'utf8'),
      '1_SpladePooling/config.json': readFileSync(join(BERT, '1_SpladePooling/config.json'), 'utf8'),
    },
    bertLinks(),
  );
  await rejectsWith(dir, 'ERR_UNTRAINED_HEAD', 'BertModel');
});

test('an unsupported architecture is refused with ERR_UNSUPPORTED_ARCHITECTURE naming it', async () => {
  const dir = folder({ 'config.json': JSON.stringify({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: 50257 }) });
  await rejectsWith(dir, 'ERR_UNSUPPORTED_ARCHITECTURE', 'gpt2');
});

test('an unknown module type in modules.json is refused with ERR_UNSUPPORTED_MODULE naming it', async () => {
  const modules = JSON.parse(readFileSync(join(BERT, 'modules.json'), 'utf8'));
  modules.push({ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' });
  const dir = folder({ 'config.json': readFileSync(join(BERT, 'config.json'), 'utf8'), 'modules.json': JSON.stringify(modules) }, bertLinks());
  await rejectsWith(dir, 'ERR_UNSUPPORTED_MODULE', 'sentence_transformers.models.Normalize');
});

test('an MLM without SpladePooling is an unsupported module sequence', async () => {
  const modules = JSON.parse(readFileSync(join(BERT, 'modules.json'), 'utf8')).slice(0, 1);
  const dir = folder({ 'config.json': readFileSync(join(BERT, 'config.json'), 'utf8'), 'modules.json': JSON.stringify(modules) }, bertLinks());
  await rejectsWith(dir, 'ERR_UNSUPPORTED_MODULE', 'MLMTransformer');
});

test('a folder without config or tokenizer is refused with ERR_FILE_NOT_FOUND', async () => {
  await rejectsWith(folder({}), 'ERR_FILE_NOT_FOUND', 'config.json');
  const noTokenizer = folder(
    {
      'config.json': readFileSync(join(BERT, 'config.json'), 'utf8'),
      'modules.json': readFileSync(join(BERT, 'modules.json'), 'utf8'),
      '1_SpladePooling/config.json': readFileSync(join(BERT, '1_SpladePooling/config.json'), 'utf8'),
    },
    { 'model.safetensors': join(BERT, 'model.safetensors') },
  );
  await rejectsWith(noTokenizer, 'ERR_FILE_NOT_FOUND', 'tokenizer.json');
  const noWeights = folder({ 'config.json': readFileSync(join(BERT, 'config.json'), 'utf8') }, { 'tokenizer.json': join(BERT, 'tokenizer.json') });
  await rejectsWith(noWeights, 'ERR_FILE_NOT_FOUND', 'model.safetensors');
});

test('invalid SpladePooling settings and a Router default_route that is not a route are refused', async () => {
  const dir = folder(
    {
      'config.json': readFileSync(join(BERT, 'config.json'), 'utf8'),
      'modules.json': readFileSync(join(BERT, 'modules.json'), 'utf8'),
      '1_SpladePooling/config.json': JSON.stringify({ pooling_strategy: 'mean', activation_function: 'relu' }),
    },
    bertLinks(),
  );
  await rejectsWith(dir, 'ERR_UNSUPPORTED_MODULE', 'mean');

  const copy = join(TMP, 'router');
  cpSync(fixture('inference-free'), copy, { recursive: true });
  const cfgPath = join(copy, 'router_config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.parameters.default_route = 'passage';
  writeFileSync(cfgPath, JSON.stringify(cfg));
  await rejectsWith(copy, 'ERR_INVALID_CONFIG', 'passage');
});

test('Router modules at the root: ids "", "." and "./" resolve to the model folder', async () => {
  const expected = loadExpected('inference-free-root').results['document']!;
  for (const id of ['.', './']) {
    const dir = join(TMP, `root-${n++}`);
    cpSync(fixture('inference-free-root'), dir, { recursive: true });
    const cfgPath = join(dir, 'router_config.json');
    const text = readFileSync(cfgPath, 'utf8').replaceAll('"": ', `${JSON.stringify(id)}: `).replace(/"document": \[\s*""/, `"document": [${JSON.stringify(id)}`);
    writeFileSync(cfgPath, text);
    assert.ok(JSON.parse(text).types[id], `router_config rewritten for id ${id}`);
    const model = await loadSparseModel(dir);
    try {
      assert.deepEqual([...model.routes.keys()], ['query', 'document']);
      const v = (await model.routes.get('document')!.encode([TEXTS[0]!.text]))[0]!;
      assertVector(v, expected[0]!, `id ${JSON.stringify(id)}`);
    } finally {
      await model.dispose();
    }
  }
});
