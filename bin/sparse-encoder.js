#!/usr/bin/env node
// Entry point of the CLI. Builds the TypeScript sources first when run from a checkout
// that has not been built yet (npm ci runs `prepare`, so this is rarely needed).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// A reader of stdout that goes away (`| head -1`) is normal for a Unix tool: end quietly, status 0.
// Commands stop at their next write (ERR_OUTPUT_CLOSED); this catches writes made outside them.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  process.stderr.write(`sparse-encoder: cannot write to stdout: ${err.message} [ERR_OUTPUT_NOT_WRITABLE]\n`);
  process.exit(1);
});
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
