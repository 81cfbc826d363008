// The page of the browser model test (plain JavaScript, bundled by esbuild for the browser from the
// built package; neither compiled by tsc nor run by Node's test runner). It fetches each fixture's
// files from the page's origin, loads them with SparseEncoder.fromFiles on onnxruntime-web
// (`plan.backend`: its WebAssembly build, or WebGPU), encodes texts as queries and documents, and writes {results} (or {error}) as
// JSON into <pre id="out">.
import * as ort from 'onnxruntime-web';
import { SparseEncoder } from '../../dist/src/web.js';

// onnxruntime-web's .wasm and its loader are served from /ort/ (never a CDN).
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;

async function main() {
  const plan = await (await fetch('/plan.json')).json();
  const results = {};
  for (const { name, files, compat } of plan.models) {
    const contents = {};
    for (const f of files) {
      const res = await fetch(`/model/${name}/${f}`);
      if (!res.ok) throw new Error(`/model/${name}/${f}: HTTP ${res.status}`);
      contents[f] = new Uint8Array(await res.arrayBuffer());
    }
    const fallbacks = [];
    const model = await SparseEncoder.fromFiles(contents, { backend: plan.backend, compat, onProgress: (e) => e.type === 'backend-fallback' && fallbacks.push(e.reason) });
    const pack = (vs) => vs.map((v) => ({ indices: Array.from(v.indices), values: Array.from(v.values) }));
    results[name] = { query: pack(await model.encodeQuery(plan.texts)), document: pack(await model.encodeDocument(plan.texts)), backend: model.modelInfo.backend, fallbacks };
    await model.dispose();
  }
  return { results };
}

const out = document.getElementById('out');
main().then(
  (r) => (out.textContent = JSON.stringify(r)),
  (e) => (out.textContent = JSON.stringify({ error: String(e?.stack ?? e) })),
);
