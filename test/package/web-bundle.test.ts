// The web package (issue 23): `sparse-encoder/web` bundles with esbuild and Vite for the browser without Node
// polyfills (no `node:` import, no Node-only package reached), and our own JavaScript in it stays
// within the size budget the README states (onnxruntime-web and the tokenizer not counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WEB_BUNDLE_BUDGET_BYTES, webBundleSize } from '../../bench/lib-web-bundle.js';
import { repoRoot } from '../helpers/paths.js';

test(`sparse-encoder/web, minified, is at most ${WEB_BUNDLE_BUDGET_BYTES / 1024} KiB of our own JavaScript`, async () => {
  const { minified, gzipped } = await webBundleSize();
  assert.ok(minified <= WEB_BUNDLE_BUDGET_BYTES, `${minified} bytes minified (${gzipped} gzipped), over the ${WEB_BUNDLE_BUDGET_BYTES} budget`);
  assert.ok(minified > 50_000, `${minified} bytes: the bundle lost its contents`);
});

test('sparse-encoder/web bundles for the browser with no Node built-in or Node-only package, and the README states the budget', async () => {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(repoRoot(), 'dist', 'src', 'web.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    metafile: true,
    external: ['onnxruntime-web', '@huggingface/tokenizers'],
  });
  const inputs = Object.keys(out.metafile.inputs);
  assert.deepEqual(inputs.filter((p) => /node_modules\/(onnxruntime-node|tokenizers|undici)\//.test(p) || p.startsWith('node:')), []);
  const imports = Object.values(out.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  assert.deepEqual(imports.filter((p) => p !== 'onnxruntime-web' && p !== '@huggingface/tokenizers'), []);
  const { readFileSync } = await import('node:fs');
  assert.match(readFileSync(join(repoRoot(), 'README.md'), 'utf8'), new RegExp(`${WEB_BUNDLE_BUDGET_BYTES / 1024} KiB`));
});

test('Vite bundles sparse-encoder/web for the browser with no Node built-in stubbed (its __vite-browser-external) and no node: import', { timeout: 120_000 }, async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { build } = await import('vite');
  const dir = mkdtempSync(join(tmpdir(), 'vite-web-'));
  try {
    writeFileSync(join(dir, 'entry.js'), `import { SparseEncoder, SparseIndex } from ${JSON.stringify(join(repoRoot(), 'dist', 'src', 'web.js'))};\nglobalThis.api = { SparseEncoder, SparseIndex };\n`);
    const result = await build({
      root: dir,
      logLevel: 'silent',
      configFile: false,
      build: { write: false, minify: true, lib: { entry: join(dir, 'entry.js'), formats: ['es'], fileName: 'app' }, rollupOptions: { external: ['onnxruntime-web', '@huggingface/tokenizers'] } },
    });
    const outputs = (Array.isArray(result) ? result : [result]).flatMap((o) => ('output' in o ? o.output : []));
    const code = outputs.map((o) => ('code' in o ? o.code : '')).join('\n');
    assert.ok(code.length > 50_000, 'the bundle has the library in it');
    assert.doesNotMatch(code, /__vite-browser-external/);
    assert.doesNotMatch(code, /from\s*["']node:/);
    assert.match(code, /mem:\/\//, 'the in-memory model files (the web path) are in');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
