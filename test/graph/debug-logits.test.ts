import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseTransformerConfig } from '../../src/graph/config.js';
import { buildSpladeGraph, buildSpladeModel } from '../../src/graph/transformer-graph.js';
import { OnnxSession } from '../../src/runtime/session.js';
import type { TensorData } from '../../src/runtime/session.js';
import { loadSpladeFixture, maxAbsDiff } from './fixture-models.js';

// transformers' intermediate values for one text of splade-bert (expected.json `debug_logits`).
describe('splade-bert debug_logits (raw logits, last hidden state, embedding output)', () => {
  let session: OnnxSession;
  let outputs: Record<string, TensorData>;
  let dbg: any;
  let feeds: Record<string, TensorData>;
  let fx: Awaited<ReturnType<typeof loadSpladeFixture>>;

  before(async () => {
    fx = await loadSpladeFixture('splade-bert');
    dbg = fx.expected['debug_logits'];
    const config = parseTransformerConfig(fx.config);
    const bytes = buildSpladeGraph(config, fx.weights, { pooling: fx.pooling, activation: fx.activation, debugOutputs: true });
    session = await OnnxSession.create(bytes, { intraOpNumThreads: 1 });
    const ids: number[] = dbg.input_ids;
    const dims = [1, ids.length];
    feeds = {
      input_ids: { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims },
      attention_mask: { type: 'int64', data: new BigInt64Array(ids.length).fill(1n), dims },
      token_type_ids: { type: 'int64', data: new BigInt64Array(ids.length), dims },
    };
    outputs = await session.run(feeds);
  });
  after(async () => session?.dispose());

  /** Rows [0, 3) × columns [0, cols) of a [1, S, width] output. */
  function firstRows(name: string, cols: number): number[][] {
    const t = outputs[name]!;
    const width = t.dims[2]!;
    return [0, 1, 2].map((p) => Array.from(t.data as Float32Array).slice(p * width, p * width + cols));
  }

  it('embedding output matches within 1e-4', () => {
    const got = firstRows('embedding_output', 8);
    dbg.embedding_output_first3_positions_first8_dims.forEach((row: number[], p: number) => assert.ok(maxAbsDiff(got[p]!, row) < 1e-4, `position ${p}: ${got[p]} vs ${row}`));
  });

  it('last hidden state matches within 1e-4', () => {
    const got = firstRows('last_hidden_state', 8);
    dbg.last_hidden_state_first3_positions_first8_dims.forEach((row: number[], p: number) => assert.ok(maxAbsDiff(got[p]!, row) < 1e-4, `position ${p}: ${got[p]} vs ${row}`));
  });

  it('logits of the first 10 vocabulary ids match within 1e-4', () => {
    const got = firstRows('logits', 10);
    dbg.logits_first3_positions_first10_vocab.forEach((row: number[], p: number) => assert.ok(maxAbsDiff(got[p]!, row) < 1e-4, `position ${p}: ${got[p]} vs ${row}`));
  });

  it('top-5 logits per position match (ids exactly, values within 1e-4)', () => {
    const t = outputs['logits']!;
    const V = t.dims[2]!;
    const data = t.data as Float32Array;
    dbg.logits_first3_positions_top5.forEach((want: { ids: number[]; values: number[] }, p: number) => {
      const row = Array.from(data.subarray(p * V, (p + 1) * V));
      const top = row.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
      assert.deepEqual(top.map((x) => x[1]), want.ids);
      assert.ok(maxAbsDiff(top.map((x) => x[0]), want.values) < 1e-4);
    });
  });

  it('the pooled output equals max over positions of log1p(relu(logits))', () => {
    const t = outputs['logits']!;
    const [, S, V] = t.dims as [number, number, number];
    const logits = t.data as Float32Array;
    const pooled = outputs['sparse_embedding']!.data as Float32Array;
    let worst = 0;
    for (let v = 0; v < V; v++) {
      let m = 0;
      for (let s = 0; s < S; s++) m = Math.max(m, Math.log1p(Math.max(0, logits[s * V + v]!)));
      worst = Math.max(worst, Math.abs(m - pooled[v]!));
    }
    assert.ok(worst < 1e-5, `max difference ${worst}`);
  });

  it('gives the same outputs when the weights go through an external data file', async () => {
    const model = buildSpladeModel(parseTransformerConfig(fx.config), fx.weights, { pooling: fx.pooling, activation: fx.activation, debugOutputs: true });
    const ext = await OnnxSession.fromModel(model, { intraOpNumThreads: 1, externalDataAboveBytes: 0 });
    try {
      const got = await ext.run(feeds);
      for (const name of ['sparse_embedding', 'logits', 'last_hidden_state']) {
        assert.deepEqual(got[name]!.dims, outputs[name]!.dims);
        assert.ok(maxAbsDiff(got[name]!.data as Float32Array, outputs[name]!.data as Float32Array) < 1e-6, name);
      }
    } finally {
      await ext.dispose();
    }
  });
});
