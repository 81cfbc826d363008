// Deno and Bun (issue 23), from their npm packages (devDependencies): the built package, loaded with
// the wasm backend (onnxruntime-web, the pure-JavaScript tokenizer), encodes fixture texts as the
// genuine sentence-transformers did. runtime-smoke.ts is the program they run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertVector, compatOf, loadExpected } from '../encoder/fixture-data.js';
import { fixture, repoRoot } from '../helpers/paths.js';

const SMOKE = join(dirname(fileURLToPath(import.meta.url)), 'runtime-smoke.js');
const BIN = join(repoRoot(), 'node_modules');
// Bun's own launcher is set up by its postinstall, which this checkout does not run (.npmrc): its
// platform package holds the binary itself.
const RUNTIMES: Record<'deno' | 'bun', { bin: string; args: string[] }> = {
  deno: { bin: join(BIN, '.bin', 'deno'), args: ['run', '--allow-read', '--allow-env', '--allow-sys', '--no-prompt'] },
  bun: { bin: join(BIN, '@oven', `bun-${process.platform}-${process.arch}`, 'bin', 'bun'), args: [] },
};

for (const [name, rt] of Object.entries(RUNTIMES)) {
  for (const [fx, mode] of [['splade-bert', 'document'], ['inference-free-multilingual', 'query'], ['splade-modernbert', 'document']] as const) {
    test(`${name}: ${fx} ${mode} vectors of the first 8 texts equal the genuine ones`, { skip: existsSync(rt.bin) ? false : `no ${name} binary for ${process.platform}-${process.arch}`, timeout: 120_000 }, () => {
      const expected = loadExpected(fx);
      const r = spawnSync(rt.bin, [...rt.args, SMOKE, fixture(fx), mode, compatOf(expected)], { encoding: 'utf8', timeout: 110_000, maxBuffer: 1 << 24 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { runtime: string; backend: string; vectors: Array<{ indices: number[]; values: number[] }> };
      assert.equal(out.runtime, name);
      assert.equal(out.backend, 'wasm');
      out.vectors.forEach((v, i) => {
        const rec = expected.results[mode]![i]!;
        if (rec.error !== undefined) assert.deepEqual(v.indices, [], `text ${i}: the empty query`);
        else assertVector({ indices: Uint32Array.from(v.indices), values: Float32Array.from(v.values), dim: expected.model_info.embedding_dimension }, rec, `${name} ${fx} text ${i}`);
      });
    });
  }
}
