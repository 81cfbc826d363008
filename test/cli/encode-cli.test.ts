import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli } from '../helpers/cli.js';
import { float32ToString } from '../../src/cli/commands/encode.js';
import { fixture } from '../helpers/paths.js';
import { assertVector, loadExpected, loadTexts } from '../encoder/fixture-data.js';

const TEXTS = loadTexts();
const TMP = mkdtempSync(join(tmpdir(), 'encode-cli-'));
after(() => rmSync(TMP, { recursive: true, force: true }));


function parseLines(s: string): Array<Record<string, unknown>> {
  return s.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

const IDS = [0, 4, 5, 17, 21];

test('plain text lines from stdin: one JSON line per input line, equal to the fixture (--document)', async () => {
  const expected = loadExpected('splade-bert').results['document']!;
  const input = IDS.map((i) => TEXTS[i]!.text.replace(/[\r\n]/g, ' ')).join('\n') + '\n';
  const r = await cli(['encode', '--model', fixture('splade-bert'), '--document', '--batch-size', '2'], input);
  assert.equal(r.code, 0, r.stderr);
  const lines = parseLines(r.stdout);
  assert.equal(lines.length, IDS.length);
  lines.forEach((l, k) => {
    assert.equal(l['id'], undefined);
    assertVector({ indices: Uint32Array.from(l['indices'] as number[]), values: Float32Array.from(l['values'] as number[]), dim: 30522 }, expected[IDS[k]!]!, `line ${k}`);
  });
});

test('JSONL input file with ids, --query --tokens, output file; the empty query gives an empty vector', async () => {
  const expected = loadExpected('inference-free').results['query']!;
  const inPath = join(TMP, 'in.jsonl');
  const outPath = join(TMP, 'out.jsonl');
  writeFileSync(inPath, IDS.map((i) => JSON.stringify({ id: `t${i}`, text: TEXTS[i]!.text })).join('\n') + '\n\n');
  const r = await cli(['encode', '--model', fixture('inference-free'), '--query', '--input', inPath, '--output', outPath, '--tokens']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const lines = parseLines(readFileSync(outPath, 'utf8'));
  assert.deepEqual(lines.map((l) => l['id']), IDS.map((i) => `t${i}`));
  lines.forEach((l, k) => {
    const rec = expected[IDS[k]!]!;
    if (rec.error !== undefined) {
      assert.deepEqual(l['indices'], []);
      return;
    }
    assertVector({ indices: Uint32Array.from(l['indices'] as number[]), values: Float32Array.from(l['values'] as number[]), dim: 30522 }, rec, `line ${k}`);
    // Values are written as the shortest decimal of the float32, as the fixtures are.
    assert.deepEqual(l['values'], rec.values);
    // [[token, weight], ...], heaviest first, one pair per non-zero, weights as in "values".
    const tokens = l['tokens'] as Array<[string, number]>;
    assert.ok(Array.isArray(tokens) && tokens.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string'));
    assert.equal(tokens.length, rec.nnz);
    for (let j = 1; j < tokens.length; j++) assert.ok(tokens[j - 1]![1] >= tokens[j]![1], `line ${k}: pairs in descending weight`);
    assert.deepEqual(tokens.map((p) => p[1]).sort((a, b) => a - b), [...rec.values].sort((a, b) => a - b));
  });
});

test('--max-active-dims keeps the top k', async () => {
  const rec = (loadExpected('splade-bert').max_active_dims['8']!['query'] as Array<{ indices: number[]; values: number[] }>)[1]!;
  const r = await cli(['encode', '--model', fixture('splade-bert'), '--query', '--max-active-dims', '8'], TEXTS[1]!.text + '\n');
  assert.equal(r.code, 0, r.stderr);
  const [line] = parseLines(r.stdout);
  assert.deepEqual(line!['indices'], rec.indices);
});

test('a JSONL input with a non-JSON line later is refused naming the line', async () => {
  const r = await cli(['encode', '--model', fixture('splade-bert')], '{"text": "a"}\nplain text\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /stdin:2:/);
  assert.match(r.stderr, /ERR_INVALID_INPUT/);
});

test('a JSONL number beyond a double (1e309) in an id or a copied key is refused naming the line and key, not written back as null', async () => {
  const extra = await cli(['encode', '--model', fixture('splade-bert')], '{"id": "a", "text": "a", "meta": {"rank": [1, -1e309]}}\n');
  assert.equal(extra.code, 1);
  assert.match(extra.stderr, /stdin:1: "meta"\.rank\.1 holds a number beyond the range of a double/);
  const id = await cli(['encode', '--model', fixture('splade-bert')], '{"id": "a", "text": "a"}\n{"id": 1e309, "text": "b"}\n');
  assert.equal(id.code, 1);
  assert.match(id.stderr, /stdin:2: "id" \/ "_id" must be a string or a finite number/);
});

test('a bad model path exits non-zero with a one-line message', async () => {
  const r = await cli(['encode', '--model', join(TMP, 'no-such-model')], 'x\n');
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  assert.match(r.stderr, /ERR_MODEL_NOT_FOUND/);
});

test('usage errors exit with 2', async () => {
  assert.equal((await cli(['encode'])).code, 2);
  assert.equal((await cli(['encode', '--model', 'x', '--query', '--document'])).code, 2);
  assert.equal((await cli(['encode', '--model', 'x', '--batch-size', '0'])).code, 2);
});

test('float32ToString writes the shortest round-tripping decimal', () => {
  for (const s of ['0.5688671', '2.63206', '0.0014180614', '1e-7', '39.123455']) {
    const f = Math.fround(Number(s));
    assert.equal(Math.fround(Number(float32ToString(f))), f);
  }
  assert.equal(float32ToString(Math.fround(0.5688671)), '0.5688671');
  assert.equal(float32ToString(Math.fround(2.63206)), '2.63206');
});

test('--quantize int8 encodes with the int8 graph (close to the fixture, not equal); bad precision flags are usage errors', async () => {
  const expected = loadExpected('splade-bert').results['document']!;
  const input = IDS.map((i) => TEXTS[i]!.text.replace(/[\r\n]/g, ' ')).join('\n') + '\n';
  for (const flags of [['--quantize', 'int8'], ['--quantize', 'int8', '--fp32-vocab']]) {
    const r = await cli(['encode', '--model', fixture('splade-bert'), '--document', ...flags], input);
    assert.equal(r.code, 0, r.stderr);
    const lines = parseLines(r.stdout);
    let differs = false;
    lines.forEach((l, k) => {
      const e = expected[IDS[k]!]!;
      const got = new Map((l['indices'] as number[]).map((i, j) => [i, (l['values'] as number[])[j]!]));
      let dotp = 0;
      let na = 0;
      let nb = 0;
      e.indices.forEach((i, j) => {
        dotp += (got.get(i) ?? 0) * e.values[j]!;
        nb += e.values[j]! ** 2;
      });
      for (const v of got.values()) na += v * v;
      assert.ok(dotp / Math.sqrt(na * nb) > 0.98, `line ${k}: cosine to fp32`);
      if (e.values.some((v, j) => got.get(e.indices[j]!) !== v)) differs = true;
    });
    assert.ok(differs, 'int8 vectors are not the fp32 ones');
  }
  for (const bad of [['--quantize', 'int4'], ['--fp32-vocab']]) {
    const r = await cli(['encode', '--model', fixture('splade-bert'), ...bad], 'x\n');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /quantize|fp32-vocab/);
  }
});

test('--long-documents window: the vector equals the library\'s window vector; the flags are checked', async () => {
  const { SparseEncoder } = await import('../../src/encoder/sparse-encoder.js');
  const text = TEXTS[39]!.text;
  const r = await cli(['encode', '--model', fixture('splade-bert'), '--document', '--long-documents', 'window', '--stride', '6', '--window-tokens', '40'], text + '\n');
  assert.equal(r.code, 0, r.stderr);
  const [line] = parseLines(r.stdout);
  const model = await SparseEncoder.fromPretrained(fixture('splade-bert'), { threads: 1 });
  try {
    const want = await model.encodeDocument(text, { longDocuments: 'window', stride: 6, windowTokens: 40 });
    assert.deepEqual(line!['indices'], Array.from(want.indices));
    assertVector({ indices: Uint32Array.from(line!['indices'] as number[]), values: Float32Array.from(line!['values'] as number[]), dim: 30522 }, { indices: Array.from(want.indices), values: Array.from(want.values) }, 'window vector');
  } finally {
    await model.dispose();
  }
  for (const bad of [['--stride', '4'], ['--long-documents', 'chunks'], ['--long-documents', 'window', '--stride', '-1']]) {
    const e = await cli(['encode', '--model', fixture('splade-bert'), ...bad], 'x\n');
    assert.equal(e.code, 2, `${bad.join(' ')}: ${e.stderr}`);
  }
  const tooWide = await cli(['encode', '--model', fixture('splade-bert'), '--long-documents', 'window', '--window-tokens', '65'], 'x\n');
  assert.notEqual(tooWide.code, 0);
  assert.match(tooWide.stderr, /windowTokens/);
});

test('encode lines carry "dim", so encode | export --format pgvector needs no --dim', async () => {
  const enc = await cli(['encode', '--model', fixture('splade-bert'), '--document'], 'a recipe for apple pie\nthe cat sat on the mat\n');
  assert.equal(enc.code, 0, enc.stderr);
  const lines = parseLines(enc.stdout);
  assert.deepEqual(lines.map((l) => l['dim']), [30522, 30522]);
  const withIds = lines.map((l, i) => JSON.stringify({ id: `d${i}`, ...l })).join('\n') + '\n';
  const exp = await cli(['export', '--format', 'pgvector'], withIds);
  assert.equal(exp.code, 0, exp.stderr);
  assert.match(exp.stdout, /\/30522\n/);
});
