import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import { vector as pgvectorExtension } from '@electric-sql/pglite-pgvector';
import { PGVECTOR_HNSW_MAX_NNZ, PGVECTOR_MAX_NNZ, pgvectorCopy, pgvectorLiteral, pgvectorQuery, pgvectorRow, pgvectorSchema } from '../../src/export/pgvector.js';
import type { ExportWarning } from '../../src/export/types.js';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA } from '../helpers/paths.js';
import { assertSameRanking } from '../inverted-index/brute-force.js';
import { tokenVector, toySet } from '../inverted-index/toy-data.js';
import { collect, vec } from './helpers.js';

// Real pgvector (the extension compiled to WebAssembly, run by PGlite): what our rows and queries
// mean is decided by pgvector's own parser and operators, not by us.
let pg: PGlite;
before(async () => {
  pg = await PGlite.create({ extensions: { vector: pgvectorExtension } });
});
after(async () => {
  await pg?.close();
});

const DIM = 30522;

test('pgvector: our COPY rows load into real pgvector and ORDER BY <#> ranks exactly as SparseIndex', async () => {
  const { docs, queries } = toySet();
  // Ids that COPY's text format must escape, so escaping is exercised on real rows.
  const ids = docs.map((d, i) => (i === 3 ? 'tab\there' : i === 4 ? 'back\\slash' : i === 5 ? 'new\nline' : d.id));
  const records = docs.map((d, i) => ({ id: ids[i]!, vector: d.vector }));
  await pg.exec(pgvectorSchema({ dim: DIM, table: 'toy', hnsw: false }));
  const copy = (await collect(pgvectorCopy(records, { dim: DIM }))).map((b) => b.body).join('');
  await pg.query('COPY toy (id, embedding) FROM \'/dev/blob\'', [], { blob: new Blob([copy]) });
  const count = await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM toy');
  assert.equal(count.rows[0]!.n, docs.length);
  // The empty document survives as an empty sparsevec.
  const empty = docs.findIndex((d) => d.vector.indices.length === 0);
  assert.ok(empty >= 0, 'the toy set has an empty document');
  const stored = await pg.query<{ e: string }>('SELECT embedding::text AS e FROM toy WHERE id = $1', [ids[empty]]);
  assert.equal(stored.rows[0]!.e, `{}/${DIM}`);

  const index = await SparseIndex.build(records.map((r) => ({ id: r.id, vector: r.vector })));
  try {
    for (const q of queries) {
      const expected = index.search(q.vector, { k: 10 });
      const sql = pgvectorQuery({ vector: q.vector }, { dim: DIM, table: 'toy', limit: 10 });
      const rows = (await pg.query<{ id: string; score: number }>(sql)).rows;
      // pgvector ranks every row; the index returns only documents sharing a term (score > 0).
      // Beyond those, pgvector's rows all score 0.
      const got = rows.filter((r) => r.score > 0);
      assert.ok(rows.slice(got.length).every((r) => r.score === 0), `query ${q.id}: rows after the matches score 0`);
      assert.deepEqual(
        got.map((r) => r.id),
        expected.map((h) => h.id),
        `query ${q.id}: same top-10 ids in the same order`,
      );
      for (let i = 0; i < got.length; i++) {
        assert.ok(Math.abs(got[i]!.score - expected[i]!.score) <= 1e-4 * Math.abs(expected[i]!.score), `query ${q.id} rank ${i}: ${got[i]!.score} vs ${expected[i]!.score}`);
      }
    }
  } finally {
    index.dispose();
  }
});

