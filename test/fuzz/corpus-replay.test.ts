// The fuzz corpus (issue 26): every input that ever made a fuzz target fail (test/fuzz/corpus/<target>/,
// kept by `npm run fuzz`) and every target's seeds are replayed here on each `npm test`. Each must end
// in a result with finite numbers or a SparseEncoderError with a code, within a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replayable } from './fuzz.js';
import { isCodedRefusal, TARGETS } from './targets.js';

for (const [name, target] of Object.entries(TARGETS)) {
  test(`fuzz target ${name}: seeds and every kept failing input end in a result or a coded error`, { timeout: 120_000 }, async () => {
    const inputs = [...(await target.seeds()), ...replayable(name)];
    assert.ok(inputs.length > 0);
    for (const [i, data] of inputs.entries()) {
      const t0 = performance.now();
      try {
        await target.run(data);
      } catch (err) {
        assert.ok(isCodedRefusal(err), `input ${i} (${data.length} bytes): ${String((err as Error)?.stack ?? err)}`);
      }
      assert.ok(performance.now() - t0 < 1000, `input ${i} took ${(performance.now() - t0).toFixed(0)} ms`);
    }
  });
}
