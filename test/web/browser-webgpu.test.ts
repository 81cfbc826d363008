// WebGPU (issue 23): headless Chromium with WebGPU on SwiftShader (Chromium's CPU implementation of
// the GPU; `--enable-unsafe-webgpu --use-webgpu-adapter=swiftshader`) loads splade-bert, splade-gte
// and splade-modernbert with `backend: 'webgpu'`: onnxruntime-web's WebGPU execution provider runs
// the graphs built with portable attention (test/graph/portable-attention.test.ts checks those graphs
// on the CPU). The vectors must equal the genuine ones within ORACLE.md's tolerance, with no fallback
// to WebAssembly, no console error, nothing off loopback. Without WebGPU the load falls back to wasm
// and says why (checked in Node, which has no WebGPU).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SparseEncoder, type LoadProgressEvent } from '../../src/encoder/sparse-encoder.js';
import { loadTexts } from '../encoder/fixture-data.js';
import { fixture } from '../helpers/paths.js';
import { chromiumSkip, pageResult } from './chromium.js';
import { checkModelPage, serveModelPage } from './model-pages.js';

const MODELS = ['splade-bert', 'splade-gte', 'splade-modernbert'];
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
let page: Awaited<ReturnType<typeof serveModelPage>> | undefined;

before(async () => {
  if (chromiumSkip === false) page = await serveModelPage({ backend: 'webgpu', models: MODELS, texts: loadTexts().slice(0, 6).map((t) => t.text) });
});

after(async () => {
  await page?.close();
});

test('in headless Chromium on WebGPU (SwiftShader): splade-bert, splade-gte and splade-modernbert give the genuine vectors', { skip: chromiumSkip, timeout: 300_000 }, async () => {
  const { text, problems } = await pageResult(`${page!.origin}/`, 240_000, WEBGPU_FLAGS);
  checkModelPage(text, MODELS, 'webgpu');
  // onnxruntime-web warns on the console (not as errors) about nodes it places on the CPU; errors would fail here.
  assert.deepEqual(problems, []);
});

test('where WebGPU is missing (Node), backend webgpu falls back to wasm with an event saying why', async () => {
  const events: LoadProgressEvent[] = [];
  const model = await SparseEncoder.fromPretrained(fixture('splade-bert'), { backend: 'webgpu', onProgress: (e) => events.push(e) });
  try {
    assert.equal(model.modelInfo.backend, 'wasm');
    const fallback = events.find((e) => e.type === 'backend-fallback');
    assert.ok(fallback !== undefined && fallback.type === 'backend-fallback' && /navigator\.gpu|adapter/.test(fallback.reason), JSON.stringify(events));
  } finally {
    await model.dispose();
  }
});
