/**
 * Whether the explain feature costs normal encoding anything (issue 25): the same random BERT-base
 * SPLADE built twice, with the `explain` flag and its If-wrapped ArgMax (the default graph) and
 * without (`explainOutput: false`), the two taking turns batch by batch on the same token rows in one
 * process; then the explain runs themselves (flag on) for their cost.
 *
 *   npm run bench:explain [-- --batches 24 --batch 8 --tokens 256 --threads 2]
 */
import { SpladeTransformer } from '../src/modules/splade-transformer.js';
import { BERT_BASE, bertConfigJson, randomBertWeights } from './lib-random-bert.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const batches = Number(arg('batches', '24'));
const batch = Number(arg('batch', '8'));
const tokens = Number(arg('tokens', '256'));
const threads = Number(arg('threads', '2'));
const weights = randomBertWeights(BERT_BASE);
const config = bertConfigJson(BERT_BASE);
const withExplain = await SpladeTransformer.create({ config, weights, threads });
const without = await SpladeTransformer.create({ config, weights, threads, explainOutput: false });
let seed = 7;
const rows = (): number[][] =>
  Array.from({ length: batch }, () => [101, ...Array.from({ length: tokens - 2 }, () => 1000 + ((seed = (seed * 1103515245 + 12345) % 2147483648) % 28000)), 102]);
const time: Record<'with' | 'without' | 'explain', number[]> = { with: [], without: [], explain: [] };
await withExplain.encode({ ids: rows() });
await without.encode({ ids: rows() });
for (let b = 0; b < batches; b++) {
  const ids = rows();
  const order: Array<'with' | 'without'> = b % 2 === 0 ? ['with', 'without'] : ['without', 'with'];
  for (const v of order) {
    const t0 = performance.now();
    await (v === 'with' ? withExplain : without).encode({ ids });
    time[v].push(performance.now() - t0);
  }
  const t0 = performance.now();
  await withExplain.explain({ ids });
  time.explain.push(performance.now() - t0);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sum = (xs: number[]): number => xs.reduce((a, x) => a + x, 0);
process.stdout.write(
  [
    `## Explain: what the feature costs normal encoding (BERT-base SPLADE, random weights, ${batches} batches of ${batch} × ${tokens} tokens, ${threads} threads, turns alternating)`,
    '',
    '| graph | median ms / batch | total ms | relative |',
    '| --- | ---: | ---: | ---: |',
    `| without the explain output (\`explainOutput: false\`) | ${median(time.without).toFixed(1)} | ${sum(time.without).toFixed(0)} | 1.000 |`,
    `| with it, flag off (what every encode runs) | ${median(time.with).toFixed(1)} | ${sum(time.with).toFixed(0)} | ${(sum(time.with) / sum(time.without)).toFixed(3)} |`,
    `| with it, flag on (\`explain\`: the ArgMax runs) | ${median(time.explain).toFixed(1)} | ${sum(time.explain).toFixed(0)} | ${(sum(time.explain) / sum(time.without)).toFixed(3)} |`,
  ].join('\n') + '\n',
);
await withExplain.dispose();
await without.dispose();
