// The page of the browser test (plain JavaScript, bundled by esbuild for the browser from the built
// package; neither compiled by tsc nor run by Node's test runner):
// an inference-free model's query side and a document index, fetched from the page's own origin and
// used entirely in the page: queries encoded by the static route, searched in SparseIndex.fromBytes.
// It writes {vectors, hits} (or {error}) as JSON into <pre id="out">.
import { SparseIndex, StaticQueryEncoder } from '../../dist/src/edge.js';

async function bytes(path) {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function json(path) {
  const res = await fetch(path);
  return res.ok ? await res.json() : undefined;
}

async function main() {
  const texts = await (await fetch('/texts.json')).json();
  const encoder = StaticQueryEncoder.fromFiles({
    tokenizer: await json('/model/tokenizer.json'),
    tokenizerConfig: (await json('/model/tokenizer_config.json')) ?? {},
    specialTokensMap: (await json('/model/special_tokens_map.json')) ?? {},
    weights: await bytes('/model/model.safetensors'),
  });
  const index = SparseIndex.fromBytes(await bytes('/index.idx'));
  const vectors = await encoder.encodeQuery(texts);
  return {
    vectors: vectors.map((v) => ({ indices: Array.from(v.indices), values: Array.from(v.values) })),
    hits: vectors.map((v) => index.search(v, { k: 5 })),
    approximate: vectors.map((v) => index.search(v, { k: 5, exact: false, approximateAlgorithm: 'blocks' })),
    top: encoder.decode(vectors[0], 3),
  };
}

const out = document.getElementById('out');
main().then(
  (r) => (out.textContent = JSON.stringify(r)),
  (e) => (out.textContent = JSON.stringify({ error: String(e?.stack ?? e) })),
);
