import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli } from '../helpers/cli.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { OPTIONS as ENCODE } from '../../src/cli/commands/encode.js';
import { OPTIONS as EVAL } from '../../src/cli/commands/eval.js';
import { OPTIONS as EXPORT } from '../../src/cli/commands/export.js';
import { ADD_OPTIONS, BUILD_OPTIONS, MERGE_OPTIONS } from '../../src/cli/commands/index-cmd.js';
import { OPTIONS as SEARCH } from '../../src/cli/commands/search.js';
import { OPTIONS as SERVE } from '../../src/cli/commands/serve.js';

const TMP = mkdtempSync(join(tmpdir(), 'unix-cli-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const MINI = join(fixture('eval'), 'mini');
const MODEL = fixture('splade-bert');
const BIN = join(repoRoot(), 'bin', 'sparse-encoder.js');

const lines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('a BEIR corpus.jsonl goes straight through encode --document → index build --vectors → search --vectors - (stdin), BEIR ids kept', async () => {
  const vecs = join(TMP, 'corpus.vec.jsonl');
  const enc = await cli(['encode', '--model', MODEL, '--document', '--input', join(MINI, 'corpus.jsonl'), '--output', vecs]);
  assert.equal(enc.code, 0, enc.stderr);
  const corpusIds = lines(readFileSync(join(MINI, 'corpus.jsonl'), 'utf8')).map((d) => d['_id']);
  assert.deepEqual(lines(readFileSync(vecs, 'utf8')).map((l) => l['id']), corpusIds, 'encode copies BEIR _id as "id"');
  const idx = join(TMP, 'mini.idx');
  const build = await cli(['index', 'build', '--vectors', vecs, '--out', idx]);
  assert.equal(build.code, 0, build.stderr);
  const q = await cli(['encode', '--model', MODEL, '--query', '--input', join(MINI, 'queries.jsonl')]);
  assert.equal(q.code, 0, q.stderr);
  const s = await cli(['search', '--index', idx, '--vectors', '-', '-k', '3'], q.stdout);
  assert.equal(s.code, 0, s.stderr);
  const results = lines(s.stdout) as Array<{ query_id: string; hits: Array<{ id: string; score: number }> }>;
  assert.deepEqual(results.map((r) => r.query_id), lines(readFileSync(join(MINI, 'queries.jsonl'), 'utf8')).map((x) => x['_id']));
  for (const r of results) {
    assert.ok(r.hits.length > 0 && r.hits.every((h) => corpusIds.includes(h.id)), JSON.stringify(r));
  }
  // q1 is "apple banana": d2 is exactly "apple banana" and must come first.
  assert.equal(results[0]!.hits[0]!.id, 'd2');
});

test('index build --texts and search --texts read BEIR files; --store-fields shows with search --fields', async () => {
  const idx = join(TMP, 'texts.idx');
  const b = await cli(['index', 'build', '--model', MODEL, '--texts', join(MINI, 'corpus.jsonl'), '--out', idx, '--store-fields']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /12 documents/);
  const s = await cli(['search', '--index', idx, '--model', MODEL, '--texts', join(MINI, 'queries.jsonl'), '-k', '2', '--fields']);
  assert.equal(s.code, 0, s.stderr);
  const first = lines(s.stdout)[0] as { query_id: string; hits: Array<{ id: string; fields: Record<string, unknown> }> };
  assert.equal(first.query_id, 'q1');
  assert.equal(first.hits[0]!.id, 'd2');
  assert.deepEqual(first.hits[0]!.fields, { title: '', text: 'apple banana' });
  const plain = await cli(['search', '--index', idx, '--model', MODEL, '--texts', join(MINI, 'queries.jsonl'), '-k', '2']);
  assert.ok(!('fields' in (lines(plain.stdout)[0] as { hits: object[] }).hits[0]!), 'no fields without --fields');
});

test('BEIR titles are joined as the evaluator does: title + " " + text', async () => {
  const input = join(TMP, 'titled.jsonl');
  writeFileSync(input, JSON.stringify({ _id: 'a', title: 'Apple', text: 'banana' }) + '\n' + JSON.stringify({ _id: 'b', title: '', text: 'apple banana' }) + '\n');
  const r = await cli(['encode', '--model', MODEL, '--document', '--input', input]);
  const joined = await cli(['encode', '--model', MODEL, '--document'], 'Apple banana\napple banana\n');
  assert.equal(r.code, 0, r.stderr);
  const [a, b] = lines(r.stdout);
  const [ja, jb] = lines(joined.stdout);
  assert.deepEqual([a!['indices'], a!['values']], [ja!['indices'], ja!['values']]);
  assert.deepEqual([b!['indices'], b!['values']], [jb!['indices'], jb!['values']]);
});

test('search is exact by default; --approximate opts in; approximate-only flags need it', async () => {
  const idx = join(TMP, 'mini.idx');
  const q = await cli(['encode', '--model', MODEL, '--query', '--input', join(MINI, 'queries.jsonl')]);
  const exact = await cli(['search', '--index', idx, '--vectors', '-'], q.stdout);
  const explicit = await cli(['search', '--index', idx, '--vectors', '-', '--exact'], q.stdout);
  assert.equal(exact.stdout, explicit.stdout);
  const approx = await cli(['search', '--index', idx, '--vectors', '-', '--approximate', '--heap-factor', '0.5'], q.stdout);
  assert.equal(approx.code, 0, approx.stderr);
  const bad = await cli(['search', '--index', idx, '--vectors', '-', '--heap-factor', '0.5'], q.stdout);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /add --approximate/);
});

test('search --threads 2 answers exactly as one thread, in input order (exact and approximate)', async () => {
  const q = await cli(['encode', '--model', MODEL, '--query', '--input', join(MINI, 'queries.jsonl')]);
  const many = q.stdout.repeat(60); // 300 queries: several chunks per thread
  for (const extra of [[], ['--approximate', '--heap-factor', '0.5']]) {
    const one = await cli(['search', '--index', join(TMP, 'mini.idx'), '--vectors', '-', '-k', '5', ...extra], many);
    const two = await cli(['search', '--index', join(TMP, 'mini.idx'), '--vectors', '-', '-k', '5', '--threads', '2', ...extra], many);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(lines(two.stdout).length, 300);
    assert.equal(two.stdout, one.stdout);
  }
});

test('--help on every command and subcommand lists every option it accepts', async () => {
  const commands: Array<[string[], Record<string, unknown>]> = [
    [['encode'], ENCODE],
    [['index', 'build'], BUILD_OPTIONS],
    [['index', 'add'], ADD_OPTIONS],
    [['index', 'merge'], MERGE_OPTIONS],
    [['search'], SEARCH],
    [['eval'], EVAL],
    [['export'], EXPORT],
    [['serve'], SERVE],
  ];
  for (const [cmd, options] of commands) {
    for (const flag of ['--help', '-h']) {
      const r = await cli([...cmd, flag]);
      assert.equal(r.code, 0, `${cmd.join(' ')} ${flag}: ${r.stderr}`);
      for (const name of Object.keys(options)) assert.ok(r.stdout.includes(`--${name}`), `${cmd.join(' ')} --help does not list --${name}`);
      assert.ok(/default/.test(r.stdout), `${cmd.join(' ')} --help states defaults`);
    }
  }
  const info = await cli(['index', 'info', '--help']);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /index info <file\|dir>/);
  const top = await cli(['--help']);
  assert.match(top.stdout, /exit status: 0 success, 1 runtime error, 2 usage error, 130 interrupted/);
});

