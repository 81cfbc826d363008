import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli } from '../helpers/cli.js';
import { fixture } from '../helpers/paths.js';

const TMP = mkdtempSync(join(tmpdir(), 'export-cli-'));
after(() => rmSync(TMP, { recursive: true, force: true }));


// BERT uncased vocab.txt of the fixtures: index 1012 is ".", 2075 "##ing", 4442 "cells" (line = index + 1).
const VOCAB_TXT = join(fixture('splade-bert'), 'vocab.txt');

function writeVectors(name: string, lines: unknown[]): string {
  const p = join(TMP, name);
  writeFileSync(p, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return p;
}

const WITH_TOKENS = [
  { id: 'd1', indices: [2075, 4442], values: [1.5, 0.25], tokens: { cells: 0.25, '##ing': 1.5 }, title: 'first' },
  { id: 'd2', indices: [1012], values: [2], tokens: { '.': 2 } },
];

test('opensearch: JSONL with tokens → _bulk NDJSON file; extra keys become fields', async () => {
  const input = writeVectors('tok.jsonl', WITH_TOKENS);
  const outPath = join(TMP, 'os.ndjson');
  const r = await cli(['export', '--format', 'opensearch', '--vectors', input, '--output', outPath, '--index-name', 'my-index']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(
    readFileSync(outPath, 'utf8'),
    '{"index":{"_index":"my-index","_id":"d1"}}\n{"title":"first","sparse":{"cells":0.25,"##ing":1.5}}\n' +
      '{"index":{"_index":"my-index","_id":"d2"}}\n{"sparse":{".":2}}\n',
  );
});

test('elasticsearch with --vocab vocab.txt: tokens from the vocabulary, "." → "__", reported on stderr', async () => {
  const input = writeVectors('notok.jsonl', [
    { id: 1, indices: [1012, 2075, 4442], values: [0.5, 1.25, -3] },
    { id: 2, indices: [4442], values: [1] },
  ]);
  const r = await cli(['export', '--format', 'elasticsearch', '--vectors', input, '--vocab', VOCAB_TXT]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    '{"index":{"_index":"corpus","_id":"1"}}\n{"sparse":{"__":0.5,"##ing":1.25}}\n{"index":{"_index":"corpus","_id":"2"}}\n{"sparse":{"cells":1}}\n',
  );
  assert.match(r.stderr, /dropped 1 non-positive weights \(1 of 2 lines\)/);
  assert.match(r.stderr, /replaced '\.' in 1 tokens with '__'/);
  const kept = await cli(['export', '--format', 'elasticsearch', '--vectors', input, '--vocab', VOCAB_TXT, '--keep-dots']);
  assert.match(kept.stdout, /\{"sparse":\{".":0.5,"##ing":1.25\}\}/);
});

test('--vocab with the model folder decodes the same tokens as its vocab.txt', async () => {
  const input = writeVectors('model.jsonl', [{ id: 'q', indices: [1012, 2075, 4442], values: [0.5, 1.25, 3] }]);
  const r = await cli(['export', '--format', 'vespa', '--vectors', input, '--vocab', fixture('splade-bert'), '--index-name', 'passage']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{"put":"id:passage:passage::q","fields":{"sparse":{"cells":{".":0.5,"##ing":1.25,"cells":3}}}}\n');
});

test('qdrant and milvus from stdin: one request body per line, batched', async () => {
  const stdin = WITH_TOKENS.map((l) => JSON.stringify(l)).join('\n') + '\n';
  const q = await cli(['export', '--format', 'qdrant', '--batch-docs', '1'], stdin);
  assert.equal(q.code, 0, q.stderr);
  const bodies = q.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { points: Array<{ id: string; payload: Record<string, unknown> }> });
  assert.equal(bodies.length, 2);
  assert.match(bodies[0]!.points[0]!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(bodies[0]!.points[0]!.payload, { title: 'first', doc_id: 'd1' });
  const m = await cli(['export', '--format', 'milvus', '--index-name', 'c', '--id-field', 'pk'], stdin);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(m.stdout, '{"collectionName":"c","data":[{"title":"first","pk":"d1","sparse":{"2075":1.5,"4442":0.25}},{"pk":"d2","sparse":{"1012":2}}]}\n');
});

test('--queries: one query body per line, ids optional', async () => {
  const stdin = JSON.stringify({ indices: [4442], values: [0.5], tokens: { cells: 0.5 } }) + '\n';
  const r = await cli(['export', '--format', 'opensearch', '--queries', '--field', 'passage_embedding'], stdin);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{"query":{"neural_sparse":{"passage_embedding":{"query_tokens":{"cells":0.5}}}}}\n');
  const e = await cli(['export', '--format', 'elasticsearch', '--queries'], stdin);
  assert.equal(e.stdout, '{"query":{"sparse_vector":{"field":"sparse","query_vector":{"cells":0.5},"prune":false}}}\n');
  const v = await cli(['export', '--format', 'vespa', '--queries', '--index-name', 'passage', '--limit', '3'], stdin);
  assert.equal(v.code, 0, v.stderr);
  assert.deepEqual(JSON.parse(v.stdout), { yql: 'select * from passage where true', ranking: 'sparse', 'input.query(q)': '{"cells":0.5}', hits: 3 });
  const m = await cli(['export', '--format', 'milvus', '--queries', '--index-name', 'c'], stdin);
  assert.equal(JSON.parse(m.stdout).data[0]['4442'], 0.5);
  const p = await cli(['export', '--format', 'pgvector', '--queries', '--dim', '30522', '--limit', '5'], stdin);
  assert.equal(p.stdout, "SELECT id, -(embedding <#> '{4443:0.5}/30522'::sparsevec) AS score FROM corpus ORDER BY embedding <#> '{4443:0.5}/30522'::sparsevec LIMIT 5;\n");
});

test('opensearch queries over 64 are clamped and counted on stderr; --over-weight rescale; --tokens as [token, weight] pairs', async () => {
  const stdin = JSON.stringify({ indices: [2075, 4442], values: [100, 2], tokens: [['##ing', 100], ['cells', 2]] }) + '\n';
  const c = await cli(['export', '--format', 'opensearch', '--queries'], stdin);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, '{"query":{"neural_sparse":{"sparse":{"query_tokens":{"##ing":64,"cells":2}}}}}\n');
  assert.match(c.stderr, /clamped 1 query weights above 64 to 64/);
  const r = await cli(['export', '--format', 'opensearch', '--queries', '--over-weight', 'rescale'], stdin);
  assert.equal(r.stdout, '{"query":{"neural_sparse":{"sparse":{"query_tokens":{"##ing":64,"cells":1.28}}}}}\n');
  const ids = await cli(['export', '--format', 'opensearch', '--field-type', 'sparse_vector', '--index-name', 'ann'], JSON.stringify({ id: 'd', indices: [2075], values: [1.5] }) + '\n');
  assert.equal(ids.stdout, '{"index":{"_index":"ann","_id":"d"}}\n{"sparse":{"2075":1.5}}\n');
  const bad = await cli(['export', '--format', 'qdrant', '--over-weight', 'clamp'], stdin);
  assert.equal(bad.code, 2);
});

test('pgvector: COPY rows with 1-based indices and escaped ids; --mapping prints the SQL; the dimension is required', async () => {
  const stdin = [{ id: 'a\tb', indices: [0, 4442], values: [0.5, 2] }, { id: 7, indices: [], values: [] }].map((l) => JSON.stringify(l)).join('\n') + '\n';
  const r = await cli(['export', '--format', 'pgvector', '--vocab', VOCAB_TXT], stdin);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'a\\tb\t{1:0.5,4443:2}/30522\n7\t{}/30522\n');
  const noDim = await cli(['export', '--format', 'pgvector'], stdin);
  assert.equal(noDim.code, 2);
  assert.match(noDim.stderr, /needs --dim <n> or --vocab/);
  const sql = await cli(['export', '--format', 'pgvector', '--mapping', '--dim', '30522', '--index-name', 'docs']);
  assert.equal(sql.stdout, 'CREATE EXTENSION IF NOT EXISTS vector;\nCREATE TABLE docs (id text PRIMARY KEY, embedding sparsevec(30522) NOT NULL);\nCREATE INDEX ON docs USING hnsw (embedding sparsevec_ip_ops);\n');
  const es = await cli(['export', '--format', 'elasticsearch', '--mapping', '--index-name', 'my-index']);
  assert.equal(es.stdout, 'PUT /my-index\n' + JSON.stringify({ mappings: { properties: { sparse: { type: 'sparse_vector', index_options: { prune: false } } } } }, null, 2) + '\n');
});

test('bad input lines: the error names the file and line', async () => {
  const input = writeVectors('bad.jsonl', [WITH_TOKENS[0], { id: 'x', indices: [1, 1], values: [1, 2], tokens: {} }]);
  const r = await cli(['export', '--format', 'opensearch', '--vectors', input]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.jsonl:2: .*appears twice \[ERR_INVALID_INPUT\]/);
  const notJson = writeVectors('notjson.jsonl', [WITH_TOKENS[0], '', '{oops']);
  const r2 = await cli(['export', '--format', 'qdrant', '--vectors', notJson]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /notjson\.jsonl:3: not valid JSON \[ERR_INVALID_INPUT\]/);
  const noId = await cli(['export', '--format', 'milvus'], '{"indices":[1],"values":[1]}\n');
  assert.match(noId.stderr, /stdin:1: missing "id"/);
  const overflow = await cli(['export', '--format', 'milvus'], '{"id":1,"indices":[1],"values":[1],"score":1e309}\n');
  assert.match(overflow.stderr, /stdin:1: "score" holds a number beyond the range of a double/);
  const outOfVocab = await cli(['export', '--format', 'vespa', '--vocab', VOCAB_TXT], '{"id":1,"indices":[30522],"values":[1]}\n');
  assert.match(outOfVocab.stderr, /stdin:1: .*outside \[0, 30522\)/);
  const noTokens = await cli(['export', '--format', 'opensearch'], '{"id":1,"indices":[1],"values":[1]}\n');
  assert.equal(noTokens.code, 2);
  assert.match(noTokens.stderr, /stdin:1: no "tokens".*--vocab.*\[ERR_USAGE\]/);
});

test('usage errors exit 2 with one line', async () => {
  const r = await cli(['export', '--format', 'solr']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /--format must be one of opensearch, elasticsearch, qdrant, vespa, milvus, pgvector, got 'solr' \[ERR_USAGE\]/);
  const missing = await cli(['export', '--format', 'qdrant', '--vectors', join(TMP, 'nope.jsonl')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /ERR_FILE_NOT_FOUND/);
  const unwritable = await cli(['export', '--format', 'qdrant', '--output', join(TMP, 'no-such-dir', 'out.jsonl')], JSON.stringify(WITH_TOKENS[0]) + '\n');
  assert.equal(unwritable.code, 1);
  assert.match(unwritable.stderr, /cannot write .*no-such-dir/);
  const help = await cli(['export', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: sparse-encoder export/);
});
