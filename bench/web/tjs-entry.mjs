// bench:web, the baseline (bundled by esbuild for the browser): transformers.js 4.x as its users run a
// SPLADE model today: AutoModelForMaskedLM on onnxruntime-web's WebAssembly (transformers.js's own
// onnxruntime-web and its default .wasm build, served locally under /tjs-ort/ instead of its CDN),
// the tokenizer's padded batch in, the [batch, sequence, vocab] logits out, and SPLADE max pooling
// (log1p(relu(logits)), masked, max over the sequence: sentence-transformers' SpladePooling) in
// JavaScript. `dtype: 'fp32'` (onnx/model.onnx), or `'q8'` (onnx/model_quantized.onnx), its default
// on WebAssembly.
import { AutoModelForMaskedLM, AutoTokenizer, env } from '@huggingface/transformers';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.useBrowserCache = false;
env.useWasmCache = false;
env.backends.onnx.wasm.wasmPaths = { mjs: '/tjs-ort/ort-wasm-simd-threaded.asyncify.mjs', wasm: '/tjs-ort/ort-wasm-simd-threaded.asyncify.wasm' };
env.backends.onnx.wasm.numThreads = 1;

let tokenizer;
const models = {};
globalThis.benchSystems = { ...globalThis.benchSystems };
globalThis.benchSystems.tjs = {
  async load(dtype) {
    tokenizer ??= await AutoTokenizer.from_pretrained('tjs');
    models[dtype] = await AutoModelForMaskedLM.from_pretrained('tjs', { dtype, device: 'wasm' });
  },
  async encode(dtype, texts) {
    // The tokenizer truncates at its model_max_length (the bench writes max_seq_length there).
    const inputs = tokenizer(texts, { padding: true, truncation: true });
    const { logits } = await models[dtype](inputs);
    const [B, S, V] = logits.dims;
    const x = logits.data;
    const mask = inputs.attention_mask.data;
    const out = [];
    for (let b = 0; b < B; b++) {
      const pooled = new Float32Array(V);
      for (let s = 0; s < S; s++) {
        if (Number(mask[b * S + s]) === 0) continue;
        const row = (b * S + s) * V;
        for (let v = 0; v < V; v++) if (x[row + v] > pooled[v]) pooled[v] = x[row + v];
      }
      const pairs = [];
      for (let v = 0; v < V; v++) if (pooled[v] > 0) pairs.push([v, Math.log1p(pooled[v])]);
      out.push(pairs);
    }
    logits.dispose?.();
    return out;
  },
};
