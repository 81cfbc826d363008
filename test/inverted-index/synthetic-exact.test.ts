import { test } from 'node:test';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { syntheticCorpus } from '../../bench/synthetic-corpus.js';
import { loadTokenVectors, loadVocab } from '../../bench/lib-splade-data.js';
import { assertSameRanking, bruteForce } from './brute-force.js';

test('synthetic SPLADE-like corpus with real SPLADE-v3 queries: exact search equals brute force', async () => {
  const docs = [...syntheticCorpus({ documents: 4000, seed: 3 })];
  const queries = loadTokenVectors('msmarco-dev/queries.splade-v3.x100.jsonl', 100, loadVocab()).slice(0, 80);
  // Small ranges so that this small corpus has many ranges and many long terms to prune with.
  const index = await SparseIndex.build(docs, { rangeSize: 32, reorder: true });
  for (const q of queries) {
    const want = bruteForce(docs, q.vector, 10);
    for (const algorithm of ['exhaustive', 'pruned'] as const) {
      assertSameRanking(index.search(q.vector, { k: 10, algorithm }), want, 1e-9, `query ${q.id} ${algorithm}`);
    }
  }
});