test('--version prints the package version', async () => {
  const r = await cli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).version + '\n');
});

test('exit codes: 0 success, 1 runtime error, 2 usage error (bad --port included); an unwritable output is one coded line', async () => {
  assert.equal((await cli(['index', 'info', join(TMP, 'mini.idx')])).code, 0);
  const missing = await cli(['search', '--index', join(TMP, 'nope.idx'), '--vectors', '-'], '');
  assert.equal(missing.code, 1);
  for (const argv of [['encode', '--bogus'], ['search'], ['serve', '--model', MODEL, '--port', 'http'], ['serve', '--model', MODEL, '--port', '70000'], ['frobnicate'], []]) {
    const r = await cli(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
  }
  const out = await cli(['encode', '--model', MODEL, '--output', '/no/such/dir/x.jsonl'], 'hello\n');
  assert.equal(out.code, 1);
  assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
  assert.match(out.stderr, /cannot write \/no\/such\/dir\/x\.jsonl: its folder does not exist \[ERR_OUTPUT_NOT_WRITABLE\]/);
  const idx = await cli(['index', 'build', '--vectors', '-', '--out', '/no/such/dir/x.idx'], '{"id":"a","indices":[1],"values":[1]}\n');
  assert.equal(idx.code, 1);
  assert.match(idx.stderr, /ERR_OUTPUT_NOT_WRITABLE/);
});

test('a real process: `search | head -1` ends quietly with status 0, and SIGINT exits 130', async () => {
  const q = await cli(['encode', '--model', MODEL, '--query', '--input', join(MINI, 'queries.jsonl')]);
  const many = join(TMP, 'many.jsonl');
  writeFileSync(many, q.stdout.repeat(4000)); // ~20k result lines: far more than a pipe holds
  const r = spawnSync('bash', ['-c', `node ${JSON.stringify(BIN)} search --index ${JSON.stringify(join(TMP, 'mini.idx'))} --vectors ${JSON.stringify(many)} | head -1; echo "status \${PIPESTATUS[0]}" >&2`], {
    encoding: 'utf8',
  });
  assert.equal(r.stdout.split('\n').filter((l) => l !== '').length, 1, 'head printed one line');
  assert.match(r.stdout, /"query_id":"q1"/);
  assert.equal(r.stderr.trim(), 'status 0', `no stack trace, status 0; stderr: ${r.stderr}`);

  // Waiting on stdin, then Ctrl-C.
  const child = spawn(process.execPath, [BIN, 'search', '--index', join(TMP, 'mini.idx'), '--vectors', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise((resolve) => setTimeout(resolve, 800));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted/);
});

test('progress in a pseudo-terminal: a bar with count, percent of the input, rate and ETA; a hint when stdin is a terminal', { skip: spawnSync('script', ['--version']).status !== 0 ? 'util-linux script is not installed' : false }, () => {
  const input = join(TMP, 'progress.txt');
  writeFileSync(input, Array.from({ length: 3000 }, (_, i) => `text number ${i} about apples and bananas`).join('\n') + '\n');
  const cmd = `node ${JSON.stringify(BIN)} encode --model ${JSON.stringify(MODEL)} --input ${JSON.stringify(input)} --chunk-size 200 --output /dev/null`;
  const r = spawnSync('script', ['-qefc', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '120' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // The bar's frames (redrawn with \r), e.g. "encode [######..........] 1200 40% 850/s ETA 2s".
  const frames = r.stdout.split('\r').map((f) => f.replace(/\x1b\[K/g, ''));
  assert.ok(frames.some((f) => /loading .*splade-bert/.test(f)), 'a spinner while the model loads');
  assert.ok(frames.some((f) => /^encode \[#*\.*\] \d+ \d+% [\d.]+\/s ETA \d+s/.test(f)), `a bar with count, percent, rate and ETA:\n${frames.slice(0, 8).join('\n')}`);
  assert.ok(frames.some((f) => /^encode \[#{24}\] 3000 100% [\d.]+\/s \d+s/.test(f)), 'the final frame: all 3000, 100%');
  // Without a TTY nothing is drawn.
  const piped = spawnSync(process.execPath, [BIN, 'encode', '--model', MODEL, '--input', input, '--output', '/dev/null'], { encoding: 'utf8' });
  assert.equal(piped.status, 0);
  assert.equal(piped.stderr, '');
  // A terminal on stdin gets a hint instead of silence (EOF right away ends it).
  const hint = spawnSync('script', ['-qefc', `node ${JSON.stringify(BIN)} encode --model ${JSON.stringify(MODEL)} --output /dev/null < /dev/tty`, '/dev/null'], {
    encoding: 'utf8',
    input: '\x04',
  });
  assert.match(hint.stdout, /reading texts .* from stdin \(end with Ctrl-D/);
});
