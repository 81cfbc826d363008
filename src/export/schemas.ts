import { SparseEncoderError } from '../errors.js';
import type { OpenSearchFieldType } from './lucene-engines.js';
import { pgvectorSchema } from './pgvector.js';
import type { ExportFormat } from './types.js';
import { identifier } from './vespa.js';

/*
 * The index / collection each engine needs before our bulk bodies load, with the settings that keep
 * its scores equal to the exact dot product where the engine allows it.
 *
 * Sources:
 * - OpenSearch `rank_features`: https://docs.opensearch.org/latest/vector-search/ai-search/neural-sparse-with-raw-vectors
 * - OpenSearch `sparse_vector` (3.3+): `settings.index.sparse: true` and `method: {name: "seismic",
 *   parameters: {n_postings, cluster_ratio, summary_prune_ratio, approximate_threshold,
 *   quantization_ceiling_search, quantization_ceiling_ingest}}` — documentation-website
 *   `_mappings/supported-field-types/sparse-vector.md`. Weights are byte-quantized up to
 *   `quantization_ceiling_ingest` (default 3), so larger document weights saturate.
 * - Elasticsearch `sparse_vector` with `index_options: {prune: false}` (8.19+/9.1+; older clusters
 *   reject `index_options`, hence `indexOptions: false`) —
 *   https://elastic.co/docs/reference/elasticsearch/mapping-reference/sparse-vector
 * - Qdrant: `PUT /collections/{name}` `{"sparse_vectors": {"<name>": {"modifier": "idf"}}}`; the IDF
 *   modifier (Qdrant 1.10+) is for BM25-style term-frequency vectors, never for SPLADE weights —
 *   https://qdrant.tech/documentation/concepts/indexing/ (sparse vector index, IDF modifier).
 * - Milvus RESTful v2 `POST /v2/vectordb/collections/create` with a `SparseFloatVector` field and a
 *   `SPARSE_INVERTED_INDEX` / `IP` index — https://milvus.io/docs/sparse_vector.md.
 * - Vespa: a `tensor<float>(t{})` attribute and a rank profile `sum(query(q) * attribute(f))` —
 *   https://docs.vespa.ai/en/reference/schemas/schemas.html (rank-profile inputs, first-phase).
 */

/** SEISMIC build parameters of an OpenSearch `sparse_vector` field (all optional; the engine has defaults). */
export interface SeismicIndexParameters {
  n_postings?: number;
  cluster_ratio?: number;
  summary_prune_ratio?: number;
  approximate_threshold?: number;
  quantization_ceiling_search?: number;
  quantization_ceiling_ingest?: number;
}

/** Options of {@link engineSchema}. */
export interface EngineSchemaOptions {
  /** Index / collection / table / document type name. Default `'corpus'`. */
  name?: string;
  /** The sparse field / vector name / column. Default `'sparse'` (pgvector: `'embedding'`). */
  field?: string;
  /** The vectors' dimension (vocabulary size). Required for pgvector. */
  dim?: number;
  /** OpenSearch: `rank_features` or `sparse_vector`. Default `'rank_features'`. */
  fieldType?: OpenSearchFieldType;
  /** OpenSearch `sparse_vector`: SEISMIC parameters. Default: none. */
  seismic?: SeismicIndexParameters;
  /** Elasticsearch: write `index_options: {prune: false}` (8.19+/9.1+). Default true. */
  indexOptions?: boolean;
  /** Qdrant: the `idf` modifier, for BM25-style vectors only. Default false. */
  idfModifier?: boolean;
  /** Milvus: the primary key field and its type. Default `'id'`, `'VarChar'` (max length 512). */
  idField?: string;
  idType?: 'VarChar' | 'Int64';
  /** pgvector: add the HNSW index (vectors up to 1,000 non-zeros). Default true. */
  hnsw?: boolean;
}

/** What to send: an HTTP request for the engines with a REST API, a file or script otherwise. */
export type EngineSchema =
  | { kind: 'request'; method: 'PUT' | 'POST'; path: string; body: Record<string, unknown> }
  | { kind: 'text'; language: 'vespa-schema' | 'sql'; text: string };

