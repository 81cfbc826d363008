import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vespaDocumentId, vespaFeed, vespaPut } from '../../src/export/vespa.js';
import { milvusInsert, milvusRow } from '../../src/export/milvus.js';
import type { ExportRecord, ExportWarning } from '../../src/export/types.js';
import { collect, vec } from './helpers.js';
import { isSparseEncoderError } from '../../src/errors.js';

const VOCAB = ['a', 'b', 'cells', 'values'];
const tokenOf = (i: number): string => VOCAB[i]!;

test('Vespa: put operation with the mapped-tensor cells short form, as documented', () => {
  // Document JSON format: {"put": "id:mynamespace:music::123", "fields": {"title": "Best of Bob Dylan"}}
  // and for a single mapped dimension "tensorfield": {"cells": {"a": 2.0, "b": 3.0}}.
  const put = vespaPut(
    { id: 123, vector: vec([0, 1], [2, 3]), fields: { title: 'Best of Bob Dylan' } },
    { namespace: 'mynamespace', documentType: 'music', field: 'tensorfield', tokenOf },
  );
  assert.equal(JSON.stringify(put), '{"put":"id:mynamespace:music::123","fields":{"title":"Best of Bob Dylan","tensorfield":{"cells":{"a":2,"b":3}}}}');
});

test('Vespa: tokens that spell the JSON keywords stay labels inside "cells"; negatives stay, NaN drops', () => {
  const warnings: ExportWarning[] = [];
  const put = vespaPut({ id: 'd', vector: vec([1, 2, 3], [NaN, -1.5, 0.25]) }, { tokenOf, onWarning: (w) => warnings.push(w) });
  assert.deepEqual(JSON.parse(JSON.stringify(put)), { put: 'id:doc:doc::d', fields: { sparse: { cells: { cells: -1.5, values: 0.25 } } } });
  assert.deepEqual(warnings, [{ type: 'weights-dropped', id: 'd', count: 1 }]);
});

test('Vespa: ids, JSONL feed, bad namespace', async () => {
  assert.equal(vespaDocumentId('a::b/c', { documentType: 'passage', namespace: 'msmarco' }), 'id:msmarco:passage::a::b/c');
  assert.throws(() => vespaDocumentId('x', { documentType: 'a:b' }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
  const [b] = await collect(vespaFeed([{ id: 1, vector: vec([0], [1]), tokens: { z: 1 } }, { id: 2, vector: vec([1], [1]) }], { tokenOf }));
  assert.equal(b!.body, '{"put":"id:doc:doc::1","fields":{"sparse":{"cells":{"z":1}}}}\n{"put":"id:doc:doc::2","fields":{"sparse":{"cells":{"b":1}}}}\n');
});

test('Milvus: row in the documented dict form {dimension_index: value}', () => {
  // https://milvus.io/docs/sparse_vector.md: {2: 0.33, 98: 0.72, ...}; JSON keys are strings.
  const row = milvusRow({ id: 1, vector: vec([2, 98], [0.33, 0.72]) });
  assert.equal(JSON.stringify(row), '{"id":1,"sparse":{"2":0.33,"98":0.72}}');
});

test('Milvus: insert bodies carry collectionName; negative and NaN weights dropped; index 2^32-1 refused', async () => {
  const warnings: ExportWarning[] = [];
  const records: ExportRecord[] = [
    { id: 'a', vector: vec([1, 2, 3], [-1, NaN, 0.5]), fields: { text: 'x' } },
    { id: 'b', vector: vec([7], [1]) },
  ];
  const batches = await collect(milvusInsert(records, { collectionName: 'corpus', maxDocuments: 1, onWarning: (w) => warnings.push(w) }));
  assert.deepEqual(
    batches.map((b) => b.body),
    ['{"collectionName":"corpus","data":[{"text":"x","id":"a","sparse":{"3":0.5}}]}', '{"collectionName":"corpus","data":[{"id":"b","sparse":{"7":1}}]}'],
  );
  assert.deepEqual(warnings, [{ type: 'weights-dropped', id: 'a', count: 2 }]);
  assert.throws(() => milvusRow({ id: 1, vector: vec([0xffffffff], [1]) }), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'));
  await assert.rejects(collect(milvusInsert(records, {} as never)), (e: unknown) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});
