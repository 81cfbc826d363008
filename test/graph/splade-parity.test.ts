import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpladeTransformer } from '../../src/modules/splade-transformer.js';
import type { SparseVector } from '../../src/sparse/vector.js';
import { loadSpladeFixture, vectorMismatch } from './fixture-models.js';
import type { RecordedResult } from './fixture-models.js';

// Recorded token ids of every text go straight into SpladeTransformer; the recorded vectors come
// from the genuine sentence-transformers SparseEncoder (see ../shared/fixtures/ORACLE.md).
const CASES: Array<{ fixture: string; mlmDir?: string; poolingDir?: string; modes: string[] }> = [
  { fixture: 'splade-bert', modes: ['document', 'query'] },
  { fixture: 'splade-bert-sum', modes: ['document', 'query'] },
  { fixture: 'splade-bert-log1p', modes: ['document', 'query'] },
  { fixture: 'splade-distilbert', modes: ['document', 'query'] },
  { fixture: 'splade-roberta', modes: ['document', 'query'] },
  { fixture: 'splade-roberta-bf16', modes: ['document', 'query'] },
  // The query route of this model is a static embedding (no transformer); only the document route runs an MLM.
  { fixture: 'inference-free', mlmDir: 'document_0_MLMTransformer', poolingDir: 'document_1_SpladePooling', modes: ['document'] },
];

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

for (const c of CASES) {
  describe(`SpladeTransformer parity: ${c.fixture}`, () => {
    let model: SpladeTransformer;
    // Same model without the per-run token cap: all 40 rows padded to the longest in one run.
    let oneRun: SpladeTransformer;
    let results: Record<string, RecordedResult[]>;

    before(async () => {
      const fx = await loadSpladeFixture(c.fixture, c.mlmDir, c.poolingDir);
      results = fx.expected.results;
      const opts = { config: fx.config, weights: fx.weights, pooling: fx.pooling, activation: fx.activation, threads: 1 };
      model = await SpladeTransformer.create(opts);
      oneRun = await SpladeTransformer.create({ ...opts, maxTokensPerRun: 1_000_000 });
    });
    after(async () => {
      await model?.dispose();
      await oneRun?.dispose();
    });

    const batchOf = (recs: RecordedResult[]) => ({
      ids: recs.map((r) => r.input_ids),
      ...(recs.every((r) => r.token_type_ids !== undefined) ? { typeIds: recs.map((r) => r.token_type_ids!) } : {}),
    });

    const check = (recs: RecordedResult[], got: SparseVector[], how: string) => {
      assert.equal(got.length, recs.length);
      recs.forEach((r, i) => {
        const bad = vectorMismatch(got[i]!, r);
        assert.equal(bad, undefined, `${how}, text ${r.text_id}: ${bad}`);
        assert.equal(got[i]!.dim, model.dim);
      });
    };

    it('ignores typeIds exactly when the family takes no token types (RoBERTa, DistilBERT)', async () => {
      const recs = results[c.modes[0]!]!.slice(0, 5);
      const ones = { ids: recs.map((r) => r.input_ids), typeIds: recs.map((r) => r.input_ids.map(() => 1)) };
      if (model.usesTokenTypeIds) {
        // BERT's type row 1 differs from row 0, so the vectors must change.
        const got = await model.encode(ones);
        assert.ok(got.some((v, i) => vectorMismatch(v, recs[i]!) !== undefined));
      } else {
        check(recs, await model.encode(ones), 'typeIds of ones');
      }
    });

    for (const mode of c.modes) {
      it(`${mode}: all 40 texts in one padded batch`, async () => {
        const recs = results[mode]!.filter((r) => r.error === undefined);
        assert.equal(recs.length, 40);
        check(recs, await model.encode(batchOf(recs)), 'batch of 40');
        check(recs, await oneRun.encode(batchOf(recs)), 'batch of 40 in a single run');
      });

      it(`${mode}: batches of 7 and one text at a time agree with the reference`, async () => {
        const recs = results[mode]!.filter((r) => r.error === undefined);
        for (const part of chunks(recs, 7)) check(part, await model.encode(batchOf(part)), 'batch of 7');
        for (const r of recs) check([r], await model.encode(batchOf([r])), 'single');
      });
    }
  });
}