/** The index mapping / collection body / schema for `format`. */
export function engineSchema(format: ExportFormat, options: EngineSchemaOptions = {}): EngineSchema {
  const name = options.name ?? 'corpus';
  if (typeof name !== 'string' || name === '' || /[\s/\\?#"*<>|,]/.test(name)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `name must be a non-empty index name, got ${JSON.stringify(name)}`);
  const field = options.field ?? (format === 'pgvector' ? 'embedding' : 'sparse');
  if (typeof field !== 'string' || field === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'field must be a non-empty string');
  const path = `/${encodeURIComponent(name)}`;
  switch (format) {
    case 'opensearch': {
      if ((options.fieldType ?? 'rank_features') === 'rank_features') {
        if (options.seismic !== undefined) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', "seismic parameters apply to fieldType 'sparse_vector' only");
        return { kind: 'request', method: 'PUT', path, body: { mappings: { properties: { [field]: { type: 'rank_features' } } } } };
      }
      const method: Record<string, unknown> = { name: 'seismic' };
      if (options.seismic !== undefined) method['parameters'] = positiveNumbers(options.seismic, 'seismic');
      return { kind: 'request', method: 'PUT', path, body: { settings: { index: { sparse: true } }, mappings: { properties: { [field]: { type: 'sparse_vector', method } } } } };
    }
    case 'elasticsearch': {
      const mapping: Record<string, unknown> = { type: 'sparse_vector' };
      if (options.indexOptions ?? true) mapping['index_options'] = { prune: false };
      return { kind: 'request', method: 'PUT', path, body: { mappings: { properties: { [field]: mapping } } } };
    }
    case 'qdrant':
      return {
        kind: 'request',
        method: 'PUT',
        path: `/collections${path}`,
        body: { sparse_vectors: { [field]: options.idfModifier === true ? { modifier: 'idf' } : {} } },
      };
    case 'milvus': {
      const idField = options.idField ?? 'id';
      const idType = options.idType ?? 'VarChar';
      if (idType !== 'VarChar' && idType !== 'Int64') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `idType must be 'VarChar' or 'Int64', got ${String(idType)}`);
      const idSpec: Record<string, unknown> = { fieldName: idField, dataType: idType, isPrimary: true };
      if (idType === 'VarChar') idSpec['elementTypeParams'] = { max_length: 512 };
      return {
        kind: 'request',
        method: 'POST',
        path: '/v2/vectordb/collections/create',
        body: {
          collectionName: name,
          schema: { autoId: false, enableDynamicField: true, fields: [idSpec, { fieldName: field, dataType: 'SparseFloatVector' }] },
          indexParams: [{ fieldName: field, indexName: `${field}_index`, metricType: 'IP', params: { index_type: 'SPARSE_INVERTED_INDEX' } }],
        },
      };
    }
    case 'vespa': {
      const type = identifier(name, 'name');
      const f = identifier(field, 'field');
      const text = [
        `schema ${type} {`,
        `    document ${type} {`,
        `        field ${f} type tensor<float>(t{}) {`,
        '            indexing: attribute | summary',
        '        }',
        '    }',
        '    rank-profile sparse {',
        '        inputs {',
        '            query(q) tensor<float>(t{})',
        '        }',
        '        first-phase {',
        `            expression: sum(query(q) * attribute(${f}))`,
        '        }',
        '    }',
        '}',
        '',
      ].join('\n');
      return { kind: 'text', language: 'vespa-schema', text };
    }
    case 'pgvector': {
      if (options.dim === undefined) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'pgvector needs dim (the vocabulary size) for sparsevec(dim)');
      return { kind: 'text', language: 'sql', text: pgvectorSchema({ dim: options.dim, table: name, column: field, hnsw: options.hnsw ?? true }) };
    }
    default:
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `unknown format ${String(format)}`);
  }
}

function positiveNumbers(p: object, what: string): Record<string, number> {
  if (p === null || typeof p !== 'object') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${what} must be an object`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(p)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${what}.${k} must be a non-negative number, got ${String(v)}`);
    out[k] = v;
  }
  return out;
}

/** `PUT /corpus` + pretty JSON (the Dev Tools console form), or the text itself. */
export function formatSchema(schema: EngineSchema): string {
  return schema.kind === 'request' ? `${schema.method} ${schema.path}\n${JSON.stringify(schema.body, null, 2)}\n` : schema.text;
}
