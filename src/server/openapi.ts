/**
 * `GET /openapi.json`: an OpenAPI 3.1 description of every route, so clients and gateways can be
 * generated from it. The TEI routes' schemas follow text-embeddings-inference's
 * router/src/http/types.rs (see tei.ts).
 */

const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const body = (schema: object) => ({ required: true, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Error responses by status, all with the body schema `schema`. */
const errors = (schema: string, byStatus: Record<string, string>): Record<string, object> =>
  Object.fromEntries(Object.entries(byStatus).map(([status, description]) => [status, json(ref(schema), description)]));

const ERRORS = errors('Error', {
  '400': 'invalid request',
  '404': 'the server has no model or no index for this route',
  '413': 'request body too large',
  '415': 'not application/json',
  '503': 'overloaded, loading, shutting down, or a worker failed',
});

const TEI_ERRORS = errors('TeiError', {
  '400': 'empty inputs',
  '422': 'validation or tokenizer error (batch too large, input too long, bad field)',
  '424': 'backend error',
  '429': 'overloaded',
  '503': 'unhealthy or loading',
});

const TEI_IDS = { type: 'array', items: { type: 'integer', minimum: 0, maximum: 4294967295 } };
const TEI_INPUT = { oneOf: [{ type: 'string' }, TEI_IDS, { type: 'array', items: { oneOf: [{ type: 'string' }, TEI_IDS] } }] };
const TEI_TEXT_INPUT = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };

export function openApiDocument(version: string): object {
  return {
    openapi: '3.1.0',
    info: { title: 'sparse-encoder', version, description: 'Learned sparse retrieval server: sentence-transformers SparseEncoder models, a sparse index, and text-embeddings-inference-compatible routes.' },
    paths: {
      '/health': { get: { summary: '200 once the model and index are loaded, 503 while loading', responses: { '200': json({ type: 'object', properties: { status: { const: 'ok' } } }), '503': ERRORS['503'] } }, head: { summary: 'as GET, without a body', responses: { '200': { description: 'ready' }, '503': { description: 'loading' } } } },
      '/info': { get: { summary: "the model, index and limits; text-embeddings-inference's Info fields at the top level", responses: { '200': json({ type: 'object' }) } } },
      '/encode': {
        post: {
          summary: 'sparse vectors of texts',
          requestBody: body({ type: 'object', properties: { text: { type: 'string' }, texts: { type: 'array', items: { type: 'string' } }, task: { enum: ['query', 'document', 'plain'], default: 'plain' }, maxActiveDims: { type: 'integer', minimum: 1 }, tokens: { type: 'boolean', default: false }, longDocuments: { enum: ['truncate', 'window'], default: 'truncate', description: 'window: texts longer than the model cut into token windows whose vectors merge by the pooling rule (max; sum without overlap)' }, windowTokens: { type: 'integer', minimum: 1, description: 'tokens per window, special tokens included; default the model maximum' }, stride: { type: 'integer', minimum: 0, default: 0, description: 'tokens shared by consecutive windows' }, explain: { type: 'boolean', default: false, description: 'also `explanations`: each text\'s input tokens and terms (token, weight, input or expansion, the position of the token that produced it)' } } }),
          responses: { '200': json({ type: 'object', properties: { dim: { type: 'integer' }, vectors: { type: 'array', items: ref('Vector') }, explanations: { type: 'array', items: ref('ExplainedText') } } }), ...ERRORS },
        },
      },
      '/search': {
        post: {
          summary: 'top-k documents of the index (exact by default)',
          requestBody: body({ type: 'object', properties: { query: { type: 'string' }, queries: { type: 'array', items: { type: 'string' } }, vector: ref('Vector'), vectors: { type: 'array', items: ref('Vector') }, k: { type: 'integer', default: 10 }, exact: { type: 'boolean', default: true }, fields: { type: 'boolean', default: true }, approximateAlgorithm: { type: 'string', enum: ['auto', 'blocks', 'ranges'], default: 'auto' }, heapFactor: { type: 'number', default: 0.8 }, queryTermCut: { type: 'integer' }, summaryFactor: { type: 'number', default: 1.2 }, explain: { type: 'boolean', default: false, description: "each hit's score broken down by shared term (`contributions`, largest first, summing to the score over the stored weights)" } } }),
          responses: { '200': json({ type: 'object', properties: { results: { type: 'array', items: { type: 'object', properties: { hits: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, score: { type: 'number' }, fields: { type: 'object' }, contributions: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, query: { type: 'number' }, document: { type: 'number' }, contribution: { type: 'number' } } } } } } } } } } } }), ...ERRORS },
        },
      },
      '/explain': {
        post: {
          summary: "what the model does to a query and documents: each text's terms, and each document's score against the query broken down by shared term",
          requestBody: body({ type: 'object', required: ['query'], properties: { query: { type: 'string' }, document: { type: 'string' }, documents: { type: 'array', items: { type: 'string' } }, maxActiveDims: { type: 'integer', minimum: 1 } } }),
          responses: {
            '200': json({ type: 'object', properties: { query: ref('ExplainedText'), documents: { type: 'array', items: { type: 'object', properties: { document: ref('ExplainedText'), score: { type: 'number' }, similarity: { type: 'string' }, contributions: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, token: { type: 'string' }, query: { type: 'number' }, document: { type: 'number' }, contribution: { type: 'number' } } } } } } }, similarityFn: { type: 'string' } } }),
            ...ERRORS,
          },
        },
      },
      '/playground': { get: { summary: 'a self-contained page (no external resource) showing terms, the tokens that produced them, score breakdowns and search; `GET /` from a browser (Accept: text/html) redirects here', responses: { '200': { description: 'text/html' } } } },
      '/similarity': {
        post: {
          summary: "query × document scores with the model's similarity",
          requestBody: body({ type: 'object', required: ['queries', 'documents'], properties: { queries: { type: 'array', items: { type: 'string' } }, documents: { type: 'array', items: { type: 'string' } } } }),
          responses: { '200': json({ type: 'object', properties: { similarity: { type: 'array', items: { type: 'array', items: { type: 'number' } } }, similarityFn: { type: 'string' } } }), ...ERRORS },
        },
      },
      '/embed_sparse': {
        post: {
          summary: "text-embeddings-inference's sparse embedding route; prompt_name query/document also picks a Router model's route",
          requestBody: body(ref('EmbedSparseRequest')),
          responses: { '200': json({ type: 'array', items: { type: 'array', items: ref('SparseValue') } }), ...TEI_ERRORS },
        },
      },
      '/': {
        get: { summary: 'health (as TEI)', responses: { '200': { description: 'ready' }, '503': TEI_ERRORS['503'] } },
        post: { summary: 'alias of /embed_sparse (as TEI for a SPLADE model)', requestBody: body(ref('EmbedSparseRequest')), responses: { '200': json({ type: 'array', items: { type: 'array', items: ref('SparseValue') } }), ...TEI_ERRORS } },
      },
      '/tokenize': {
        post: {
          summary: 'tokens as the model sees them (UTF-8 byte offsets; null for special tokens)',
          requestBody: body({ type: 'object', required: ['inputs'], properties: { inputs: TEI_TEXT_INPUT, add_special_tokens: { type: 'boolean', default: true }, prompt_name: { type: ['string', 'null'] } } }),
          responses: { '200': json({ type: 'array', items: { type: 'array', items: ref('SimpleToken') } }), ...TEI_ERRORS },
        },
      },
      '/decode': {
        post: {
          summary: 'text of token ids',
          requestBody: body({ type: 'object', required: ['ids'], properties: { ids: { oneOf: [{ type: 'array', items: { type: 'integer' } }, { type: 'array', items: { type: 'array', items: { type: 'integer' } } }] }, skip_special_tokens: { type: 'boolean', default: true } } }),
          responses: { '200': json({ type: 'array', items: { type: 'string' } }), ...TEI_ERRORS },
        },
      },
      '/ping': { get: { summary: 'health (as TEI)', responses: { '200': { description: 'ready' } } } },
      '/metrics': { get: { summary: 'Prometheus text format', responses: { '200': { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'this document', responses: { '200': json({ type: 'object' }) } } },
    },
    components: {
      schemas: {
        ExplainedText: {
          type: 'object',
          properties: {
            text: { type: 'string' },
            route: { type: 'string' },
            kind: { enum: ['splade', 'static', 'csr'] },
            tokens: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, token: { type: 'string' } } } },
            vector: ref('Vector'),
            terms: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, token: { type: 'string' }, weight: { type: 'number' }, source: { enum: ['input', 'expansion', 'latent'] }, position: { type: 'integer', description: 'the position in tokens of the input token that produced the term (max pooling: its logit won; a static route: the token itself)' } } } },
            activeDims: { type: 'integer' },
          },
        },
        Vector: { type: 'object', required: ['indices', 'values'], properties: { indices: { type: 'array', items: { type: 'integer' } }, values: { type: 'array', items: { type: 'number' } }, tokens: { type: 'array', items: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] } } } },
        Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
        TeiError: { type: 'object', properties: { error: { type: 'string' }, error_type: { enum: ['Unhealthy', 'Backend', 'Overloaded', 'Validation', 'Tokenizer', 'Empty'] } } },
        EmbedSparseRequest: { type: 'object', required: ['inputs'], properties: { inputs: TEI_INPUT, truncate: { type: ['boolean', 'null'], description: "default: the server's auto_truncate" }, truncation_direction: { enum: ['right', 'Right', 'left', 'Left'], default: 'right' }, prompt_name: { type: ['string', 'null'] } } },
        SparseValue: { type: 'object', required: ['index', 'value'], properties: { index: { type: 'integer' }, value: { type: 'number' } } },
        SimpleToken: { type: 'object', properties: { id: { type: 'integer' }, text: { type: 'string' }, special: { type: 'boolean' }, start: { type: ['integer', 'null'] }, stop: { type: ['integer', 'null'] } } },
      },
    },
  };
}
