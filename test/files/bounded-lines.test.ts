// Line reading with a bound (issue 26): the same lines as Node's readline on tricky inputs however the
// bytes are chunked, and a line without end refused early, naming the line and the limit, in bounded
// memory (a child process streams up to 2 GiB with no newline into the CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { isSparseEncoderError } from '../../src/errors.js';
import { boundedLines } from '../../src/files/bounded-lines.js';

const SAMPLES = [
  'a\nb\r\nc\rd\n\ne',
  'trailing newline\n',
  '\r\n\r\n',
  'héllo wörld 😀\ncafé\r\nna\u00efve',
  'no break at all',
  '',
  'x\r',
  '\n\n\nlast',
];

async function viaReadline(bytes: Uint8Array): Promise<string[]> {
  const out: string[] = [];
  for await (const l of createInterface({ input: Readable.from([Buffer.from(bytes)]), crlfDelay: Infinity })) out.push(l);
  return out;
}

/** `bytes` cut into chunks at every `step` bytes (so \r\n pairs and UTF-8 sequences get split). */
async function viaBounded(bytes: Uint8Array, step: number): Promise<string[]> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += step) chunks.push(bytes.subarray(i, i + step));
  const out: string[] = [];
  for await (const l of boundedLines(Readable.from(chunks), 'sample')) out.push(l.text);
  return out;
}

test('the same lines as readline (crlfDelay Infinity) on every sample, however the bytes are chunked', async () => {
  for (const s of SAMPLES) {
    const bytes = new TextEncoder().encode(s);
    const want = await viaReadline(bytes);
    for (const step of [1, 2, 3, 7, 1 << 16]) assert.deepEqual(await viaBounded(bytes, step), want, `${JSON.stringify(s)} in chunks of ${step}`);
  }
});

test('a line over the limit is ERR_INPUT_TOO_LONG naming the input, the line number and the limit', async () => {
  const lines = boundedLines(Readable.from([Buffer.from('ok\nshort\n' + 'x'.repeat(100) + '\nnever')]), 'in.jsonl', 50);
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const l of lines) got.push(l.text);
    })(),
    (e: unknown) => isSparseEncoderError(e, 'ERR_INPUT_TOO_LONG') && /in\.jsonl:3: .*50 bytes/.test((e as Error).message),
  );
  assert.deepEqual(got, ['ok', 'short']);
});

test('the CLI on a 2 GiB line without newline stops early with its code, in bounded memory', { timeout: 120_000 }, () => {
  const child = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'long-line-child.js');
  const r = spawnSync(process.execPath, [child, '2048'], { encoding: 'utf8', env: { ...process.env, SPARSE_ENCODER_MAX_LINE_BYTES: String(16 << 20) } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { code: number; stderr: string; sentMiB: number; peakRssMiB: number };
  assert.notEqual(out.code, 0);
  assert.match(out.stderr, /stdin:1: line is longer than 16777216 bytes/);
  assert.match(out.stderr, /ERR_INPUT_TOO_LONG/);
  // It stopped reading soon after the 16 MiB limit, and held about that much.
  assert.ok(out.sentMiB < 64, `read ${out.sentMiB} MiB of 2048`);
  assert.ok(out.peakRssMiB < 400, `peak RSS ${out.peakRssMiB} MiB`);
});
