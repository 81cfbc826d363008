import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegmentedIndex } from '../../src/inverted-index/segmented-index.js';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { readManifest } from '../../src/inverted-index/index-directory.js';
import { liveAfter } from './crash-script.js';
import { randomQueries } from './random-docs.js';

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const child = fileURLToPath(new URL(`./crash-child${ext}`, import.meta.url));

interface ChildRun {
  committed: number[];
  stoppedAt?: string;
}

/**
 * Runs the crash child. With `stop`, SIGKILLs it as soon as it reports that step; with
 * `killAfterMs`, SIGKILLs it after that long, wherever it is.
 */
function runChild(dir: string, stop?: string, killAfterMs?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, child, dir, stop ?? '0:'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const run: ChildRun = { committed: [] };
    let out = '';
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      for (const line of out.split('\n').slice(0, -1)) {
        const c = /^committed (\d+)$/.exec(line);
        if (c && !run.committed.includes(Number(c[1]))) run.committed.push(Number(c[1]));
        const at = /^at (.+)$/.exec(line);
        if (at && !run.stoppedAt) {
          run.stoppedAt = at[1];
          p.kill('SIGKILL');
        }
      }
    });
    const timer = killAfterMs !== undefined ? setTimeout(() => p.kill('SIGKILL'), killAfterMs) : undefined;
    p.on('error', reject);
    p.on('exit', () => {
      clearTimeout(timer);
      resolve(run);
    });
  });
}

const queries = randomQueries(25);

async function assertEqualsCommit(dir: string, commit: number, label: string): Promise<void> {
  const index = await SegmentedIndex.open(dir, { readOnly: true });
  try {
    assert.equal(index.generation, commit, `${label}: generation`);
    const live = liveAfter(commit);
    assert.equal(index.size, live.length, `${label}: live documents`);
    const ref = await SparseIndex.build(live, { reorder: true });
    for (const q of queries) assert.deepEqual(index.search(q), ref.search(q), `${label}: answers`);
    ref.dispose();
  } finally {
    await index.dispose();
  }
}

/** Only the files the manifest names remain (checked after the next commit). */
async function assertOnlyNamedFiles(dir: string, label: string): Promise<void> {
  const m = (await readManifest(dir))!;
  const named = new Set(['manifest.json', ...m.segments.flatMap((s) => (s.tombstones ? [s.name, s.tombstones] : [s.name]))]);
  // A killed writer's write.lock stays until the next writer takes it over; it is not index data.
  assert.deepEqual(readdirSync(dir).filter((f) => f !== 'write.lock').sort(), [...named].sort(), `${label}: files after the next commit`);
}

// Steps of commit 2 (no merge) and commit 3 (with a merge); before the manifest's rename the
// last commit is the previous one, after it the new one.
const CASES: Array<[phase: number, step: string, expected: number]> = [
  [2, 'flush-partial', 1],
  [2, 'flush-written', 1],
  [2, 'tombstones-partial', 1],
  [2, 'tombstones-temp', 1],
  [2, 'manifest-partial', 1],
  [2, 'manifest-temp', 1],
  [2, 'manifest-renamed', 2],
  [3, 'merge-partial', 2],
  [3, 'merge-written', 2],
  [3, 'manifest-temp', 2],
  [3, 'cleanup-one', 3],
];

test('SIGKILL during flush, merge and commit leaves the last commit, and the next commit leaves no stray files', async () => {
  for (const [phase, step, expected] of CASES) {
    const dir = mkdtempSync(join(tmpdir(), 'crash-'));
    const run = await runChild(dir, `${phase}:${step}`);
    const label = `killed at ${phase}:${step}`;
    assert.equal(run.stoppedAt, step, `${label}: the child reached the step`);
    assert.deepEqual(run.committed, Array.from({ length: phase - 1 }, (_, i) => i + 1), `${label}: commits before`);
    await assertEqualsCommit(dir, expected, label);
    // A new writer takes the dead one's lock and finishes the script from the last commit; its
    // first commit removes every file the crash left behind.
    const rest = await runChild(dir, `${expected + 1}:commit-done`);
    assert.deepEqual(rest.committed, [], `${label}: resumed`);
    await assertEqualsCommit(dir, expected + 1, `${label}, then one more commit`);
    await assertOnlyNamedFiles(dir, label);
    const end = await runChild(dir);
    assert.equal(end.committed.at(-1), 6, `${label}: finishing the script`);
    await assertEqualsCommit(dir, 6, `${label}, then finished`);
    await assertOnlyNamedFiles(dir, `${label}, then finished`);
    rmSync(dir, { recursive: true });
  }
});

test('SIGKILL during the last commit\'s cleanup: the next writer removes the leftovers on open, with nothing to commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crash-'));
  // Phase 6 merges, so its commit removes the merged segments after the manifest's rename.
  const run = await runChild(dir, '6:cleanup-one');
  assert.equal(run.stoppedAt, 'cleanup-one');
  await assertEqualsCommit(dir, 6, 'killed in the cleanup of commit 6');
  const end = await runChild(dir);
  assert.deepEqual(end.committed, [], 'the script was complete: no commit');
  await assertEqualsCommit(dir, 6, 'reopened by a writer');
  await assertOnlyNamedFiles(dir, 'after a writer opened it');
  rmSync(dir, { recursive: true });
});

test('SIGKILL at arbitrary moments: the reopened index is always a commit the child reached or was making', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crash-'));
  let last = 0;
  for (const ms of [250, 600, 400, 900]) {
    const run = await runChild(dir, undefined, ms);
    const reached = run.committed.at(-1) ?? last;
    const m = await readManifest(dir);
    const gen = m?.generation ?? 0;
    // The kill may land after a commit's rename but before it printed.
    assert.ok(gen === reached || gen === reached + 1, `killed after ${ms} ms: generation ${gen}, last printed ${reached}`);
    if (gen > 0) await assertEqualsCommit(dir, gen, `killed after ${ms} ms`);
    last = gen;
    if (gen === 6) break;
  }
  const end = await runChild(dir);
  if (last < 6) assert.equal(end.committed.at(-1), 6);
  await assertEqualsCommit(dir, 6, 'after random kills, finished');
  await assertOnlyNamedFiles(dir, 'after random kills');
  rmSync(dir, { recursive: true });
});
