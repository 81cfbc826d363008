// Transformer models in the browser (issue 23): headless Chromium (Debian's `chromium`, driven by
// playwright-core) opens a page served from loopback that fetches splade-bert's, inference-free's and splade-modernbert's
// files, loads them with SparseEncoder.fromFiles on onnxruntime-web's WebAssembly build (its .wasm
// served from the package, never a CDN) and the pure-JavaScript tokenizer, and encodes fixture texts.
// The vectors must equal the genuine sentence-transformers ones; no console error; nothing off loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTexts } from '../encoder/fixture-data.js';
import { chromiumSkip, pageResult } from './chromium.js';
import { checkModelPage, serveModelPage } from './model-pages.js';

const MODELS = ['splade-bert', 'inference-free', 'splade-modernbert'];
let page: Awaited<ReturnType<typeof serveModelPage>> | undefined;

before(async () => {
  if (chromiumSkip === false) page = await serveModelPage({ backend: 'wasm', models: MODELS, texts: loadTexts().slice(0, 8).map((t) => t.text) });
});

after(async () => {
  await page?.close();
});

test('in headless Chromium: splade-bert, inference-free and splade-modernbert from their files on WebAssembly give the genuine vectors', { skip: chromiumSkip, timeout: 180_000 }, async () => {
  const { text, problems } = await pageResult(`${page!.origin}/`, 150_000);
  checkModelPage(text, MODELS, 'wasm');
  assert.deepEqual(problems, []);
});
