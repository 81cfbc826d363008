#!/usr/bin/env node
// Runs the compiled tests with node's own test runner. Node 20 and 22 disagree on how a
// directory argument is treated, so we list the files ourselves.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const real = process.argv.includes('--real');
const testDir = join(root, 'dist', 'test');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (real ? name.endsWith('.real.js') : name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(testDir).map((f) => relative(root, f));
if (files.length === 0) {
  console.error('no test files found under dist/test');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
