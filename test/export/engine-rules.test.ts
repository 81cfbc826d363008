import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPENSEARCH_MAX_QUERY_WEIGHT, elasticsearchQuery, luceneStoredWeight, openSearchBulk, openSearchQuery } from '../../src/export/lucene-engines.js';
import { milvusInsert, milvusQuery } from '../../src/export/milvus.js';
import { engineSchema, formatSchema } from '../../src/export/schemas.js';
import type { ExportWarning } from '../../src/export/types.js';
import { vespaQuery } from '../../src/export/vespa.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { dot } from '../../src/sparse/vector.js';
import { toySet } from '../inverted-index/toy-data.js';
import { collect, vec } from './helpers.js';

const VOCAB = ['[PAD]', 'hello', 'hi', 'planets', 'planet', '.', 'say "x"', "it's", `"'`];
const tokenOf = (i: number): string => VOCAB[i]!;

test('OpenSearch: 64 is the cap, as Lucene FeatureField.MAX_WEIGHT (Long.SIZE); larger query weights are clamped and reported', () => {
  // Lucene FeatureField: `private static final float MAX_WEIGHT = Long.SIZE;` and newLinearQuery
  // throws "weight must be in (0, 64]" for anything above it.
  assert.equal(OPENSEARCH_MAX_QUERY_WEIGHT, 64);
  const warnings: ExportWarning[] = [];
  const body = openSearchQuery({ vector: vec([1, 2, 3], [100, 64, 3.5], VOCAB.length) }, { tokenOf, onWarning: (w) => warnings.push(w) });
  assert.deepEqual(JSON.parse(JSON.stringify(body)), { query: { neural_sparse: { sparse: { query_tokens: { hello: 64, hi: 64, planets: 3.5 } } } } });
  assert.deepEqual(warnings, [{ type: 'weights-clamped', id: undefined, count: 1 }]);
  // At the cap nothing changes and nothing is reported.
  const none: ExportWarning[] = [];
  openSearchQuery({ vector: vec([1], [64], VOCAB.length) }, { tokenOf, onWarning: (w) => none.push(w) });
  assert.deepEqual(none, []);
});

