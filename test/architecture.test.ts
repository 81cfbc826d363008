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
    // src/index.ts, src/web.ts and src/edge.ts are the public entries and may re-export anything; src/inverted-index/ is the search index.
    if (['index.ts', 'web.ts', 'edge.ts'].includes(relative(SRC, file))) continue;
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

// The platform seam (issue 23): the edge and web entries run where there is no Node: every module they
// reach by static imports (dynamic ones too, as bundlers follow them; type-only ones are erased) may
// import no Node built-in and none of the Node-only packages. A package.json `imports` seam (`#...`) is
// followed to its `default` target, what bundlers pick outside Node.
const NODE_ONLY = new Set(['onnxruntime-node', 'tokenizers', 'undici']);
const SEAMS = (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { imports: Record<string, { node: string; default: string }> }).imports;

function portableGraph(entry: string): { seen: Set<string>; violations: string[] } {
  const seen = new Set<string>();
  const stack = [join(SRC, entry)];
  const violations: string[] = [];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    const specs = [
      ...[...code.matchAll(/(?:^|\n)\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!),
      ...[...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
    ];
    for (const spec of specs) {
      if (spec.startsWith('node:') || NODE_ONLY.has(spec)) violations.push(`${relative(SRC, file)} imports ${spec}`);
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (spec.startsWith('#')) {
        const target = SEAMS[spec]?.default;
        if (target === undefined) violations.push(`${relative(SRC, file)} imports ${spec}, which package.json "imports" does not map`);
        else stack.push(join(repoRoot(), target.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')));
      }
    }
  }
  return { seen, violations };
}

test('the edge entry (src/edge.ts) reaches no Node built-in, native or Node-only package', () => {
  const { seen, violations } = portableGraph('edge.ts');
  assert.deepEqual(violations, []);
  for (const f of ['tokenizer/js-engine.ts', 'modules/sparse-static-embedding.ts', 'weights/safetensors.ts', 'inverted-index/searcher.ts', 'inverted-index/index-bytes.ts', 'inverted-index/index-files-unavailable.ts']) {
    assert.ok(seen.has(join(SRC, f)), f);
  }
  // The query side alone: no ONNX Runtime session code.
  assert.ok(!seen.has(join(SRC, 'runtime', 'session.ts')));
});

test('the web entry (src/web.ts) reaches no Node built-in, native or Node-only package: every seam takes its default', () => {
  const { seen, violations } = portableGraph('web.ts');
  assert.deepEqual(violations, []);
  for (const f of ['encoder/sparse-encoder.ts', 'modules/load-model.ts', 'runtime/session.ts', 'files/model-fs.ts', 'files/no-files.ts', 'runtime/native-runtime-unavailable.ts', 'hub/resolve-web.ts', 'weights/inflate-unavailable.ts']) {
    assert.ok(seen.has(join(SRC, f)), f);
  }
  // Every seam's two targets exist and export the same names.
  for (const [spec, t] of Object.entries(SEAMS)) {
    const names = (target: string): string[] => {
      const code = readFileSync(join(repoRoot(), target.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')), 'utf8');
      return [...code.matchAll(/export (?:async )?(?:function|const|class) (\w+)|export \{ ([^}]+) \}/g)].flatMap((m) => (m[1] !== undefined ? [m[1]] : m[2]!.split(',').map((x) => x.trim().split(' as ').pop()!.trim()))).filter((x) => x !== '').sort();
    };
    assert.deepEqual(names(t.default), names(t.node), spec);
  }
});
