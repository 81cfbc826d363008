// Child process for the crash test: builds a deterministic corpus of argv[3] documents and saves
// it to argv[2], printing "saving" just before the write starts (the parent kills it then).
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { mulberry32 } from '../../src/inverted-index/cluster.js';
import { fromPairs } from '../../src/sparse/vector.js';

const [path, count] = process.argv.slice(2);
const n = Number(count);
const rand = mulberry32(1);
const docs = [];
for (let i = 0; i < n; i++) {
  const idx = new Set<number>();
  for (let j = 0; j < 60; j++) idx.add(Math.floor(5000 * rand() ** 2));
  const indices = [...idx];
  docs.push({ id: `d${i}`, vector: fromPairs(indices, indices.map(() => rand() + 0.1), 5000) });
}
const index = await SparseIndex.build(docs, { reorder: false });
process.stdout.write('saving\n');
await index.save(path!);
process.stdout.write('saved\n');
