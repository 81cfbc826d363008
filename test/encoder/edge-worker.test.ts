// Edge (issue 23): an inference-free model's query side in Cloudflare's real runtime (workerd, through
// miniflare), bundled by esbuild from the package's edge entry with the query module's files inside the
// bundle. No ONNX Runtime, no file system, no WebAssembly compiled at run time (workerd forbids it).
// The worker's vectors must equal the genuine sentence-transformers query vectors. Size budgets for our
// own code in a worker (minified, without @huggingface/tokenizers and the model files), as the README
// states them: the query side 32 KiB, with SparseIndex 96 KiB.
const QUERY_BUDGET = 32 * 1024;
const INDEX_BUDGET = 96 * 1024;
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { fixture, repoRoot } from '../helpers/paths.js';
import { assertVector, loadExpected, loadTexts } from './fixture-data.js';

const TEXTS = loadTexts();
const TMP = mkdtempSync(join(tmpdir(), 'edge-worker-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

/** A worker serving POST {texts} → query vectors (and, given an index file, their top hits), with `folder`'s files bundled in. */
function workerSource(folder: string, indexFile?: string): string {
  const file = (name: string): string => JSON.stringify(join(folder, name));
  const optional = (name: string, binding: string): string => (existsSync(join(folder, name)) ? `import ${binding} from ${file(name)};` : `const ${binding} = undefined;`);
  return `
import { ${indexFile === undefined ? '' : 'SparseIndex, '}StaticQueryEncoder } from ${JSON.stringify(join(repoRoot(), 'dist', 'src', 'edge.js'))};
${indexFile === undefined ? 'const indexBytes = undefined;' : `import indexBytes from ${JSON.stringify(indexFile)};`}
import tokenizer from ${file('tokenizer.json')};
import tokenizerConfig from ${file('tokenizer_config.json')};
${optional('special_tokens_map.json', 'specialTokensMap')}
import weights from ${file('model.safetensors')};
let encoder;
let index;
export default {
  async fetch(request) {
    encoder ??= StaticQueryEncoder.fromFiles({ tokenizer, tokenizerConfig, specialTokensMap, weights });
    const { texts, maxActiveDims } = await request.json();
    const vectors = await encoder.encodeQuery(texts, maxActiveDims === undefined ? {} : { maxActiveDims });
    index ??= indexBytes === undefined ? undefined : SparseIndex.fromBytes(indexBytes);
    const hits = index === undefined ? [] : vectors.map((v) => index.search(v, { k: 5 }));
    return Response.json({ dim: encoder.dim, vectors: vectors.map((v) => ({ indices: Array.from(v.indices), values: Array.from(v.values) })), top: encoder.decode(vectors[0], 3), hits });
  },
};`;
}

async function bundle(folder: string, name: string, indexFile?: string): Promise<{ code: string; ownBytes: number }> {
  const entry = join(TMP, `${name}.mjs`);
  writeFileSync(entry, workerSource(folder, indexFile));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    loader: { '.safetensors': 'binary', '.idx': 'binary' },
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  // Bytes of our own code in the bundle (not the tokenizer library, not the model files).
  let ownBytes = 0;
  for (const [path, info] of Object.entries(Object.values(result.metafile.outputs)[0]!.inputs)) if (path.includes('dist/src/')) ownBytes += info.bytesInOutput;
  return { code: result.outputFiles[0]!.text, ownBytes };
}

for (const name of ['inference-free', 'inference-free-multilingual', 'inference-free-gte']) {
  describe(`${name}: the query route in workerd`, () => {
    const expected = loadExpected(name);
    let mf: Miniflare;
    let ownBytes = 0;
    let bundleBytes = 0;
    before(async () => {
      const b = await bundle(fixture(join(name, 'query_0_SparseStaticEmbedding')), name);
      ownBytes = b.ownBytes;
      bundleBytes = b.code.length;
      mf = new Miniflare({ modules: true, script: b.code, compatibilityDate: '2025-09-01' });
    });
    after(async () => mf?.dispose());

    const post = async (body: unknown): Promise<{ dim: number; vectors: Array<{ indices: number[]; values: number[] }>; top: Array<[string, number]>; hits: unknown[] }> => {
      const res = await mf.dispatchFetch('http://worker/', { method: 'POST', body: JSON.stringify(body) });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as never;
    };

    test('every fixture text: the genuine query vector (an empty query: the zero vector)', async (t) => {
      t.diagnostic(`bundle ${(bundleBytes / 1024).toFixed(0)} KiB (model files included), of which our code ${(ownBytes / 1024).toFixed(1)} KiB minified`);
      const out = await post({ texts: TEXTS.map((x) => x.text) });
      assert.equal(out.dim, expected.model_info.embedding_dimension);
      for (const rec of expected.results['query']!) {
        const v = out.vectors[rec.text_id]!;
        if (rec.error !== undefined) assert.deepEqual(v.indices, [], `text ${rec.text_id}`);
        else assertVector({ indices: Uint32Array.from(v.indices), values: Float32Array.from(v.values), dim: out.dim }, rec, `text ${rec.text_id}`);
      }
      assert.ok(ownBytes > 0 && ownBytes <= QUERY_BUDGET, `our code in the bundle: ${ownBytes} bytes, budget ${QUERY_BUDGET}`);
    });

    test('maxActiveDims prunes to the largest weights; decode names them', async () => {
      const out = await post({ texts: [TEXTS[0]!.text], maxActiveDims: 2 });
      const rec = expected.results['query']![0]!;
      const top2 = rec.indices.map((i, j) => [i, rec.values[j]!] as const).sort((a, b) => b[1] - a[1]).slice(0, 2).map(([i]) => i).sort((a, b) => a - b);
      assert.deepEqual(out.vectors[0]!.indices, top2);
      assert.equal(out.top.length, 2);
      assert.ok(out.top[0]![1] >= out.top[1]![1]);
    });
  });
}

test('an index in the worker: SparseIndex.fromBytes on a bundled index file finds what Node finds', async () => {
  const expected = loadExpected('inference-free');
  const dim = expected.model_info.embedding_dimension;
  const { SparseIndex } = await import('../../src/inverted-index/sparse-index.js');
  const docs = expected.results['document']!.map((r) => ({ id: `t${r.text_id}`, vector: { indices: Uint32Array.from(r.indices), values: Float32Array.from(r.values), dim } }));
  const index = await SparseIndex.build(docs, { blocks: { blockSize: 4 } });
  const file = join(TMP, 'docs.idx');
  await index.save(file);
  const b = await bundle(fixture(join('inference-free', 'query_0_SparseStaticEmbedding')), 'with-index', file);
  assert.ok(b.ownBytes <= INDEX_BUDGET, `our code in the bundle with the index: ${b.ownBytes} bytes, budget ${INDEX_BUDGET}`);
  const mf = new Miniflare({ modules: true, script: b.code, compatibilityDate: '2025-09-01' });
  try {
    const texts = TEXTS.slice(0, 8).map((t) => t.text);
    const res = await mf.dispatchFetch('http://worker/', { method: 'POST', body: JSON.stringify({ texts }) });
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as { vectors: Array<{ indices: number[]; values: number[] }>; hits: unknown[] };
    out.vectors.forEach((v, i) => {
      const local = index.search({ indices: Uint32Array.from(v.indices), values: Float32Array.from(v.values), dim }, { k: 5 });
      assert.deepEqual(out.hits[i], JSON.parse(JSON.stringify(local)), `query ${i}`);
    });
    assert.ok(out.hits.some((h) => (h as unknown[]).length > 0));
  } finally {
    await mf.dispose();
    index.dispose();
  }
});
