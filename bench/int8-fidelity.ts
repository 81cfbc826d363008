/**
 * How close int8 vectors are to fp32 ones, on a BERT-base-shaped SPLADE model (random weights,
 * real bert-base-uncased tokenizer), the first SciFact documents and queries.
 *
 *   npm run bench:int8 [-- --docs 256 --queries 300 --threads 2 --variants int8,int8+fp32-vocab]
 *
 * For each int8 variant against fp32, over the same texts: cosine similarity per document (mean,
 * min), overlap of the 20 heaviest terms, non-zeros, and recall@10 of int8 retrieval (int8
 * queries against int8 documents, exact dot product) taking fp32 retrieval as the ground truth.
 * Prints markdown on stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparseEncoder } from '../src/encoder/sparse-encoder.js';
import { cosine, dot, topEntries, type SparseVector } from '../src/sparse/vector.js';
import { readScifactDocs, readScifactQueries, writeRandomBertBaseSplade } from './lib-bench-data.js';

type Variant = 'int8' | 'int8+fp32-vocab';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface Encoded {
  docs: SparseVector[];
  queries: SparseVector[];
}

async function encodeAll(folder: string, variant: 'fp32' | Variant, docs: string[], queries: string[], threads: number): Promise<Encoded> {
  const options = variant === 'fp32' ? { threads } : { threads, quantize: 'int8' as const, int8VocabProjection: variant === 'int8' };
  const encoder = await SparseEncoder.fromPretrained(folder, options);
  try {
    // Speed is measured by npm run bench (precisions taking turns); here only the vectors matter.
    const d = await encoder.encodeDocument(docs, { batchSize: 32 });
    const q = await encoder.encodeQuery(queries, { batchSize: 32 });
    return { docs: d, queries: q };
  } finally {
    await encoder.dispose();
  }
}

/** Indices of the k highest dot products (ties: lower index first). */
function topK(query: SparseVector, docs: readonly SparseVector[], k: number): number[] {
  return docs
    .map((d, i) => ({ i, s: dot(query, d) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, k)
    .map((x) => x.i);
}

function compare(ref: Encoded, got: Encoded) {
  const cos = ref.docs.map((v, i) => cosine(v, got.docs[i]!));
  const topTerms = ref.docs.map((v, i) => {
    const a = new Set(topEntries(v, 20).map(([idx]) => idx));
    const b = topEntries(got.docs[i]!, 20).map(([idx]) => idx);
    return b.filter((x) => a.has(x)).length / Math.max(1, Math.min(20, a.size));
  });
  const recall = ref.queries.map((q, i) => {
    const truth = new Set(topK(q, ref.docs, 10));
    return topK(got.queries[i]!, got.docs, 10).filter((x) => truth.has(x)).length / truth.size;
  });
  const qcos = ref.queries.map((v, i) => cosine(v, got.queries[i]!));
  // Why recall@10 moves: how far apart fp32's 10th and 11th scores are, against how much int8 moves a score.
  const gaps: number[] = [];
  const moves: number[] = [];
  ref.queries.forEach((q, i) => {
    const scored = ref.docs.map((d, j) => ({ j, s: dot(q, d) })).sort((a, b) => b.s - a.s);
    if (scored.length > 10 && scored[9]!.s > 0) gaps.push((scored[9]!.s - scored[10]!.s) / scored[9]!.s);
    for (const { j, s } of scored.slice(0, 20)) if (s > 0) moves.push(Math.abs(dot(got.queries[i]!, got.docs[j]!) - s) / s);
  });
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1] ?? 0;
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const nnz = (vs: SparseVector[]) => mean(vs.map((v) => v.indices.length));
  return {
    meanCos: mean(cos),
    minCos: Math.min(...cos),
    meanQueryCos: mean(qcos),
    minQueryCos: Math.min(...qcos),
    top20: mean(topTerms),
    recall10: mean(recall),
    minRecall10: Math.min(...recall),
    medianGap: median(gaps),
    medianMove: median(moves),
    nnzRef: nnz(ref.docs),
    nnz: nnz(got.docs),
  };
}

async function main(): Promise<void> {
  const nDocs = Number(arg('docs', '256'));
  const nQueries = Number(arg('queries', '300'));
  const threads = Number(arg('threads', '2'));
  const variants = arg('variants', 'int8,int8+fp32-vocab').split(',') as Variant[];
  if (variants.some((v) => v !== 'int8' && v !== 'int8+fp32-vocab')) throw new Error('--variants takes int8 and/or int8+fp32-vocab');
  const docs = readScifactDocs(nDocs);
  const queries = readScifactQueries(nQueries);
  const work = mkdtempSync(join(tmpdir(), 'sparse-encoder-int8-'));
  try {
    const folder = writeRandomBertBaseSplade(work, [256]).get(256)!;
    process.stderr.write(`fp32: encoding ${docs.length} documents and ${queries.length} queries ...\n`);
    const ref = await encodeAll(folder, 'fp32', docs, queries, threads);
    const md: string[] = [
      '## int8 fidelity: BERT-base-shaped SPLADE (random weights) against its fp32 vectors',
      '',
      `Command: \`npm run bench:int8 -- --docs ${nDocs} --queries ${nQueries} --threads ${threads} --variants ${variants.join(',')}\``,
      '',
      `Data: the first ${docs.length} SciFact documents (max_seq_length 256, batch 32) and the first ${queries.length} SciFact queries; ` +
        'recall@10 ranks the documents by exact dot product, int8 queries against int8 documents, with the fp32 ranking as ground truth.',
      '',
      '| variant | doc cosine mean | doc cosine min | query cosine mean | query cosine min | top-20 term overlap | recall@10 | min recall@10 | median gap 10th→11th | median score change | mean nnz (fp32 → int8) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    for (const v of variants) {
      process.stderr.write(`${v}: encoding ...\n`);
      const got = await encodeAll(folder, v, docs, queries, threads);
      const c = compare(ref, got);
      md.push(
        `| ${v} | ${c.meanCos.toFixed(4)} | ${c.minCos.toFixed(4)} | ${c.meanQueryCos.toFixed(4)} | ${c.minQueryCos.toFixed(4)} | ${c.top20.toFixed(3)} | ${c.recall10.toFixed(3)} | ${c.minRecall10.toFixed(1)} | ${(100 * c.medianGap).toFixed(2)}% | ${(100 * c.medianMove).toFixed(2)}% | ${c.nnzRef.toFixed(0)} → ${c.nnz.toFixed(0)} |`,
      );
    }
    md.push(
      '',
      'median gap 10th→11th: (s10 − s11) / s10 of each query\'s fp32 scores; median score change: |int8 score − fp32 score| / fp32 score over each query\'s fp32 top 20. ' +
        'Where a typical score moves by more than the typical gap at the cut, some of the top 10 trade places with the 11th and 12th. ' +
        'Random weights: these numbers measure the arithmetic of the int8 graph, not retrieval quality on a trained model.',
    );
    process.stdout.write(md.join('\n') + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
