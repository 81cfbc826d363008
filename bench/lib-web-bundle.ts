import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Our own JavaScript in a browser bundle: `sparse-encoder/web` (dist/src/web.js) bundled and
 * minified by esbuild for the browser, onnxruntime-web and the pure-JavaScript tokenizer left out
 * (they are dependencies, counted by their own packages). The README's size budget is checked
 * against this by test/package/bundle-size.test.ts; bench:web reports it.
 */
export async function webBundleSize(): Promise<{ minified: number; gzipped: number }> {
  const { build } = await import('esbuild');
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'package.json'))) root = dirname(root);
  const out = await build({
    entryPoints: [join(root, 'dist', 'src', 'web.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
    external: ['onnxruntime-web', '@huggingface/tokenizers'],
  });
  const bytes = out.outputFiles[0]!.contents;
  return { minified: bytes.byteLength, gzipped: gzipSync(bytes).byteLength };
}

/** The budget for {@link webBundleSize}'s minified bytes, stated in the README. */
export const WEB_BUNDLE_BUDGET_BYTES = 200 * 1024;
