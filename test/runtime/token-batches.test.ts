import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { padSubBatch, planSubBatches } from '../../src/runtime/token-batches.js';

describe('planSubBatches', () => {
  it('groups longest first within the token budget and covers every non-empty row once', () => {
    const lengths = [5, 300, 0, 12, 256, 256, 7, 40, 513];
    const plan = planSubBatches(lengths, 600);
    const seen = plan.flatMap((p) => p.rows).sort((a, b) => a - b);
    assert.deepEqual(seen, [0, 1, 3, 4, 5, 6, 7, 8]);
    for (const p of plan) {
      assert.equal(p.seqLen, Math.max(...p.rows.map((r) => lengths[r]!)));
      assert.ok(p.rows.length === 1 || p.rows.length * p.seqLen <= 600, JSON.stringify(p));
    }
    // 513 runs alone (over budget); then 300 and 256 share a run padded to 300 (2 × 300 = 600 tokens).
    assert.deepEqual(plan[0], { rows: [8], seqLen: 513 });
    assert.deepEqual(plan[1], { rows: [1, 4], seqLen: 300 });
  });
});

describe('padSubBatch', () => {
  it('right-pads ids with the pad id, mask 0 and type 0', () => {
    const f = padSubBatch({ ids: [[5, 6, 7], [8]], typeIds: [[0, 1, 1], [1]] }, { rows: [0, 1], seqLen: 3 }, 1, true);
    assert.deepEqual(f.input_ids.dims, [2, 3]);
    assert.deepEqual(Array.from(f.input_ids.data as BigInt64Array, Number), [5, 6, 7, 8, 1, 1]);
    assert.deepEqual(Array.from(f.attention_mask.data as BigInt64Array, Number), [1, 1, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(f.token_type_ids!.data as BigInt64Array, Number), [0, 1, 1, 1, 0, 0]);
    assert.equal(padSubBatch({ ids: [[5]] }, { rows: [0], seqLen: 1 }, 0, false).token_type_ids, undefined);
  });
});
