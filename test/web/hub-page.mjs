// The page of the browser Hub test (plain JavaScript, bundled by esbuild for the browser from the
// built package; neither compiled by tsc nor run by Node's test runner). It loads each model with
// SparseEncoder.fromPretrained from the loopback Hub named in /plan.json (another origin: CORS), on
// onnxruntime-web's WebAssembly build, encodes texts as queries and documents, and writes
// {results, sources, events} (or {error}) as JSON into <pre id="out">. Loaded twice by the test: with
// the Hub up (downloads, kept in the Cache API) and with the Hub down (the Cache API serves).
import * as ort from 'onnxruntime-web';
import { SparseEncoder } from '../../dist/src/web.js';

// onnxruntime-web's .wasm and its loader are served from /ort/ (never a CDN).
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;

async function main() {
  const plan = await (await fetch('/plan.json')).json();
  const results = {};
  const sources = {};
  const events = {};
  for (const { repo, compat } of plan.models) {
    const seen = [];
    // No backend option: 'wasm' is the default where onnxruntime-node is absent.
    const model = await SparseEncoder.fromPretrained(repo, { endpoint: plan.hub, compat, onProgress: (e) => seen.push(e) });
    const pack = (vs) => vs.map((v) => ({ indices: Array.from(v.indices), values: Array.from(v.values) }));
    results[repo] = { query: pack(await model.encodeQuery(plan.texts)), document: pack(await model.encodeDocument(plan.texts)), backend: model.modelInfo.backend };
    sources[repo] = { source: model.modelInfo.source, commit: model.modelInfo.commit };
    events[repo] = {
      downloaded: seen.filter((e) => e.type === 'file-done' && !e.fromCache).length,
      fromCache: seen.filter((e) => e.type === 'file-done' && e.fromCache).length,
      fallback: seen.filter((e) => e.type === 'cache-fallback').map((e) => e.reason),
    };
    await model.dispose();
  }
  // A repo the Hub does not have: a typed error, not an uncaught one.
  let missing;
  try {
    await SparseEncoder.fromPretrained('acme/not-there', { endpoint: plan.hub });
  } catch (e) {
    missing = e.code;
  }
  return { results, sources, events, missing };
}

const out = document.getElementById('out');
main().then(
  (r) => (out.textContent = JSON.stringify(r)),
  (e) => (out.textContent = JSON.stringify({ error: String(e?.stack ?? e) })),
);
