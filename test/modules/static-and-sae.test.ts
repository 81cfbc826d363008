import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparseEncoderError } from '../../src/errors.js';
import { loadSparseStaticEmbedding } from '../../src/modules/static-embedding-folder.js';
import { SparseAutoEncoder } from '../../src/modules/sparse-auto-encoder.js';
import { readSafetensors } from '../../src/weights/read-file.js';
import { fixture } from '../helpers/paths.js';
import { assertVector, loadExpected, loadTexts } from '../encoder/fixture-data.js';

const TEXTS = loadTexts();
const STATIC = fixture('inference-free/query_0_SparseStaticEmbedding');
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

function folderWithIdf(idf: Record<string, number>): string {
  const dir = mkdtempSync(join(tmpdir(), 'idf-'));
  for (const f of TOKENIZER_FILES) symlinkSync(join(STATIC, f), join(dir, f));
  writeFileSync(join(dir, 'config.json'), '{"frozen": false}');
  writeFileSync(join(dir, 'idf.json'), JSON.stringify(idf));
  return dir;
}

test('SparseStaticEmbedding: weight[id] for each distinct id, no strip, no special tokens', async () => {
  const module = await loadSparseStaticEmbedding(STATIC);
  const expected = loadExpected('inference-free').results['query']!;
  assert.equal(module.dim, 30522);
  const vectors = await module.encode(TEXTS.map((t) => t.text));
  for (const r of expected) {
    if (r.error !== undefined) assert.equal(vectors[r.text_id]!.indices.length, 0);
    else assertVector(vectors[r.text_id]!, r, `text ${r.text_id}`);
  }
});

test('SparseStaticEmbedding from idf.json equals the saved weights (inference-free/idf.json)', async () => {
  const idf = JSON.parse(readFileSync(join(fixture('inference-free'), 'idf.json'), 'utf8')) as Record<string, number>;
  const dir = folderWithIdf(idf);
  try {
    const fromJson = await loadSparseStaticEmbedding(dir);
    const saved = (await readSafetensors(join(STATIC, 'model.safetensors'))).get('weight')!.data;
    assert.equal(fromJson.weight.length, saved.length);
    assert.deepEqual(Array.from(fromJson.weight), Array.from(saved));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('idf.json: an out-of-vocabulary key sets the [UNK] weight; a partial file still spans the vocabulary', async () => {
  const probe = loadExpected('inference-free').idf_json!;
  const dir = folderWithIdf({ hello: 1.5, notatokenxyz: 9.5 });
  try {
    const m = await loadSparseStaticEmbedding(dir);
    assert.equal(m.weight[probe['partial_unk_id'] as number], probe['partial_unk_id_weight']);
    assert.equal(m.weight[7592], 1.5);
    // Python would make the vector max(id)+1 long; we keep the vocabulary size so routes agree.
    assert.equal(m.dim, 30522);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('idf.json: a token whose id is beyond MAX_TOKEN_ID is ERR_INVALID_CONFIG, not an 8 GiB weight table', async () => {
  const dir = folderWithIdf({ hello: 1.5 });
  try {
    // The Rust tokenizer accepts any u32 id; the weight table is sized by the largest id it meets.
    const tok = JSON.parse(readFileSync(join(STATIC, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    tok.model.vocab['hello'] = 2 ** 31;
    rmSync(join(dir, 'tokenizer.json'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
    await assert.rejects(loadSparseStaticEmbedding(dir), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG') && /"hello" the id 2147483648/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SparseAutoEncoder on the recorded pooled inputs gives the genuine CSR vectors', async () => {
  const expected = loadExpected('csr') as unknown as {
    debug_pooled_sae_input: Array<{ text_id: number; pooled: number[] }>;
    results: Record<string, Array<{ text_id: number; indices: number[]; values: number[] }>>;
    max_active_dims: Record<string, Record<string, Array<{ text_id: number; indices: number[]; values: number[] }>>>;
  };
  const sae = await SparseAutoEncoder.load(fixture('csr/2_SparseAutoEncoder'));
  assert.equal(sae.k, 8);
  assert.equal(sae.hiddenDim, 128);
  for (const { text_id, pooled } of expected.debug_pooled_sae_input) {
    const x = Float32Array.from(pooled);
    assertVector(sae.encode(x), expected.results['query']![text_id]!, `text ${text_id}`);
    const k4 = expected.max_active_dims['4']!['query']!.find((r) => r.text_id === text_id)!;
    assertVector(sae.encode(x, 4), k4, `text ${text_id} k=4`);
  }
});
