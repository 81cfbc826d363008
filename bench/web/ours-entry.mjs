// bench:web, our side (bundled by esbuild for the browser from the built package): the model at
// /models/ours/ loaded with SparseEncoder.fromPretrained (a URL prefix) on onnxruntime-web's
// WebAssembly, its .wasm served from the package under /ort/; fp32, or int8 (`quantize: 'int8'`).
import * as ort from 'onnxruntime-web';
import { SparseEncoder } from '../../dist/src/web.js';

ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;

const models = {};
globalThis.benchSystems = { ...globalThis.benchSystems };
globalThis.benchSystems.ours = {
  async load(precision) {
    models[precision] = await SparseEncoder.fromPretrained('/models/ours/', { backend: 'wasm', quantize: precision === 'int8' ? 'int8' : 'none' });
  },
  /** One batch of documents; returns each vector as [index, value] pairs. */
  async encode(precision, texts) {
    const vs = await models[precision].encodeDocument(texts, { batchSize: texts.length });
    return vs.map((v) => Array.from(v.indices, (i, k) => [i, v.values[k]]));
  },
};
