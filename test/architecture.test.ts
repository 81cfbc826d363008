import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { repoRoot } from './helpers/paths.js';

// The dependency direction of ARCHITECTURE.md, checked on every source file:
// cli/server → encoder/inverted-index/eval/export → modules → graph/runtime/tokenizer/weights/hub → files/sparse/errors.
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  files: ['errors'],
  sparse: ['errors'],
  weights: ['errors', 'sparse', 'files'],
  hub: ['errors', 'sparse', 'files'],
  tokenizer: ['errors', 'sparse', 'files'],
  runtime: ['errors', 'sparse'],
  graph: ['errors', 'sparse', 'weights'],
  modules: ['errors', 'sparse', 'files', 'weights', 'hub', 'tokenizer', 'runtime', 'graph'],
  encoder: ['errors', 'sparse', 'files', 'weights', 'hub', 'tokenizer', 'runtime', 'graph', 'modules'],
  'inverted-index': ['errors', 'sparse', 'files'],
  export: ['errors', 'sparse'],
  eval: ['errors', 'sparse', 'files', 'inverted-index', 'encoder'],
  cli: ['errors', 'sparse', 'files', 'encoder', 'inverted-index', 'eval', 'hub', 'modules', 'export', 'server'],
  server: ['errors', 'sparse', 'files', 'encoder', 'inverted-index', 'eval'],
};

const SRC = join(repoRoot(), 'src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The top-level area of a file under src/: its folder, or the file's stem for src/errors.ts. */
function area(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
}

function imports(code: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|[^.\w])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of code.matchAll(re)) specs.push((m[1] ?? m[2])!);
  return specs;
}

test('source folders import only the layers below them', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = area(file);
    // src/index.ts and src/edge.ts are the public entries and may re-export anything; src/inverted-index/ is the search index.
    if (relative(SRC, file) === 'index.ts' || relative(SRC, file) === 'edge.ts') continue;
    // cli/main.ts dispatches to the commands; a command importing it back would be a cycle.
    if (from === 'cli' && relative(SRC, file) !== join('cli', 'main.ts')) {
      for (const spec of imports(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.') && resolve(dirname(file), spec) === join(SRC, 'cli', 'main.js')) violations.push(`${relative(SRC, file)} imports cli/main.ts (shared CLI types live in cli/io.ts)`);
      }
    }
    const allowed = ALLOWED[from];
    assert.ok(allowed, `unknown source area '${from}' (${relative(SRC, file)}): add it to ARCHITECTURE.md and this test`);
    for (const spec of imports(readFileSync(file, 'utf8'))) {
      if ((spec === 'onnxruntime-node' || spec === 'onnxruntime-web') && from !== 'runtime') violations.push(`${relative(SRC, file)} imports ${spec} (only runtime/ may)`);
      if ((spec === 'tokenizers' || spec === '@huggingface/tokenizers') && from !== 'tokenizer') violations.push(`${relative(SRC, file)} imports ${spec} (only tokenizer/ may)`);
      // The native addon loads only when chosen (dynamic import): Deno without --allow-ffi, and any runtime without it, must not fail on import.
      if (/native-engine\.js$/.test(spec) && !new RegExp(`import\\s+type\\s[^;]*${spec.replace(/[.]/g, '\\.')}`).test(readFileSync(file, 'utf8'))) {
        violations.push(`${relative(SRC, file)} imports ${spec} statically (import it with import() where the native engine is chosen)`);
      }
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      const to = area(target.replace(/\.js$/, '.ts'));
      if (to === from) continue;
      if (!allowed.includes(to)) violations.push(`${relative(SRC, file)} → ${spec} (${from} may not import ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

// The platform seam (issue 23): the edge entry runs where there is no Node: every module it reaches by
// static imports (dynamic ones load only when called; type-only ones are erased) may import no Node
// built-in and none of the Node-only packages.
const NODE_ONLY = new Set(['onnxruntime-node', 'tokenizers', 'undici']);

test('the edge entry (src/edge.ts) reaches no Node built-in, native or Node-only package', () => {
  const seen = new Set<string>();
  const stack = [join(SRC, 'edge.ts')];
  const violations: string[] = [];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('node:') || NODE_ONLY.has(spec)) violations.push(`${relative(SRC, file)} imports ${spec}`);
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      // The package.json imports seam: outside Node, its default target.
      if (spec === '#index-files') stack.push(join(SRC, 'inverted-index', 'index-files-unavailable.ts'));
    }
  }
  assert.deepEqual(violations, []);
  // It does reach the tokenizer, the static embedding and the safetensors parser.
  for (const f of ['tokenizer/js-engine.ts', 'modules/sparse-static-embedding.ts', 'weights/safetensors.ts', 'inverted-index/searcher.ts', 'inverted-index/index-bytes.ts', 'inverted-index/index-files-unavailable.ts']) assert.ok(seen.has(join(SRC, f)), f);
});
