import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  elasticsearchBulk,
  elasticsearchDocument,
  elasticsearchQuery,
  openSearchBulk,
  openSearchDocument,
  openSearchQuery,
} from '../../src/export/lucene-engines.js';
import type { ExportRecord, ExportWarning } from '../../src/export/types.js';
import { collect, vec as vecOf } from './helpers.js';
import { isSparseEncoderError } from '../../src/errors.js';

// A tiny vocabulary; golden bodies below are written by hand from the engines' documented examples.
const VOCAB = ['[PAD]', 'hello', 'hi', 'planets', 'planet', '.', 'e.g', 'e__g', '##ing'];
const tokenOf = (i: number): string => VOCAB[i]!;

const vec = (indices: number[], values: number[]): ExportRecord['vector'] => vecOf(indices, values, VOCAB.length);

test('OpenSearch: a 3-token vector becomes the documented action line + rank_features document', async () => {
  // https://docs.opensearch.org/docs/vector-search/ai-search/neural-sparse-with-raw-vectors:
  // PUT /my-nlp-index/_doc/1 {"passage_text": "Hello world", "id": "s1", "passage_embedding": {"hi": 4.338913, ...}}
  const record: ExportRecord = {
    id: 1,
    vector: vec([2, 3, 4], [4.338913, 2.7755864, 5.0969057]),
    fields: { passage_text: 'Hello world', id: 's1' },
  };
  const batches = await collect(openSearchBulk([record], { index: 'my-nlp-index', field: 'passage_embedding', tokenOf }));
  assert.equal(batches.length, 1);
  const expected =
    '{"index":{"_index":"my-nlp-index","_id":"1"}}\n' +
    '{"passage_text":"Hello world","id":"s1","passage_embedding":{"hi":4.338913,"planets":2.7755864,"planet":5.0969057}}\n';
  assert.equal(batches[0]!.body, expected);
  assert.equal(batches[0]!.contentType, 'application/x-ndjson');
  assert.equal(batches[0]!.documents, 1);
  assert.equal(batches[0]!.bytes, Buffer.byteLength(expected));
  assert.ok(batches[0]!.body.endsWith('\n'), 'the final line of a bulk body must end with a newline');
});

test('OpenSearch: neural_sparse query with query_tokens, as documented', () => {
  const body = openSearchQuery({ vector: vec([2, 3, 4], [4.338913, 2.7755864, 5.0969057]) }, { field: 'passage_embedding', tokenOf });
  assert.deepEqual(JSON.parse(JSON.stringify(body)), {
    query: { neural_sparse: { passage_embedding: { query_tokens: { hi: 4.338913, planets: 2.7755864, planet: 5.0969057 } } } },
  });
});

test('Elasticsearch: sparse_vector query with query_vector, as documented', () => {
  // https://elastic.co/docs/reference/query-languages/query-dsl/query-dsl-sparse-vector-query
  const body = elasticsearchQuery({ vector: vec([], []), tokens: { token1: 0.5, token2: 0.3, token3: 0.2 } }, { field: 'ml.tokens' });
  assert.deepEqual(JSON.parse(JSON.stringify(body)), {
    query: { sparse_vector: { field: 'ml.tokens', query_vector: { token1: 0.5, token2: 0.3, token3: 0.2 }, prune: false } },
  });
});

test('Elasticsearch bulk: create action, no _index when none is given', async () => {
  const [b] = await collect(elasticsearchBulk([{ id: 'd1', vector: vec([1], [1.5]) }], { action: 'create', tokenOf }));
  assert.equal(b!.body, '{"create":{"_id":"d1"}}\n{"sparse":{"hello":1.5}}\n');
});

test('non-positive, subnormal and non-finite weights are dropped (Lucene FeatureField) and reported', () => {
  const warnings: ExportWarning[] = [];
  const record: ExportRecord = { id: 'x', vector: vec([1, 2, 3, 4, 5], [0.25, -1, NaN, 1e-40, Infinity]) };
  const doc = openSearchDocument(record, { tokenOf, onWarning: (w) => warnings.push(w) });
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), { sparse: { hello: 0.25 } });
  assert.deepEqual(warnings, [{ type: 'weights-dropped', id: 'x', count: 4 }]);
  // 2^-126 (Float.MIN_NORMAL) is the smallest weight Lucene takes; it stays.
  const kept = openSearchDocument({ id: 'y', vector: vec([1], [2 ** -126]) }, { tokenOf });
  assert.deepEqual(Object.keys(kept['sparse'] as object), ['hello']);
});

