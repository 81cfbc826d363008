import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli as cli } from '../helpers/cli.js';
import { toySet } from '../inverted-index/toy-data.js';
import { assertSameRanking, bruteForce } from '../inverted-index/brute-force.js';
import { fixture } from '../helpers/paths.js';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';


function vectorLines(items: Array<{ id: string; vector: { indices: Uint32Array; values: Float32Array } }>, extra?: (i: number) => object): string {
  return items.map((d, i) => JSON.stringify({ id: d.id, indices: [...d.vector.indices], values: [...d.vector.values], ...(extra?.(i) ?? {}) })).join('\n') + '\n';
}

test('index build, index info and search --exact agree with brute force on the toy set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'index-cli-'));
  const { docs, queries } = toySet();
  writeFileSync(join(dir, 'docs.jsonl'), vectorLines(docs, (i) => ({ text: docs[i]!.content })));
  writeFileSync(join(dir, 'queries.jsonl'), vectorLines(queries));
  const idx = join(dir, 'corpus.idx');
  const b = await cli(['index', 'build', '--vectors', join(dir, 'docs.jsonl'), '--out', idx, '--quantize', 'f32', '--store-fields']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /20 documents/);
  const info = await cli(['index', 'info', idx]);
  assert.equal(info.code, 0, info.stderr);
  const parsed = JSON.parse(info.stdout) as { documents: number; dim: number; quantize: string; hasFields: boolean };
  assert.deepEqual([parsed.documents, parsed.dim, parsed.quantize, parsed.hasFields], [20, 30522, 'f32', true]);

  const out = join(dir, 'results.jsonl');
  const s = await cli(['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '-k', '5', '--exact', '--output', out]);
  assert.equal(s.code, 0, s.stderr);
  const results = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { query_id: string; hits: Array<{ id: string; score: number }> });
  assert.deepEqual(results.map((r) => r.query_id), queries.map((q) => q.id), 'query order is kept');
  results.forEach((r, i) => assertSameRanking(r.hits, bruteForce(docs, queries[i]!.vector, 5), 1e-6, `query ${r.query_id}`));

  // Approximate by default, to stdout.
  const a = await cli(['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl')]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout.trim().split('\n').length, queries.length);
  rmSync(dir, { recursive: true });
});

test('CLI errors: one line, non-zero exit, the right code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'index-cli-'));
  const check = async (args: string[], exit: number, pattern: RegExp): Promise<void> => {
    const r = await cli(args);
    assert.equal(r.code, exit, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  };
  await check(['index', 'build', '--out', join(dir, 'x.idx')], 2, /--vectors is required \[ERR_USAGE\]/);
  await check(['index', 'frobnicate'], 2, /ERR_USAGE/);
  await check(['index', 'build', '--vectors', join(dir, 'nope.jsonl'), '--out', join(dir, 'x.idx')], 1, /ERR_FILE_NOT_FOUND/);
  writeFileSync(join(dir, 'bad.jsonl'), '{"id": "a", "indices": [1], "values": [0.5]}\n{"id": "b", "indices": [1, 2], "values": [0.5]\n');
  await check(['index', 'build', '--vectors', join(dir, 'bad.jsonl'), '--out', join(dir, 'x.idx')], 1, /bad\.jsonl:2: not valid JSON \[ERR_INVALID_INPUT\]/);
  writeFileSync(join(dir, 'dup.jsonl'), '{"id": "a", "indices": [1], "values": [0.5]}\n{"id": "a", "indices": [2], "values": [0.5]}\n');
  await check(['index', 'build', '--vectors', join(dir, 'dup.jsonl'), '--out', join(dir, 'x.idx')], 1, /duplicate document id 'a' \[ERR_DUPLICATE_ID\]/);
  writeFileSync(join(dir, 'ok.jsonl'), '{"id": "a", "indices": [1], "values": [0.5]}\n');
  await check(['index', 'build', '--vectors', join(dir, 'ok.jsonl'), '--out', join(dir, 'ok.idx'), '--quantize', 'u4'], 2, /--quantize/);
  assert.equal((await cli(['index', 'build', '--vectors', join(dir, 'ok.jsonl'), '--out', join(dir, 'ok.idx'), '--dim', '10'])).code, 0);
  writeFileSync(join(dir, 'q.jsonl'), '{"id": "q", "indices": [12], "values": [1]}\n');
  await check(['search', '--index', join(dir, 'ok.idx'), '--vectors', join(dir, 'q.jsonl')], 1, /q\.jsonl:1: .*\[ERR_DIMENSION_MISMATCH\]/);
  const bytes = readFileSync(join(dir, 'ok.idx'));
  writeFileSync(join(dir, 'cut.idx'), bytes.subarray(0, bytes.length - 30));
  await check(['index', 'info', join(dir, 'cut.idx')], 1, /ERR_INDEX_TRUNCATED/);
  await check(['search', '--index', join(dir, 'cut.idx'), '--vectors', join(dir, 'q.jsonl')], 1, /ERR_INDEX_TRUNCATED/);
  rmSync(dir, { recursive: true });
});