test('OpenSearch: --over-weight rescale keeps the ranking (every weight times 64/max) and stays inside (0, 64]', () => {
  const warnings: ExportWarning[] = [];
  const q = vec([1, 2, 3], [128, 32, 1], VOCAB.length);
  const body = openSearchQuery({ vector: q }, { tokenOf, overWeight: 'rescale', onWarning: (w) => warnings.push(w) }) as { query: { neural_sparse: { sparse: { query_tokens: Record<string, number> } } } };
  const t = body.query.neural_sparse.sparse.query_tokens;
  assert.deepEqual({ ...t }, { hello: 64, hi: 16, planets: 0.5 });
  assert.ok(Object.values(t).every((w) => w > 0 && w <= OPENSEARCH_MAX_QUERY_WEIGHT));
  assert.deepEqual(warnings, [{ type: 'query-rescaled', id: undefined, count: 3 }]);
  // Rescaling multiplies every document's score by one factor, so real documents keep their order.
  const { docs, queries } = toySet();
  const big = { ...queries[0]!.vector, values: queries[0]!.vector.values.map((v) => v * 40) };
  const scaled = { ...big, values: big.values.map((v) => v * (64 / Math.max(...big.values))) };
  const order = (qv: typeof big): string[] => docs.map((d) => ({ id: d.id, s: dot(d.vector, qv) })).sort((a, b) => b.s - a.s || a.id.localeCompare(b.id)).map((x) => x.id);
  assert.deepEqual(order(scaled), order(big));
  assert.throws(() => openSearchQuery({ vector: q }, { tokenOf, overWeight: 'drop' as never }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('Elasticsearch: queries say "prune": false by default (8.19+/9.1+ indices prune otherwise); pruning can be left to the index or configured', () => {
  const v = { vector: vec([1], [0.5], VOCAB.length) };
  const clause = (o: Parameters<typeof elasticsearchQuery>[1]) => (elasticsearchQuery(v, { tokenOf, ...o }) as { query: { sparse_vector: Record<string, unknown> } }).query.sparse_vector;
  assert.equal(clause({})['prune'], false);
  assert.ok(!('prune' in clause({ prune: 'index' })), "'index' leaves prune out so index_options decide");
  assert.equal(clause({ prune: true })['prune'], true);
  // The documented defaults of the field's pruning_config.
  const configured = clause({ prune: { tokens_freq_ratio_threshold: 5, tokens_weight_threshold: 0.4 } });
  assert.deepEqual({ prune: configured['prune'], pruning_config: configured['pruning_config'] }, { prune: true, pruning_config: { tokens_freq_ratio_threshold: 5, tokens_weight_threshold: 0.4 } });
  // Elasticsearch has no 64 cap (it boosts a term query per token): large weights pass unchanged.
  const big = elasticsearchQuery({ vector: vec([1], [100], VOCAB.length) }, { tokenOf }) as { query: { sparse_vector: { query_vector: Record<string, number> } } };
  assert.equal(big.query.sparse_vector.query_vector['hello'], 100);
});

test('OpenSearch sparse_vector (3.3+): documents and queries keyed by token id, no vocabulary needed; method_parameters pass through', async () => {
  // documentation-website neural-sparse-ann-configuration.md: {"sparse_embedding": {"10": 0.85, "23": 1.92, ...}}
  const [b] = await collect(openSearchBulk([{ id: '0', vector: vec([10, 23], [0.85, 1.92]) }], { index: 'sparse-ann-documents', field: 'sparse_embedding', fieldType: 'sparse_vector', action: 'create' }));
  assert.equal(b!.body, '{"create":{"_index":"sparse-ann-documents","_id":"0"}}\n{"sparse_embedding":{"10":0.85,"23":1.92}}\n');
  const body = openSearchQuery(
    { vector: vec([1055, 2931], [1.7, 2.3]) },
    { field: 'sparse_embedding', fieldType: 'sparse_vector', methodParameters: { heap_factor: 1.2, top_n: 6, k: 10 } },
  );
  assert.deepEqual(JSON.parse(JSON.stringify(body)), {
    query: { neural_sparse: { sparse_embedding: { query_tokens: { '1055': 1.7, '2931': 2.3 }, method_parameters: { heap_factor: 1.2, top_n: 6, k: 10 } } } },
  });
  // Keys are the non-negative integer strings the sparse_vector mapper takes.
  assert.ok(Object.keys((body as { query: { neural_sparse: { sparse_embedding: { query_tokens: object } } } }).query.neural_sparse.sparse_embedding.query_tokens).every((k) => /^(0|[1-9]\d*)$/.test(k)));
  assert.throws(() => openSearchQuery({ vector: vec([1], [1]) }, { methodParameters: { k: 10 } }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'), 'method_parameters on rank_features');
  assert.throws(() => openSearchQuery({ vector: vec([1], [1]) }, { fieldType: 'sparse_vector', methodParameters: { k: 0 } }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('Lucene keeps 9 significant bits: luceneStoredWeight truncates as FeatureField (floatToIntBits >>> 15) and stays within 2^-8 of ours', () => {
  assert.equal(luceneStoredWeight(1), 1);
  assert.equal(luceneStoredWeight(1 + 2 ** -8), 1 + 2 ** -8); // the 8th mantissa bit is kept
  assert.equal(luceneStoredWeight(1 + 2 ** -9), 1); // the 9th is not
  assert.equal(luceneStoredWeight(3.999), 3.9921875); // truncation, never rounding up
  const { docs, queries } = toySet();
  let worst = 0;
  for (const q of queries) {
    for (const d of docs) {
      const exact = dot(d.vector, q.vector);
      if (exact === 0) continue;
      const stored = { ...d.vector, values: d.vector.values.map(luceneStoredWeight) };
      const rel = (exact - dot(stored, q.vector)) / exact;
      assert.ok(rel >= 0 && rel < 2 ** -8, `score change ${rel}`);
      worst = Math.max(worst, rel);
    }
  }
  assert.ok(worst > 2 ** -11, `real vectors do lose precision (worst ${worst})`);
});

test('Milvus: empty vectors are kept as {} (2.4.12+) or skipped, reported either way; search bodies score every query weight', async () => {
  const records = [
    { id: 'a', vector: vec([5], [1]) },
    { id: 'empty', vector: vec([], []) },
  ];
  const kept: ExportWarning[] = [];
  const [k] = await collect(milvusInsert(records, { collectionName: 'c', onWarning: (w) => kept.push(w) }));
  assert.equal(k!.body, '{"collectionName":"c","data":[{"id":"a","sparse":{"5":1}},{"id":"empty","sparse":{}}]}');
  assert.deepEqual(kept, [{ type: 'empty-vector', id: 'empty', count: 1 }]);
  const skipped: ExportWarning[] = [];
  const [s] = await collect(milvusInsert(records, { collectionName: 'c', emptyVectors: 'skip', onWarning: (w) => skipped.push(w) }));
  assert.equal(s!.body, '{"collectionName":"c","data":[{"id":"a","sparse":{"5":1}}]}');
  assert.equal(s!.documents, 1);
  assert.deepEqual(skipped, [{ type: 'empty-vector', id: 'empty', count: 1 }]);
  assert.deepEqual(JSON.parse(JSON.stringify(milvusQuery({ vector: vec([2075, 4442], [1.5, 0.25]) }, { collectionName: "c", limit: 5 }))), {
    collectionName: 'c',
    data: [{ '2075': 1.5, '4442': 0.25 }],
    annsField: 'sparse',
    limit: 5,
    outputFields: ['id'],
    searchParams: { metricType: 'IP', params: { drop_ratio_search: 0 } },
  });
  assert.throws(() => milvusQuery({ vector: vec([1], [1]) }, { collectionName: 'c', dropRatioSearch: 1 }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('Vespa: query body with a quoted tensor literal and the rank profile the schema defines', () => {
  const warnings: ExportWarning[] = [];
  const body = vespaQuery({ vector: vec([1, 5, 6, 7, 8], [1.5, 0.25, 2, 3, 4], VOCAB.length) }, { tokenOf, documentType: 'passage', hits: 5, onWarning: (w) => warnings.push(w) });
  assert.deepEqual(body, {
    yql: 'select * from passage where true',
    ranking: 'sparse',
    'input.query(q)': `{"hello":1.5,".":0.25,'say "x"':2,"it's":3}`,
    hits: 5,
  });
  assert.deepEqual(warnings, [{ type: 'weights-dropped', id: undefined, count: 1 }], 'a label with both quote characters cannot be written');
  const schema = engineSchema('vespa', { name: 'passage' });
  assert.equal(schema.kind, 'text');
  assert.match(formatSchema(schema), /rank-profile sparse \{[\s\S]*query\(q\) tensor<float>\(t\{\}\)[\s\S]*expression: sum\(query\(q\) \* attribute\(sparse\)\)/);
  assert.throws(() => vespaQuery({ vector: vec([1], [1], VOCAB.length) }, { tokenOf, documentType: 'a b' }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('schemas: each engine gets the index / collection its docs specify', () => {
  const req = (s: ReturnType<typeof engineSchema>) => {
    assert.equal(s.kind, 'request');
    return s as Extract<typeof s, { kind: 'request' }>;
  };
  assert.deepEqual(req(engineSchema('opensearch', { name: 'my-nlp-index', field: 'passage_embedding' })), {
    kind: 'request',
    method: 'PUT',
    path: '/my-nlp-index',
    body: { mappings: { properties: { passage_embedding: { type: 'rank_features' } } } },
  });
  // sparse-vector.md: settings.index.sparse true, method seismic with parameters.
  assert.deepEqual(req(engineSchema('opensearch', { name: 'sparse-vector-index', field: 'sparse_embedding', fieldType: 'sparse_vector', seismic: { n_postings: 300, cluster_ratio: 0.1, summary_prune_ratio: 0.4, approximate_threshold: 1000000 } })).body, {
    settings: { index: { sparse: true } },
    mappings: { properties: { sparse_embedding: { type: 'sparse_vector', method: { name: 'seismic', parameters: { n_postings: 300, cluster_ratio: 0.1, summary_prune_ratio: 0.4, approximate_threshold: 1000000 } } } } },
  });
  assert.deepEqual(req(engineSchema('elasticsearch', { name: 'my-index', field: 'text.tokens' })).body, { mappings: { properties: { 'text.tokens': { type: 'sparse_vector', index_options: { prune: false } } } } });
  assert.deepEqual(req(engineSchema('elasticsearch', { indexOptions: false })).body, { mappings: { properties: { sparse: { type: 'sparse_vector' } } } });
  assert.deepEqual(req(engineSchema('qdrant', { name: 'docs', field: 'text' })), { kind: 'request', method: 'PUT', path: '/collections/docs', body: { sparse_vectors: { text: {} } } });
  assert.deepEqual(req(engineSchema('qdrant', { idfModifier: true })).body, { sparse_vectors: { sparse: { modifier: 'idf' } } });
  const milvus = req(engineSchema('milvus', { name: 'c' }));
  assert.equal(milvus.path, '/v2/vectordb/collections/create');
  assert.deepEqual((milvus.body['schema'] as { fields: unknown[] }).fields[1], { fieldName: 'sparse', dataType: 'SparseFloatVector' });
  assert.deepEqual(milvus.body['indexParams'], [{ fieldName: 'sparse', indexName: 'sparse_index', metricType: 'IP', params: { index_type: 'SPARSE_INVERTED_INDEX' } }]);
  assert.throws(() => engineSchema('pgvector', {}), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'), 'pgvector needs dim');
  assert.equal(formatSchema(engineSchema('qdrant', { name: 'docs' })), 'PUT /collections/docs\n{\n  "sparse_vectors": {\n    "sparse": {}\n  }\n}\n');
});
