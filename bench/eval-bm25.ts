/**
 * BM25 effectiveness on the shared BEIR-layout datasets, both length encodings, trec_eval -c
 * conventions (as Anserini's regressions report them). Prints a markdown table.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/eval-bm25.js [data folder, default ../shared/data]
 */
import { join, resolve } from 'node:path';
import { loadBeirDataset } from '../src/eval/beir.js';
import { evaluateRetrieval } from '../src/eval/evaluate.js';
import type { LengthEncoding } from '../src/eval/bm25.js';

const dataRoot = resolve(process.argv[2] ?? join(process.cwd(), '..', 'shared', 'data'));
const rows: string[] = [
  '| dataset | lengths | nDCG@10 (trec) | R@100 (trec) | MAP (trec) | MRR@10 (st) | nDCG@10 (st) | queries | docs | seconds |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const name of ['scifact', 'cranfield']) {
  const dataset = await loadBeirDataset({ folder: join(dataRoot, name) });
  for (const lengthEncoding of ['lucene', 'exact'] as LengthEncoding[]) {
    const started = performance.now();
    const trec = await evaluateRetrieval({ dataset, model: 'bm25', bm25: { lengthEncoding }, conventions: 'trec' });
    const seconds = (performance.now() - started) / 1000;
    const st = await evaluateRetrieval({ dataset, run: trec.run, conventions: 'st' });
    const m = trec.metrics;
    rows.push(
      `| ${name} | ${lengthEncoding} | ${m['ndcg@10']!.toFixed(4)} | ${m['recall@100']!.toFixed(4)} | ${m['map']!.toFixed(4)} | ` +
        `${st.metrics['mrr@10']!.toFixed(4)} | ${st.metrics['ndcg@10']!.toFixed(4)} | ${trec.queriesEvaluated} | ${trec.corpusSize} | ${seconds.toFixed(2)} |`,
    );
  }
}
console.log(rows.join('\n'));