test('the search command never imports onnxruntime (static import graph)', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const start = resolve(here, '../../src/cli/commands/search' + ext);
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      // Type-only imports are erased at compile time; dynamic imports (the encoder, for --model)
      // load only when called, so only static imports are followed.
      if (m[1] === undefined) continue;
      const spec = m[1];
      assert.ok(!spec.includes('onnxruntime') && !spec.includes('/runtime/') && !spec.includes('/encoder/'), `${file} imports ${spec}`);
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, ext)));
    }
  }
  assert.ok(seen.size > 3);
});

test('--model encodes texts for index build and search (tiny splade-bert fixture)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'index-cli-'));
  const docs = [
    { id: 'a', text: 'the cat sat on the mat' },
    { id: 'b', text: 'dogs chase cats in the garden' },
    { id: 'c', text: 'stock markets fell sharply today' },
    { id: 'd', text: 'a recipe for apple pie' },
  ];
  const queries = [{ id: 'q1', text: 'cat on a mat' }, { id: 'q2', text: 'apple dessert recipe' }];
  writeFileSync(join(dir, 'docs.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  writeFileSync(join(dir, 'queries.jsonl'), queries.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const model = fixture('splade-bert');
  const idx = join(dir, 'm.idx');
  const b = await cli(['index', 'build', '--model', model, '--texts', join(dir, 'docs.jsonl'), '--out', idx, '--store-fields']);
  assert.equal(b.code, 0, b.stderr);
  const s = await cli(['search', '--index', idx, '--model', model, '--texts', join(dir, 'queries.jsonl'), '--exact', '-k', '4']);
  assert.equal(s.code, 0, s.stderr);
  const results = s.stdout.trim().split('\n').map((l) => JSON.parse(l) as { query_id: string; hits: Array<{ id: string; score: number }> });
  // Reference: the same model through the library API, then brute force.
  const encoder = await SparseEncoder.fromPretrained(model);
  const docVecs = await encoder.encodeDocument(docs.map((d) => d.text));
  const qVecs = await encoder.encodeQuery(queries.map((q) => q.text));
  await encoder.dispose();
  const ref = docs.map((d, i) => ({ id: d.id, vector: docVecs[i]! }));
  assert.deepEqual(results.map((r) => r.query_id), ['q1', 'q2']);
  results.forEach((r, i) => assertSameRanking(r.hits, bruteForce(ref, qVecs[i]!, 4), 1e-5, r.query_id));
  await (async () => {
    const e = await cli(['search', '--index', idx, '--texts', join(dir, 'queries.jsonl')]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--texts needs --model/);
  })();
  rmSync(dir, { recursive: true });
});

test('index build --texts --long-documents window indexes each document\'s window vector (a tail past 64 tokens is found)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'index-cli-long-'));
  const filler = 'river bank water stream flows through the green valley '.repeat(12);
  const docs = [
    { id: 'long', text: `${filler} the secret ingredient is saffron` },
    { id: 'short', text: 'a recipe for apple pie' },
  ];
  writeFileSync(join(dir, 'docs.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  writeFileSync(join(dir, 'q.jsonl'), JSON.stringify({ id: 'q', text: 'saffron' }) + '\n');
  const model = fixture('splade-bert');
  const scores: Record<string, Array<{ id: string; score: number }>> = {};
  for (const mode of ['truncate', 'window']) {
    const idx = join(dir, `${mode}.idx`);
    const b = await cli(['index', 'build', '--model', model, '--texts', join(dir, 'docs.jsonl'), '--out', idx, '--long-documents', mode]);
    assert.equal(b.code, 0, b.stderr);
    const s = await cli(['search', '--index', idx, '--model', model, '--texts', join(dir, 'q.jsonl'), '--exact', '-k', '2']);
    assert.equal(s.code, 0, s.stderr);
    scores[mode] = (JSON.parse(s.stdout.trim()) as { hits: Array<{ id: string; score: number }> }).hits;
  }
  const encoder = await SparseEncoder.fromPretrained(model);
  const windowed = await encoder.encodeDocument(docs.map((d) => d.text), { longDocuments: 'window' });
  const q = await encoder.encodeQuery('saffron');
  await encoder.dispose();
  assertSameRanking(scores['window']!, bruteForce(docs.map((d, i) => ({ id: d.id, vector: windowed[i]! })), q, 2), 1e-5, 'window');
  // Truncated at 64 tokens, the long document loses the word it ends with; its windows keep it.
  const scoreOf = (hits: Array<{ id: string; score: number }>): number => hits.find((h) => h.id === 'long')?.score ?? 0;
  assert.ok(scoreOf(scores['window']!) > scoreOf(scores['truncate']!), JSON.stringify(scores));
  rmSync(dir, { recursive: true });
});

test('index add grows a directory in segments; search, info and merge work on it; the answers equal one built file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'index-cli-'));
  const { docs, queries } = toySet();
  writeFileSync(join(dir, 'a.jsonl'), vectorLines(docs.slice(0, 12), (i) => ({ text: docs[i]!.content })));
  writeFileSync(join(dir, 'b.jsonl'), vectorLines(docs.slice(12), (i) => ({ text: docs[12 + i]!.content })));
  writeFileSync(join(dir, 'all.jsonl'), vectorLines(docs.filter((d) => d.id !== docs[2]!.id)));
  writeFileSync(join(dir, 'queries.jsonl'), vectorLines(queries));
  writeFileSync(join(dir, 'gone.txt'), `${docs[2]!.id}\n`);
  const idx = join(dir, 'corpus.index');
  const a = await cli(['index', 'add', idx, '--vectors', join(dir, 'a.jsonl'), '--store-fields', '--flush-documents', '5']);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /added 12, deleted 0; 12 live documents in 3 segments, generation 1/);
  const b = await cli(['index', 'add', idx, '--vectors', join(dir, 'b.jsonl'), '--delete', join(dir, 'gone.txt')]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /added 8, deleted 1; 19 live documents in 4 segments, generation 2/);
  // An id already in the index is refused, and nothing is committed.
  const dup = await cli(['index', 'add', idx, '--vectors', join(dir, 'b.jsonl')]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /ERR_DUPLICATE_ID/);
  const info = JSON.parse((await cli(['index', 'info', idx])).stdout) as { liveDocuments: number; segments: number; generation: number; hasFields: boolean };
  assert.deepEqual([info.liveDocuments, info.segments, info.generation, info.hasFields], [19, 4, 2, true]);

  const file = join(dir, 'all.idx');
  assert.equal((await cli(['index', 'build', '--vectors', join(dir, 'all.jsonl'), '--out', file])).code, 0);
  const fromDir = await cli(['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '-k', '5']);
  const fromFile = await cli(['search', '--index', file, '--vectors', join(dir, 'queries.jsonl'), '-k', '5']);
  assert.equal(fromDir.code, 0, fromDir.stderr);
  assert.equal(fromDir.stdout, fromFile.stdout);
  const lazy = await cli(['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '-k', '5', '--cache-mb', '1', '--threads', '2']);
  assert.equal(lazy.stdout, fromFile.stdout, lazy.stderr);
  const fields = await cli(['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '-k', '1', '--fields']);
  assert.match(fields.stdout, /"fields":\{"text":/);

  const m = await cli(['index', 'merge', idx]);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /4 → 1 segments, 19 live documents, generation 3/);
  assert.equal((await cli(['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '-k', '5'])).stdout, fromFile.stdout);

  const migrated = join(dir, 'migrated.index');
  const mg = await cli(['index', 'migrate', file, migrated]);
  assert.equal(mg.code, 0, mg.stderr);
  assert.equal((await cli(['search', '--index', migrated, '--vectors', join(dir, 'queries.jsonl'), '-k', '5'])).stdout, fromFile.stdout);
  rmSync(dir, { recursive: true });
});

test('index build --blocks: info reports them; search --approximate --algorithm blocks with every block visited equals exact output; misplaced block flags are usage errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'index-cli-blocks-'));
  const { docs, queries } = toySet();
  writeFileSync(join(dir, 'docs.jsonl'), vectorLines(docs));
  writeFileSync(join(dir, 'queries.jsonl'), vectorLines(queries));
  const idx = join(dir, 'corpus.idx');
  const b = await cli(['index', 'build', '--vectors', join(dir, 'docs.jsonl'), '--out', idx, '--blocks', '--postings-per-term', '100', '--block-size', '4', '--summary-energy', '0.5']);
  assert.equal(b.code, 0, b.stderr);
  const info = JSON.parse((await cli(['index', 'info', idx])).stdout) as { blocks?: unknown };
  assert.deepEqual(info.blocks, { postingsPerTerm: 100, blockSize: 4, summaryEnergy: 0.5 });
  const exact = await cli(['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '-k', '5']);
  const blocks = await cli(['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '-k', '5', '--approximate', '--algorithm', 'blocks', '--summary-factor', '0', '--query-term-cut', '1000']);
  assert.equal(blocks.code, 0, blocks.stderr);
  assert.equal(blocks.stdout, exact.stdout);
  for (const args of [
    ['index', 'build', '--vectors', join(dir, 'docs.jsonl'), '--out', join(dir, 'x.idx'), '--postings-per-term', '10'],
    ['index', 'build', '--vectors', join(dir, 'docs.jsonl'), '--out', join(dir, 'x.idx'), '--blocks', '--summary-energy', '2'],
    ['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '--algorithm', 'blocks'],
    ['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '--approximate', '--algorithm', 'fast'],
    ['search', '--index', idx, '--vectors', join(dir, 'queries.jsonl'), '--approximate', '--summary-factor', '-1'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  rmSync(dir, { recursive: true });
});
