// Child process for the crash tests. Runs a fixed script of commits on the index directory
// argv[2]; with argv[3] = "<phase>:<step>" it stops (blocks) at that step of that phase, after
// printing "at <step>", so the parent can SIGKILL it there. It prints "committed <phase>" after
// each commit returns. Phase p ≥ 1 is the same every run (see crashScript in crash.test.ts).
import { SegmentedIndex } from '../../src/inverted-index/segmented-index.js';
import { crashPhases } from './crash-script.js';

const [dir, stop] = process.argv.slice(2);
const [stopPhase, stopStep] = (stop ?? '0:').split(':');
let phase = 0;
const index = await SegmentedIndex.open(dir!, {
  flushDocuments: 300,
  mergeFactor: 0,
  onStep: (step) => {
    if (phase === Number(stopPhase) && step === stopStep) {
      process.stdout.write(`at ${step}\n`);
      // Wait here for the SIGKILL; never returns.
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
  },
});
const start = index.generation;
for (const p of crashPhases()) {
  if (p.phase <= start) continue;
  phase = p.phase;
  for (const id of p.deletes) index.delete(id);
  await index.add(p.adds);
  if (p.merge) await index.merge();
  await index.commit();
  process.stdout.write(`committed ${p.phase}\n`);
}
await index.dispose();
