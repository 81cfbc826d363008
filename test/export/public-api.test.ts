import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../../src/index.js';

test('the export functions are part of the public surface', () => {
  const names = [
    'openSearchBulk', 'openSearchDocument', 'openSearchQuery',
    'elasticsearchBulk', 'elasticsearchDocument', 'elasticsearchQuery',
    'qdrantUpsert', 'qdrantPoint', 'qdrantPointId', 'qdrantQuery',
    'vespaFeed', 'vespaPut', 'vespaDocumentId',
    'milvusInsert', 'milvusRow', 'uuidV5',
  ];
  for (const n of names) assert.equal(typeof (api as Record<string, unknown>)[n], 'function', n);
  assert.equal(api.UUID_NAMESPACE_URL, '6ba7b811-9dad-11d1-80b4-00c04fd430c8');
});
