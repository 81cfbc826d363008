import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../src/index.js';

// The package's runtime surface, pinned: adding or removing a public name is a deliberate act
// that changes this list (and the README), never a side effect of an internal refactor.
const PUBLIC_NAMES = [
  // errors, vectors
  'ERROR_CODES', 'SparseEncoderError', 'isSparseEncoderError',
  'cosine', 'dot', 'emptyVector', 'fromDense', 'fromPairs', 'intersection', 'norm', 'toDense', 'topEntries', 'topKByMagnitude',
  // models
  'SparseEncoder', 'StaticQueryEncoder', 'resolveModel',
  // index
  'SegmentedIndex', 'SparseIndex',
  // evaluation, BM25, fusion
  'Bm25Model', 'DEFAULT_CUTOFFS', 'ENGLISH_STOP_WORDS', 'EnglishAnalyzer', 'FusionRetriever', 'SparseRetriever', 'SparsityAccumulator',
  'beirPaths', 'documentText', 'evaluateRetrieval', 'loadBeirDataset', 'readBeirCorpus', 'readBeirQrels', 'readBeirQueries',
  'readTrecQrels', 'readTrecRun', 'readTrecTopics', 'reciprocalRankFusion', 'scoreRun', 'sparsityMetrics', 'standardTokenize',
  'toSentenceTransformersKeys', 'weightedScoreFusion', 'writeTrecRun',
  // server
  'startServer',
  // exports to search engines
  'UUID_NAMESPACE_URL', 'elasticsearchBulk', 'elasticsearchDocument', 'elasticsearchQuery', 'milvusInsert', 'milvusRow',
  'openSearchBulk', 'openSearchDocument', 'openSearchQuery', 'qdrantPoint', 'qdrantPointId', 'qdrantQuery', 'qdrantUpsert',
  'uuidV5', 'vespaDocumentId', 'vespaFeed', 'vespaPut',
  'OPENSEARCH_MAX_QUERY_WEIGHT', 'PGVECTOR_HNSW_MAX_NNZ', 'PGVECTOR_MAX_DIM', 'PGVECTOR_MAX_NNZ', 'engineSchema', 'formatSchema', 'luceneStoredWeight',
  'milvusQuery', 'pgvectorCopy', 'pgvectorLiteral', 'pgvectorQuery', 'pgvectorRow', 'pgvectorSchema', 'vespaQuery',
].sort();

test('the public surface is exactly the pinned list of names', () => {
  assert.deepEqual(Object.keys(api).sort(), PUBLIC_NAMES);
});

test('the edge entry is a subset of the main one: the static query encoder, the index, errors and vector helpers', async () => {
  const edge = await import('../src/edge.js');
  assert.deepEqual(Object.keys(edge).sort(), ['SparseEncoderError', 'SparseIndex', 'StaticQueryEncoder', 'cosine', 'dot', 'fromPairs', 'intersection', 'isSparseEncoderError', 'topKByMagnitude']);
  for (const name of Object.keys(edge)) assert.equal((edge as Record<string, unknown>)[name], (api as Record<string, unknown>)[name], name);
});

test('public classes and functions are what their names say', () => {
  assert.equal(typeof api.SparseEncoder.fromPretrained, 'function');
  assert.equal(typeof api.SparseIndex.build, 'function');
  assert.equal(typeof api.SparseIndex.open, 'function');
  assert.ok(new api.SparseEncoderError('ERR_USAGE', 'x') instanceof Error);
  assert.ok(api.ERROR_CODES.includes('ERR_INDEX_CORRUPT'));
  // RFC 4122's URL namespace, used for Qdrant point ids.
  assert.equal(api.UUID_NAMESPACE_URL, '6ba7b811-9dad-11d1-80b4-00c04fd430c8');
});