test('pgvector: on 1,500 real SPLADE++ vectors, ORDER BY <#> LIMIT 10 returns SparseIndex\'s exact top-10', async () => {
  // MS MARCO dev queries encoded by SPLADE++ ED (Anserini, weights x1000): 1,500 serve as
  // documents, 40 others as queries; every query here matches at least 10 of them.
  const lines = readFileSync(join(DATA, 'splade-samples', 'msmarco-dev', 'queries.splade-pp-ed.x1000.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
  const vectors = lines.slice(0, 1540).map((l) => {
    const r = JSON.parse(l) as { _id: string; vector: Record<string, number> };
    return { id: r._id, vector: tokenVector(Object.fromEntries(Object.entries(r.vector).map(([t, w]) => [t, w / 1000]))) };
  });
  const docs = vectors.slice(0, 1500);
  await pg.exec(pgvectorSchema({ dim: DIM, table: 'marco', hnsw: false }));
  const copy = (await collect(pgvectorCopy(docs, { dim: DIM }))).map((b) => b.body).join('');
  await pg.query("COPY marco (id, embedding) FROM '/dev/blob'", [], { blob: new Blob([copy]) });
  const index = await SparseIndex.build(docs);
  try {
    for (const q of vectors.slice(1500)) {
      const expected = index.search(q.vector, { k: 10 });
      assert.equal(expected.length, 10, `query ${q.id} matches at least 10 documents`);
      const got = (await pg.query<{ id: string; score: number }>(pgvectorQuery({ vector: q.vector }, { dim: DIM, table: 'marco', limit: 10 }))).rows;
      // float32 sums in two orders: equal to 1e-5, near-ties may swap.
      assertSameRanking(got, expected, 1e-5, `query ${q.id}`);
    }
  } finally {
    index.dispose();
  }
});

test('pgvector: literal is 1-based with the dimension; pgvector reads back the same vector', async () => {
  const v = vec([0, 2, 30521], [0.5, 1.25, 3.1415927]);
  const lit = pgvectorLiteral(v, DIM);
  assert.equal(lit, '{1:0.5,3:1.25,30522:3.1415927}/30522');
  const r = await pg.query<{ e: string }>('SELECT $1::sparsevec::text AS e', [lit]);
  assert.equal(r.rows[0]!.e, '{1:0.5,3:1.25,30522:3.1415927}/30522');
  assert.throws(() => pgvectorLiteral(vec([5], [1], 10), 5), (e) => isSparseEncoderError(e, 'ERR_DIMENSION_MISMATCH'));
  assert.throws(() => pgvectorLiteral(v, 0), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});

test(`pgvector: over ${PGVECTOR_MAX_NNZ} non-zeros is a coded error naming the document; pgvector itself refuses such a literal`, async () => {
  const n = PGVECTOR_MAX_NNZ + 1;
  const big = vec(Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, () => 1), DIM);
  await assert.rejects(collect(pgvectorCopy([{ id: 'too-long', vector: big }], { dim: DIM })), (e) => {
    return isSparseEncoderError(e, 'ERR_ENGINE_LIMIT') && e.message.includes('"too-long"') && e.details['nonZeros'] === n;
  });
  // The limit is pgvector's, not ours: its parser says so for the same vector.
  const literal = `{${Array.from({ length: n }, (_, i) => `${i + 1}:1`).join(',')}}/${DIM}`;
  await assert.rejects(pg.query('SELECT $1::sparsevec', [literal]), /sparsevec cannot have more than 16000 non-zero elements/);
  const atLimit = vec(Array.from({ length: PGVECTOR_MAX_NNZ }, (_, i) => i), Array.from({ length: PGVECTOR_MAX_NNZ }, () => 1), DIM);
  assert.doesNotThrow(() => pgvectorRow({ id: 'ok', vector: atLimit }, { dim: DIM }));
});

test(`pgvector: over ${PGVECTOR_HNSW_MAX_NNZ} non-zeros warns (HNSW refuses them) but the row loads and scans`, async () => {
  const n = PGVECTOR_HNSW_MAX_NNZ + 1;
  const wide = vec(Array.from({ length: n }, (_, i) => i * 3), Array.from({ length: n }, () => 0.5), DIM);
  const warnings: ExportWarning[] = [];
  const rows = (await collect(pgvectorCopy([{ id: 'wide', vector: wide }, { id: 'narrow', vector: vec([1], [1]) }], { dim: DIM, onWarning: (w) => warnings.push(w) })))
    .map((b) => b.body)
    .join('');
  assert.deepEqual(warnings, [{ type: 'hnsw-unindexable', id: 'wide', count: n }]);
  await pg.exec(pgvectorSchema({ dim: DIM, table: 'wide', hnsw: false }));
  await pg.query("COPY wide (id, embedding) FROM '/dev/blob'", [], { blob: new Blob([rows]) });
  // What the warning predicts: pgvector's HNSW build refuses the wide row.
  await assert.rejects(pg.exec('CREATE INDEX ON wide USING hnsw (embedding sparsevec_ip_ops)'), /sparsevec cannot have more than 1000 non-zero elements for hnsw index/);
});

test('pgvector: the schema with its HNSW index is valid SQL for pgvector, and an indexed query answers', async () => {
  await pg.exec(pgvectorSchema({ dim: DIM, table: 'indexed' }));
  const { docs, queries } = toySet();
  const rows = (await collect(pgvectorCopy(docs, { dim: DIM }))).map((b) => b.body).join('');
  await pg.query("COPY indexed (id, embedding) FROM '/dev/blob'", [], { blob: new Blob([rows]) });
  const indexes = await pg.query<{ def: string }>("SELECT indexdef AS def FROM pg_indexes WHERE tablename = 'indexed'");
  assert.ok(indexes.rows.some((r) => /USING hnsw \(embedding sparsevec_ip_ops\)/.test(r.def)), JSON.stringify(indexes.rows));
  const got = await pg.query<{ id: string }>(pgvectorQuery({ vector: queries[0]!.vector }, { dim: DIM, table: 'indexed', limit: 3 }));
  assert.equal(got.rows.length, 3);
  assert.throws(() => pgvectorQuery({ vector: queries[0]!.vector }, { dim: DIM, table: 'x; DROP TABLE y' }), (e) => isSparseEncoderError(e, 'ERR_INVALID_ARGUMENT'));
});
