// SparseEncoder.fromFiles (issue 23): a model from its files in memory, as a page or a worker hands them
// over, gives the vectors the folder gives; on the wasm backend (what browsers run) and the native one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';
import { ENCODER_FIXTURES, assertVector, compatOf, loadExpected, loadTexts } from './fixture-data.js';

const TEXTS = loadTexts().map((t) => t.text);

/** Every file of a folder, keyed by its path inside it (expected.json left out: it is no model file). */
function filesOf(dir: string, root = dir): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) Object.assign(out, filesOf(p, root));
    else if (name !== 'expected.json') out[relative(root, p)] = new Uint8Array(readFileSync(p));
  }
  return out;
}

for (const name of ENCODER_FIXTURES) {
  test(`${name}: fromFiles on the wasm backend gives the genuine vectors`, async () => {
    const expected = loadExpected(name);
    const model = await SparseEncoder.fromFiles(filesOf(fixture(name)), { backend: 'wasm', compat: compatOf(expected) });
    try {
      assert.equal(model.modelInfo.source, 'memory');
      for (const mode of Object.keys(expected.results) as Array<'query' | 'document' | 'plain'>) {
        const vectors = mode === 'query' ? await model.encodeQuery(TEXTS) : mode === 'document' ? await model.encodeDocument(TEXTS) : await model.encode(TEXTS);
        for (const rec of expected.results[mode]!) {
          if (rec.error !== undefined) assert.equal(vectors[rec.text_id]!.indices.length, 0);
          else assertVector(vectors[rec.text_id]!, rec, `${mode} text ${rec.text_id}`);
        }
      }
    } finally {
      await model.dispose();
    }
  });
}

test('fromFiles on the native backend equals fromPretrained on the folder; bad file maps are refused', async () => {
  const [a, b] = await Promise.all([SparseEncoder.fromFiles(filesOf(fixture('splade-roberta')), { threads: 1 }), SparseEncoder.fromPretrained(fixture('splade-roberta'), { threads: 1 })]);
  try {
    assert.deepEqual(await a.encodeDocument(TEXTS), await b.encodeDocument(TEXTS));
  } finally {
    await Promise.all([a.dispose(), b.dispose()]);
  }
  const files = filesOf(fixture('splade-bert'));
  await assert.rejects(SparseEncoder.fromFiles({ ...files, '../escape.json': '{}' }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  const { ['model.safetensors']: _weights, ...noWeights } = files;
  await assert.rejects(SparseEncoder.fromFiles(noWeights, { backend: 'wasm' }), (e: unknown) => isSparseEncoderError(e, 'ERR_FILE_NOT_FOUND'));
  await assert.rejects(SparseEncoder.fromFiles({ ...files, 'config.json': '{"model_type": "bert",' }, { backend: 'wasm' }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_CONFIG'));
});

test('fromFiles takes File objects (a dropped folder: paths from webkitRelativePath) and Blobs', async () => {
  const files = filesOf(fixture('inference-free'));
  const asFiles = Object.entries(files).map(([path, bytes]) => {
    const f = new File([bytes], path.split('/').pop()!);
    // What a browser gives for <input webkitdirectory>: the dropped folder's name first.
    Object.defineProperty(f, 'webkitRelativePath', { value: `inference-free/${path}` });
    return f;
  });
  const asBlobs = Object.fromEntries(Object.entries(files).map(([path, bytes]) => [path, new Blob([bytes])]));
  const [a, b, c] = await Promise.all([
    SparseEncoder.fromFiles(asFiles, { backend: 'wasm' }),
    SparseEncoder.fromFiles(asBlobs, { backend: 'wasm' }),
    SparseEncoder.fromFiles(files, { backend: 'wasm' }),
  ]);
  try {
    const want = await c.encodeDocument(TEXTS);
    assert.deepEqual(await a.encodeDocument(TEXTS), want);
    assert.deepEqual(await b.encodeDocument(TEXTS), want);
  } finally {
    await Promise.all([a.dispose(), b.dispose(), c.dispose()]);
  }
  await assert.rejects(SparseEncoder.fromFiles([42] as never), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});
