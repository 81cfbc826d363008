import { SparseEncoder } from './src/encoder/sparse-encoder.js';
import { readFileSync } from 'node:fs';
for (const name of ['splade-bert', 'inference-free', 'csr', 'splade-roberta', 'inference-free-root', 'splade-distilbert-bin', 'splade-bert-v6', 'inference-free-v6']) {
  const t0 = performance.now();
  const m = await SparseEncoder.fromPretrained('/work/shared/fixtures/' + name);
  const t1 = performance.now();
  const e = JSON.parse(readFileSync(`/work/shared/fixtures/${name}/expected.json`, 'utf8'));
  const v = await m.encodeDocument('what causes aging fast');
  const r = e.results.document[0];
  console.log(name, (t1 - t0).toFixed(0), 'ms', m.modelInfo.modules, v.indices.length, r.nnz, Array.from(v.values.slice(0, 4)), r.values.slice(0, 4));
  await m.dispose();
}