test('Elasticsearch: "." in tokens becomes "__" by default, colliding keys keep the larger weight', () => {
  const warnings: ExportWarning[] = [];
  // indices 5 '.', 6 'e.g', 7 'e__g' (which collides with the rewritten 'e.g'), 8 '##ing'
  const record: ExportRecord = { id: 7, vector: vec([5, 6, 7, 8], [1, 2, 0.5, 3]) };
  const doc = elasticsearchDocument(record, { tokenOf, onWarning: (w) => warnings.push(w) });
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), { sparse: { __: 1, e__g: 2, '##ing': 3 } });
  assert.deepEqual(warnings, [
    { type: 'tokens-renamed', id: 7, count: 2 },
    { type: 'tokens-merged', id: 7, count: 1 },
  ]);
  // The query side applies the same rewrite, so query and index agree.
  const q = elasticsearchQuery({ vector: vec([5], [1]) }, { tokenOf });
  assert.deepEqual(JSON.parse(JSON.stringify(q)), { query: { sparse_vector: { field: 'sparse', query_vector: { __: 1 }, prune: false } } });
  // dotReplacement: null keeps dots (clusters with elastic/elasticsearch#111981).
  const kept = elasticsearchDocument({ id: 1, vector: vec([5, 6], [1, 2]) }, { tokenOf, dotReplacement: null });
  assert.deepEqual(JSON.parse(JSON.stringify(kept)), { sparse: { '.': 1, 'e.g': 2 } });
  // OpenSearch's rank_features has no such rule: dots go through.
  const os = openSearchDocument({ id: 1, vector: vec([5], [1]) }, { tokenOf });
  assert.deepEqual(JSON.parse(JSON.stringify(os)), { sparse: { '.': 1 } });
  const osRenamed = openSearchQuery({ vector: vec([6], [1]) }, { tokenOf, dotReplacement: '_' });
  assert.deepEqual(JSON.parse(JSON.stringify(osRenamed)), { query: { neural_sparse: { sparse: { query_tokens: { e_g: 1 } } } } });
  assert.throws(() => elasticsearchDocument(record, { tokenOf, dotReplacement: 'a.b' }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('decoded record.tokens win over tokenOf; a token named __proto__ stays an ordinary key', () => {
  const tokens = JSON.parse('{"__proto__": 1.25, "word": 0.5}') as Record<string, number>;
  const doc = openSearchDocument({ id: 1, vector: vec([1], [9]), tokens });
  const line = JSON.stringify(doc);
  assert.equal(line, '{"sparse":{"__proto__":1.25,"word":0.5}}');
});

test('a token-keyed export without tokenOf or tokens fails with ERR_INVALID_ARGUMENT', async () => {
  await assert.rejects(collect(openSearchBulk([{ id: 1, vector: vec([1], [1]) }])), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('bad records are named: a field that clashes with the vector field, a missing id, unsorted indices', async () => {
  await assert.rejects(
    collect(openSearchBulk([{ id: 1, vector: vec([1], [1]) }, { id: 'b', vector: vec([1], [1]), fields: { sparse: 1 } }], { tokenOf })),
    (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_INPUT') && /record 1 \(id "b"\)/.test((e as Error).message),
  );
  await assert.rejects(
    collect(openSearchBulk([{ id: '', vector: vec([1], [1]) }], { tokenOf })),
    (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_INPUT') && /record 0/.test((e as Error).message),
  );
  await assert.rejects(
    collect(openSearchBulk([{ id: 3, vector: vec([2, 1], [1, 1]) }], { tokenOf })),
    (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_INPUT') && /ascending/.test((e as Error).message),
  );
});

test('batching by document count and by bytes; batches concatenate to the unbatched body', async () => {
  const records: ExportRecord[] = [1, 2, 3, 4, 5].map((i) => ({ id: `d${i}`, vector: vec([i], [i]) }));
  async function* source(): AsyncGenerator<ExportRecord> {
    for (const r of records) yield r;
  }
  const whole = await collect(openSearchBulk(records, { tokenOf }));
  assert.equal(whole.length, 1);
  assert.equal(whole[0]!.documents, 5);
  const byCount = await collect(openSearchBulk(source(), { tokenOf, maxDocuments: 2 }));
  assert.deepEqual(byCount.map((b) => b.documents), [2, 2, 1]);
  assert.equal(byCount.map((b) => b.body).join(''), whole[0]!.body);
  // Each document is 45-50 bytes: a 60-byte limit forces one per batch, and none is lost.
  const byBytes = await collect(openSearchBulk(records, { tokenOf, maxBytes: 60 }));
  assert.deepEqual(byBytes.map((b) => b.documents), [1, 1, 1, 1, 1]);
  for (const b of byBytes) {
    assert.equal(b.bytes, Buffer.byteLength(b.body));
    assert.equal(b.body.split('\n').length, 3, 'two lines and the final newline');
  }
  await assert.rejects(collect(openSearchBulk(records, { tokenOf, maxDocuments: 0 })), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});
