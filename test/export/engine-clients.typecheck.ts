/*
 * Compile-time check, not a test file: the official Node clients (devDependencies) accept our bodies
 * as they are. `npm run build` (and so `npm test` and CI) type-checks this file against the
 * clients' published types; a body shape they reject fails the build. Nothing here runs.
 */
import type { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import type { Client as OpenSearchClient } from '@opensearch-project/opensearch';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { elasticsearchBulk, elasticsearchQuery, openSearchDocument, openSearchQuery } from '../../src/export/lucene-engines.js';
import { qdrantPoint, qdrantQuery } from '../../src/export/qdrant.js';
import type { ExportRecord } from '../../src/export/types.js';

export async function elasticsearchExample(client: ElasticsearchClient, records: ExportRecord[], tokenOf: (i: number) => string): Promise<void> {
  // _bulk takes our NDJSON body as it is.
  for await (const batch of elasticsearchBulk(records, { index: 'corpus', tokenOf })) {
    await client.bulk({ body: batch.body });
  }
  const body = elasticsearchQuery({ vector: records[0]!.vector }, { tokenOf });
  await client.search({ index: 'corpus', query: body.query });
}

export async function openSearchExample(client: OpenSearchClient, records: ExportRecord[], tokenOf: (i: number) => string): Promise<void> {
  // opensearch-js types its bulk body as an array of action and document objects.
  const operations = records.flatMap((r) => [{ index: { _index: 'corpus', _id: String(r.id) } }, openSearchDocument(r, { tokenOf })]);
  await client.bulk({ body: operations });
  const body = openSearchQuery({ vector: records[0]!.vector }, { tokenOf });
  await client.search({ index: 'corpus', body });
}

export async function qdrantExample(client: QdrantClient, records: ExportRecord[]): Promise<void> {
  await client.upsert('corpus', { points: records.map((r) => qdrantPoint(r)) });
  await client.query('corpus', qdrantQuery({ vector: records[0]!.vector }, { limit: 10 }));
}
