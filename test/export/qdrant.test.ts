import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qdrantPoint, qdrantPointId, qdrantQuery, qdrantUpsert } from '../../src/export/qdrant.js';
import { uuidV5, UUID_NAMESPACE_URL } from '../../src/export/uuid.js';
import type { ExportWarning } from '../../src/export/types.js';
import { collect, vec } from './helpers.js';
import { isSparseEncoderError } from '../../src/errors.js';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('upsert body matches the documented sparse vector example', async () => {
  // https://qdrant.tech/documentation/concepts/vectors/ (Sparse Vectors):
  // {"points": [{"id": 129, "vector": {"text": {"indices": [1, 3, 5, 7], "values": [0.1, 0.2, 0.3, 0.4]}}}]}
  const [b] = await collect(qdrantUpsert([{ id: 129, vector: vec([1, 3, 5, 7], [0.1, 0.2, 0.3, 0.4]) }], { vectorName: 'text' }));
  assert.equal(b!.body, '{"points":[{"id":129,"vector":{"text":{"indices":[1,3,5,7],"values":[0.1,0.2,0.3,0.4]}},"payload":{"doc_id":129}}]}');
  assert.equal(b!.contentType, 'application/json');
});

test('query body matches the documented Query API example', () => {
  // POST /collections/{collection_name}/points/query {"query": {"indices": [...], "values": [...]}, "using": "text"}
  const body = qdrantQuery({ vector: vec([1, 3, 5, 7], [0.1, 0.2, 0.3, 0.4]) }, { vectorName: 'text' });
  assert.equal(JSON.stringify(body), '{"query":{"indices":[1,3,5,7],"values":[0.1,0.2,0.3,0.4]},"using":"text"}');
  assert.equal(JSON.stringify(qdrantQuery({ vector: vec([2], [1]) }, { limit: 5 })), '{"query":{"indices":[2],"values":[1]},"using":"sparse","limit":5}');
});

test('uuidV5 agrees with RFC 4122 / Python uuid.uuid5', () => {
  // Python docs: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org') == UUID('886313e1-3b8a-5372-9b90-0c9aee199e5d')
  assert.equal(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  // Computed with CPython 3: uuid.uuid5(uuid.NAMESPACE_URL, 'doc-1') and a non-ASCII name (UTF-8).
  assert.equal(uuidV5('doc-1', UUID_NAMESPACE_URL), '3f622591-baa6-5888-8a4f-6b3813e16a44');
  assert.equal(uuidV5('naïve/ü'), 'c9bd3d22-c59f-54b8-984f-1a24ab339973');
  assert.throws(() => uuidV5('x', 'not-a-uuid'), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test('point ids: unsigned integers and UUIDs pass, other ids map deterministically to a valid UUID', () => {
  assert.equal(qdrantPointId(42), 42);
  assert.equal(qdrantPointId('550e8400-e29b-41d4-a716-446655440000'), '550e8400-e29b-41d4-a716-446655440000');
  const a = qdrantPointId('doc-1');
  assert.equal(a, '3f622591-baa6-5888-8a4f-6b3813e16a44');
  assert.equal(qdrantPointId('doc-1'), a, 'deterministic');
  assert.notEqual(qdrantPointId('doc-2'), a);
  for (const id of ['doc-1', '42', -1, 1.5, 'MS MARCO #7']) assert.match(String(qdrantPointId(id)), UUID_V5, String(id));
  // The original id is kept in the payload, whatever the point id became.
  const p = qdrantPoint({ id: 'doc-1', vector: vec([5], [2]), fields: { title: 't' } }, { idPayloadKey: 'orig' });
  assert.deepEqual(JSON.parse(JSON.stringify(p)), { id: a, vector: { sparse: { indices: [5], values: [2] } }, payload: { title: 't', orig: 'doc-1' } });
});

test('negative weights stay (dot product), non-finite ones are dropped and reported', () => {
  const warnings: ExportWarning[] = [];
  const p = qdrantPoint({ id: 1, vector: vec([1, 2, 3], [-0.5, NaN, 2]) }, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(p.vector['sparse'], { indices: [1, 3], values: [-0.5, 2] });
  assert.deepEqual(warnings, [{ type: 'weights-dropped', id: 1, count: 1 }]);
});

test('batches are separate upsert bodies', async () => {
  const records = [0, 1, 2].map((i) => ({ id: i, vector: vec([i], [1]) }));
  const batches = await collect(qdrantUpsert(records, { maxDocuments: 2 }));
  assert.deepEqual(batches.map((b) => b.documents), [2, 1]);
  for (const b of batches) {
    const parsed = JSON.parse(b.body) as { points: unknown[] };
    assert.equal(parsed.points.length, b.documents);
    assert.equal(b.bytes, Buffer.byteLength(b.body));
  }
  await assert.rejects(collect(qdrantUpsert(records, { idPayloadKey: '' })), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});
