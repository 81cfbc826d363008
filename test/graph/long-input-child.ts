// Child process of the long-input test: builds a small random ModernBERT SPLADE model with the given
// layer types (argv[2], comma-separated) and window, encodes one row of argv[3] tokens, and prints its
// peak RSS, the RSS after loading, the output's non-zeros and whether every value is finite.
import { SpladeTransformer } from '../../src/modules/splade-transformer.js';
import type { StateDict } from '../../src/weights/types.js';

const layerTypes = process.argv[2]!.split(',');
const tokens = Number(process.argv[3]);
const H = 64;
const I = 96;
const V = 50368;
let seed = 1;
const rand = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * scale);
const weights: StateDict = new Map();
const put = (name: string, shape: number[], data: Float32Array): void => void weights.set(name, { shape, data });
put('model.embeddings.tok_embeddings.weight', [V, H], rand(V * H, 0.1));
put('model.embeddings.norm.weight', [H], new Float32Array(H).fill(1));
layerTypes.forEach((_, i) => {
  const p = `model.layers.${i}`;
  if (i > 0) put(`${p}.attn_norm.weight`, [H], new Float32Array(H).fill(1));
  put(`${p}.attn.Wqkv.weight`, [3 * H, H], rand(3 * H * H, 0.2));
  put(`${p}.attn.Wo.weight`, [H, H], rand(H * H, 0.2));
  put(`${p}.mlp_norm.weight`, [H], new Float32Array(H).fill(1));
  put(`${p}.mlp.Wi.weight`, [2 * I, H], rand(2 * I * H, 0.2));
  put(`${p}.mlp.Wo.weight`, [H, I], rand(H * I, 0.2));
});
put('model.final_norm.weight', [H], new Float32Array(H).fill(1));
put('head.dense.weight', [H, H], rand(H * H, 0.2));
put('head.norm.weight', [H], new Float32Array(H).fill(1));
put('decoder.bias', [V], new Float32Array(V).fill(-1));
const config = {
  architectures: ['ModernBertForMaskedLM'], model_type: 'modernbert', hidden_size: H, intermediate_size: I, num_attention_heads: 4,
  num_hidden_layers: layerTypes.length, layer_types: layerTypes, local_attention: 128, max_position_embeddings: 8192, vocab_size: V,
  pad_token_id: 50283, norm_eps: 1e-5, hidden_activation: 'gelu', classifier_activation: 'gelu',
};
const model = await SpladeTransformer.create({ config, weights, threads: 2 });
weights.clear();
const loadedRss = process.memoryUsage().rss;
const ids = [50281, ...Array.from({ length: tokens - 2 }, (_, i) => 1000 + ((i * 7919) % 40000)), 50282];
const [v] = await model.encode({ ids: [ids] });
await model.dispose();
process.stdout.write(JSON.stringify({
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  loadedRssMiB: loadedRss / 2 ** 20,
  nnz: v!.indices.length,
  finite: v!.values.every((x) => Number.isFinite(x)),
}));
