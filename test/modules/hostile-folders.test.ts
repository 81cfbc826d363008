// Hostile model folders (issue 8): FIFOs, devices and symlinks out of the folder are refused
// quickly with coded errors, before anything is read from them; the Hugging Face cache's own
// symlinks (snapshot → blobs) keep working.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { SparseEncoder } from '../../src/encoder/sparse-encoder.js';
import { isSparseEncoderError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';

const TMP = mkdtempSync(join(tmpdir(), 'se-hostile-folder-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
let n = 0;

function copyOf(name: string): string {
  const dst = join(TMP, `${name}-${n++}`);
  cpSync(fixture(name), dst, { recursive: true });
  return dst;
}

async function refusedQuickly(folder: string, match: RegExp): Promise<void> {
  const t0 = Date.now();
  await assert.rejects(SparseEncoder.fromPretrained(folder, { threads: 1 }), (e) => {
    assert.ok(isSparseEncoderError(e, 'ERR_INVALID_CONFIG'), String(e));
    assert.match(e.message, match);
    return true;
  });
  assert.ok(Date.now() - t0 < 1000, `refused after ${Date.now() - t0} ms`);
}

test('config.json as a FIFO is refused within a second, without blocking on it', async () => {
  const folder = copyOf('splade-bert');
  unlinkSync(join(folder, 'config.json'));
  execFileSync('mkfifo', [join(folder, 'config.json')]);
  await refusedQuickly(folder, /config\.json.*FIFO/);
});

test('tokenizer.json linked to /dev/urandom or /dev/zero is refused within a second', async () => {
  for (const device of ['/dev/urandom', '/dev/zero']) {
    const folder = copyOf('splade-bert');
    unlinkSync(join(folder, 'tokenizer.json'));
    symlinkSync(device, join(folder, 'tokenizer.json'));
    await refusedQuickly(folder, /tokenizer\.json is a symlink to \/dev\//);
  }
});

test('a module folder symlinked outside the model folder is refused, even though its path text stays inside', async () => {
  const folder = copyOf('inference-free');
  const outside = join(TMP, `elsewhere-${n++}`);
  renameSync(join(folder, 'document_0_MLMTransformer'), outside);
  symlinkSync(outside, join(folder, 'document_0_MLMTransformer'));
  await refusedQuickly(folder, /document_0_MLMTransformer is a symlink to .*outside the model folder/);
});

test('symlinks inside the folder, and a Hugging Face cache snapshot linking into its blobs, still load', async () => {
  const folder = copyOf('splade-bert');
  renameSync(join(folder, 'vocab.txt'), join(folder, 'vocab-real.txt'));
  symlinkSync('vocab-real.txt', join(folder, 'vocab.txt'));
  const local = await SparseEncoder.fromPretrained(folder, { threads: 1 });
  await local.dispose();

  // The cache layout: snapshots/<commit>/<file> → ../../blobs/<etag>.
  const repo = join(TMP, 'cache', 'models--acme--splade');
  const snapshot = join(repo, 'snapshots', 'e'.repeat(40));
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)).map((g) => join(f, g)) : [f]));
  for (const f of walk(fixture('splade-bert'))) {
    const blob = join(repo, 'blobs', `blob-${n++}`);
    mkdirSync(dirname(blob), { recursive: true });
    writeFileSync(blob, readFileSync(join(fixture('splade-bert'), f)));
    mkdirSync(dirname(join(snapshot, f)), { recursive: true });
    symlinkSync(relative(dirname(join(snapshot, f)), blob), join(snapshot, f));
  }
  const cached = await SparseEncoder.fromPretrained(snapshot, { threads: 1 });
  assert.equal(cached.dim, 30522);
  await cached.dispose();
});
