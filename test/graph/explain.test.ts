// Which input token produced each term (issue 25): max-pooling graphs carry an `explain` input and a
// `max_position` output (the position whose logit won each vocabulary entry's max), computed only when
// asked. Checked against a brute-force argmax over the full per-position logits of the debug graph
// (whose logits test/graph/debug-logits.test.ts checks against transformers' own, `debug_logits`),
// on splade-bert and splade-gte; the debug text's recorded top logits are checked too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseTransformerConfig } from '../../src/graph/config.js';
import { buildSpladeGraph } from '../../src/graph/transformer-graph.js';
import { SpladeTransformer } from '../../src/modules/splade-transformer.js';
import { OnnxSession, type TensorData } from '../../src/runtime/session.js';
import { loadSpladeFixture, vectorMismatch, type RecordedResult } from './fixture-models.js';

for (const name of ['splade-bert', 'splade-gte']) {
  describe(`explain: ${name}`, () => {
    let fx: Awaited<ReturnType<typeof loadSpladeFixture>>;
    let model: SpladeTransformer;
    let debug: OnnxSession;
    let recs: RecordedResult[];

    before(async () => {
      fx = await loadSpladeFixture(name);
      model = await SpladeTransformer.create({ config: fx.config, weights: fx.weights, pooling: fx.pooling, activation: fx.activation, threads: 1 });
      debug = await OnnxSession.create(buildSpladeGraph(parseTransformerConfig(fx.config), fx.weights, { pooling: fx.pooling, activation: fx.activation, debugOutputs: true }), { intraOpNumThreads: 1 });
      recs = fx.expected.results['document']!.filter((r) => r.error === undefined).slice(0, 12);
    });
    after(async () => {
      await model?.dispose();
      await debug?.dispose();
    });

    /** The full [S, V] logits of one row, from the debug graph. */
    async function logitsOf(r: RecordedResult): Promise<{ data: Float32Array; S: number; V: number }> {
      const S = r.input_ids.length;
      const dims = [1, S];
      const feeds: Record<string, TensorData> = {
        input_ids: { type: 'int64', data: BigInt64Array.from(r.input_ids, BigInt), dims },
        attention_mask: { type: 'int64', data: new BigInt64Array(S).fill(1n), dims },
      };
      if (debug.inputNames.includes('token_type_ids')) feeds['token_type_ids'] = { type: 'int64', data: BigInt64Array.from(r.token_type_ids ?? new Array<number>(S).fill(0), BigInt), dims };
      const t = (await debug.run(feeds, ['logits']))['logits']!;
      return { data: t.data as Float32Array, S, V: t.dims[2]! };
    }

    it('for every active term, the position equals the argmax of its logits over the sequence (padded batch and one by one)', async () => {
      assert.equal(model.explains, true);
      const batch = { ids: recs.map((r) => r.input_ids), ...(recs.every((r) => r.token_type_ids) ? { typeIds: recs.map((r) => r.token_type_ids!) } : {}) };
      const together = await model.explain(batch);
      let checked = 0;
      for (const [k, r] of recs.entries()) {
        const alone = (await model.explain({ ids: [r.input_ids], ...(r.token_type_ids ? { typeIds: [r.token_type_ids] } : {}) }))[0]!;
        assert.equal(vectorMismatch(together[k]!.vector, r), undefined, `text ${r.text_id}: the vector is still the genuine one`);
        assert.deepEqual(together[k]!.positions, alone.positions, `text ${r.text_id}: padding changes no position`);
        const { data, S, V } = await logitsOf(r);
        together[k]!.vector.indices.forEach((v, i) => {
          let best = 0;
          for (let s = 1; s < S; s++) if (data[s * V + v]! > data[best * V + v]!) best = s;
          assert.equal(together[k]!.positions[i], best, `text ${r.text_id}, term ${v}`);
          checked++;
        });
      }
      assert.ok(checked > 100, `${checked} terms checked`);
    });

    it("the debug text's recorded top logits: where a position holds a term's largest recorded logit, that term's max is there or higher", async () => {
      const dbg = fx.expected['debug_logits'] as { input_ids: number[]; logits_first3_positions_top5: Array<{ ids: number[]; values: number[] }> };
      const [got] = await model.explain({ ids: [dbg.input_ids], typeIds: [dbg.input_ids.map(() => 0)] });
      const { data, V } = await logitsOf({ text_id: -1, input_ids: dbg.input_ids, indices: [], values: [] });
      dbg.logits_first3_positions_top5.forEach((top, p) =>
        top.ids.forEach((id, j) => {
          const i = got!.vector.indices.indexOf(id);
          if (i < 0) return; // not active (its logit is not positive anywhere)
          const won = got!.positions[i]!;
          assert.ok(data[won * V + id]! >= top.values[j]! - 1e-4, `term ${id}: the winning position ${won} has the max, at least position ${p}'s recorded ${top.values[j]}`);
        }),
      );
    });

    it('without explain the output is empty: normal runs compute no positions', async () => {
      const r = recs[0]!;
      const S = r.input_ids.length;
      const dims = [1, S];
      const session = (model as unknown as { runner: { session: OnnxSession } }).runner.session;
      const feeds: Record<string, TensorData> = {
        input_ids: { type: 'int64', data: BigInt64Array.from(r.input_ids, BigInt), dims },
        attention_mask: { type: 'int64', data: new BigInt64Array(S).fill(1n), dims },
      };
      if (session.inputNames.includes('token_type_ids')) feeds['token_type_ids'] = { type: 'int64', data: new BigInt64Array(S), dims };
      const off = await session.run(feeds, ['max_position']);
      assert.deepEqual(off['max_position']!.dims, [0, 0]);
      const on = await session.run(feeds, ['max_position'], { explain: true });
      assert.deepEqual(on['max_position']!.dims, [1, fx.config['vocab_size']]);
    });
  });
}
