// SparseEncoder.explain (issue 25): terms with their tokens, input vs expansion, the input token
// that produced each term, and a score broken down by shared term that sums to the model's similarity.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';
import { loadTexts } from './fixture-data.js';

const TEXTS = loadTexts().map((t) => t.text);
const models = new Map<string, SparseEncoder>();

before(async () => {
  for (const name of ['splade-bert', 'inference-free', 'csr', 'splade-bert-sum']) models.set(name, await SparseEncoder.fromPretrained(fixture(name), { threads: 1 }));
});
after(async () => {
  for (const m of models.values()) await m.dispose();
});

test('splade-bert: the vectors are encodeQuery/encodeDocument\'s, contributions sum to the similarity, positions point into the tokens', async () => {
  const m = models.get('splade-bert')!;
  for (const [q, d] of [[TEXTS[0]!, TEXTS[1]!], [TEXTS[2]!, TEXTS[2]!], [TEXTS[3]!, TEXTS[7]!]] as const) {
    const e = await m.explain(q, d);
    const [qv] = await m.encodeQuery([q]);
    const [dv] = await m.encodeDocument([d]);
    assert.deepEqual(e.query.vector, qv);
    assert.deepEqual(e.document!.vector, dv);
    const score = m.similarity([qv!], [dv!])[0]![0]!;
    assert.ok(Math.abs(e.score! - score) <= 1e-5 * Math.max(1, Math.abs(score)));
    const sum = e.contributions!.reduce((a, c) => a + c.contribution, 0);
    assert.ok(Math.abs(sum - score) <= 1e-5 * Math.max(1, Math.abs(score)), `${sum} vs ${score}`);
    for (let i = 1; i < e.contributions!.length; i++) assert.ok(e.contributions![i - 1]!.contribution >= e.contributions![i]!.contribution);
    for (const t of [e.query, e.document!]) {
      assert.equal(t.kind, 'splade');
      const ids = new Set(t.tokens.map((x) => x.id));
      for (let i = 1; i < t.terms.length; i++) assert.ok(t.terms[i - 1]!.weight >= t.terms[i]!.weight);
      for (const term of t.terms) {
        assert.equal(term.source, ids.has(term.index) ? 'input' : 'expansion');
        assert.equal(term.token, m.tokenOf(term.index));
        assert.ok(term.position !== undefined && term.position < t.tokens.length);
      }
      assert.ok(t.terms.some((x) => x.source === 'input') && t.terms.some((x) => x.source === 'expansion'), 'both kinds of terms appear');
    }
  }
  const top = await m.explain(TEXTS[0]!, undefined, { maxActiveDims: 5 });
  assert.equal(top.query.terms.length, 5);
  assert.equal(top.document, undefined);
  await assert.rejects(m.explain(42 as unknown as string), (e) => isSparseEncoderError(e, 'ERR_INVALID_INPUT'));
});

test('inference-free: the query side is a static lookup (every term an input token, found where it is); the document side runs the MLM', async () => {
  const e = await models.get('inference-free')!.explain(TEXTS[0]!, TEXTS[1]!);
  assert.equal(e.query.kind, 'static');
  assert.equal(e.query.route, 'query');
  assert.equal(e.document!.kind, 'splade');
  assert.equal(e.document!.route, 'document');
  for (const term of e.query.terms) {
    assert.equal(term.source, 'input');
    assert.equal(e.query.tokens[term.position!]!.id, term.index);
  }
});

test('CSR terms are latent dimensions; sum pooling names no one producing token', async () => {
  const csr = await models.get('csr')!.explain(TEXTS[0]!, TEXTS[1]!);
  assert.ok(csr.query.terms.length > 0 && csr.query.terms.every((t) => t.source === 'latent' && t.position === undefined));
  const sum = await models.get('splade-bert-sum')!.explain(TEXTS[0]!);
  assert.ok(sum.query.terms.length > 0 && sum.query.terms.every((t) => t.position === undefined));
});
