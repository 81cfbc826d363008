import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MeanPooledTransformer } from '../../src/modules/dense-transformer.js';
import { loadStateDict } from '../../src/weights/load.js';
import { fixture } from '../helpers/paths.js';
import type { RecordedResult } from './fixture-models.js';

// expected.json `debug_pooled_sae_input`: the genuine mean-pooled vectors fed to the CSR SAE (texts 0-3).
describe('MeanPooledTransformer parity: csr', () => {
  let model: MeanPooledTransformer;
  let expected: any;

  before(async () => {
    const root = fixture('csr');
    expected = JSON.parse(readFileSync(join(root, 'expected.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(root, 'config.json'), 'utf8'));
    model = await MeanPooledTransformer.create({ config, weights: await loadStateDict(root), threads: 1 });
  });
  after(async () => model?.dispose());

  const batchOf = (recs: RecordedResult[]) => ({ ids: recs.map((r) => r.input_ids), typeIds: recs.map((r) => r.token_type_ids!) });

  it('matches debug_pooled_sae_input within 1e-4 + 1e-4|b|, batched and one at a time', async () => {
    const byId = new Map<number, RecordedResult>(expected.results.document.map((r: RecordedResult) => [r.text_id, r]));
    const wanted: Array<{ text_id: number; pooled: number[] }> = expected.debug_pooled_sae_input;
    const recs = wanted.map((w) => byId.get(w.text_id)!);
    // Pad the recorded texts into a batch with longer neighbours so that masking matters.
    const all: RecordedResult[] = expected.results.document;
    const batched = await model.encode(batchOf([...recs, ...all]));
    for (const [i, w] of wanted.entries()) {
      const single = (await model.encode(batchOf([recs[i]!])))[0]!;
      for (const got of [batched[i]!, single]) {
        assert.equal(got.length, 32);
        w.pooled.forEach((b, k) => assert.ok(Math.abs(got[k]! - b) <= 1e-4 + 1e-4 * Math.abs(b), `text ${w.text_id} dim ${k}: ${got[k]} vs ${b}`));
      }
    }
  });

  it('an empty row gives zeros and leaves the others unchanged', async () => {
    const r: RecordedResult = expected.results.document[0];
    const [empty, one] = await model.encode({ ids: [[], r.input_ids], typeIds: [[], r.token_type_ids!] });
    assert.deepEqual(Array.from(empty!), new Array(32).fill(0));
    const alone = (await model.encode({ ids: [r.input_ids] }))[0]!;
    assert.ok(Array.from(one!).every((v, k) => Math.abs(v - alone[k]!) < 1e-5));
  });
});
