import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { isSparseEncoderError, type ErrorCode } from '../../src/errors.js';
import { toySet } from './toy-data.js';
import { assertSameRanking, bruteForce } from './brute-force.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sparse-index-'));
}

async function toyIndex(quantize: 'f32' | 'f16' | 'u8' = 'f32'): Promise<SparseIndex> {
  const { docs } = toySet();
  return SparseIndex.build(
    docs.map((d) => ({ id: d.id, vector: d.vector, fields: { text: d.content } })),
    { quantize },
  );
}

test('save then open answers exactly as before, for every weight storage', async () => {
  const dir = tempDir();
  const { docs, queries } = toySet();
  for (const quantize of ['f32', 'f16', 'u8'] as const) {
    const index = await toyIndex(quantize);
    // A file with a tombstone, as a SegmentedIndex segment (or an older version's delete) leaves one.
    index.markDeleted(3);
    const path = join(dir, `toy-${quantize}.idx`);
    await index.save(path);
    const opened = await SparseIndex.open(path);
    assert.equal(opened.size, 19);
    assert.equal(opened.dim, 30522);
    const info = opened.info();
    assert.equal(info.quantize, quantize);
    assert.equal(info.documents, 20);
    assert.equal(info.liveDocuments, 19);
    assert.equal(info.fileBytes, readFileSync(path).length);
    for (const q of queries) {
      assert.deepEqual(opened.search(q.vector, { k: 20 }), index.search(q.vector, { k: 20 }));
    }
    if (quantize === 'f32') {
      for (const q of queries) assertSameRanking(opened.search(q.vector, { k: 20 }), bruteForce(docs, q.vector, 20, new Set([docs[3]!.id])), 1e-6, 'reopened');
    }
    assert.equal(opened.get(docs[0]!.id).fields?.text, docs[0]!.content);
  }
  rmSync(dir, { recursive: true });
});

async function expectOpenError(path: string, code: ErrorCode): Promise<void> {
  await assert.rejects(SparseIndex.open(path), (e) => isSparseEncoderError(e, code) && e.message.includes(path));
}

test('a truncated, corrupt, foreign or newer file is refused with the right code', async () => {
  const dir = tempDir();
  const path = join(dir, 'toy.idx');
  await (await toyIndex()).save(path);
  const good = readFileSync(path);

  for (const cut of [0, 5, 20, 100, good.length - 17, good.length - 1]) {
    writeFileSync(join(dir, 't.idx'), good.subarray(0, cut));
    await expectOpenError(join(dir, 't.idx'), 'ERR_INDEX_TRUNCATED');
  }
  // One flipped bit anywhere (header, a section, the footer checksum) is caught by the checksum.
  for (const at of [40, Math.floor(good.length / 2), good.length - 20, good.length - 16]) {
    const bad = Buffer.from(good);
    bad[at]! ^= 0x10;
    writeFileSync(join(dir, 'c.idx'), bad);
    await expectOpenError(join(dir, 'c.idx'), 'ERR_INDEX_CORRUPT');
  }
  writeFileSync(join(dir, 'g.idx'), Buffer.concat([good, Buffer.from('x')]));
  await expectOpenError(join(dir, 'g.idx'), 'ERR_INDEX_CORRUPT');
  writeFileSync(join(dir, 'f.idx'), '{"not": "an index"}\n');
  await expectOpenError(join(dir, 'f.idx'), 'ERR_INDEX_FORMAT');
  writeFileSync(join(dir, 'z.idx'), Buffer.alloc(0));
  await expectOpenError(join(dir, 'z.idx'), 'ERR_INDEX_TRUNCATED');
  const newer = Buffer.from(good);
  newer.writeUInt32LE(2, 8);
  writeFileSync(join(dir, 'v.idx'), newer);
  await expectOpenError(join(dir, 'v.idx'), 'ERR_INDEX_VERSION');
  await assert.rejects(SparseIndex.open(join(dir, 'missing.idx')), (e) => isSparseEncoderError(e, 'ERR_FILE_NOT_FOUND'));
  rmSync(dir, { recursive: true });
});

test('a write that fails midway (disk full) leaves the previous index intact and no temporary file', async () => {
  const dir = tempDir();
  const path = join(dir, 'toy.idx');
  const { docs, queries } = toySet();
  const index = await toyIndex();
  await index.save(path);
  const before = readFileSync(path);
  const smaller = await SparseIndex.build(docs.slice(0, 5).map((d) => ({ id: d.id, vector: d.vector })));
  await smaller.save(join(dir, 'probe.idx'));
  const size = readFileSync(join(dir, 'probe.idx')).length;
  rmSync(join(dir, 'probe.idx'));
  for (const failAfterBytes of [0, 10, 1000, size - 20, size - 1]) {
    await assert.rejects(smaller.save(path, { fault: { failAfterBytes } }), (e) => isSparseEncoderError(e, 'ERR_INDEX_WRITE'));
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(readdirSync(dir), ['toy.idx']);
  }
  const reopened = await SparseIndex.open(path);
  for (const q of queries) assert.deepEqual(reopened.search(q.vector), index.search(q.vector));
  await assert.rejects(index.save(join(dir, 'no-such-dir', 'x.idx')), (e) => isSparseEncoderError(e, 'ERR_INDEX_WRITE'));
  rmSync(dir, { recursive: true });
});

test('killing the process during a save never leaves a broken index behind', async () => {
  const dir = tempDir();
  const path = join(dir, 'corpus.idx');
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const child = fileURLToPath(new URL(`./save-child${ext}`, import.meta.url));
  const run = (n: number, killOnReady: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [...process.execArgv, child, path, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
      p.stdout.on('data', (b: Buffer) => {
        if (killOnReady && b.toString().includes('saving')) setTimeout(() => p.kill('SIGKILL'), 5);
      });
      p.on('error', reject);
      p.on('exit', () => resolve());
    });
  await run(2000, false);
  const first = await SparseIndex.open(path);
  assert.equal(first.size, 2000);
  const probe = first.search(first.get('d7').vector, { k: 5 });
  // Rewrite with a larger corpus and kill the writer while it saves, several times.
  for (let i = 0; i < 2; i++) {
    await run(30000, true);
    const after = await SparseIndex.open(path); // must not throw
    assert.ok(after.size === 2000 || after.size === 30000, `size ${after.size}`);
    if (after.size === 2000) assert.deepEqual(after.search(first.get('d7').vector, { k: 5 }), probe);
  }
  assert.ok(existsSync(path));
  rmSync(dir, { recursive: true });
});

test('regression: an index with empty sections (no long terms) keeps a valid checksum', async () => {
  // Node's zlib.crc32 drops the running value for an empty view of an empty buffer.
  const dir = tempDir();
  const path = join(dir, 'one.idx');
  const { docs } = toySet();
  const index = await SparseIndex.build([{ id: 'only', vector: docs[0]!.vector }]);
  await index.save(path);
  const opened = await SparseIndex.open(path);
  assert.equal(opened.info().longTerms, 0);
  assert.deepEqual(opened.search(docs[0]!.vector).map((h) => h.id), ['only']);
  rmSync(dir, { recursive: true });
});

test('temp files of a killed save are removed by the next save or open; a live process\'s are left alone', async () => {
  const dir = tempDir();
  const path = join(dir, 'corpus.idx');
  const index = await toyIndex();
  await index.save(path);
  // A pid that is surely gone: a child that has exited.
  const child = spawn(process.execPath, ['-e', '0']);
  const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
  const stale = join(dir, `.corpus.idx.tmp-${deadPid}-abc`);
  const live = join(dir, `.corpus.idx.tmp-${process.pid}-def`);
  const other = join(dir, `.other.idx.tmp-${deadPid}-abc`);
  for (const f of [stale, live, other]) writeFileSync(f, 'partial');
  const reopened = await SparseIndex.open(path);
  reopened.dispose();
  assert.equal(existsSync(stale), false, 'the dead process\'s temp file is gone after open');
  assert.equal(existsSync(live), true, 'a live process\'s temp file stays');
  assert.equal(existsSync(other), true, 'another index\'s temp file is not ours');
  writeFileSync(stale, 'partial');
  await index.save(path);
  assert.equal(existsSync(stale), false, 'and after save');
  index.dispose();
  rmSync(dir, { recursive: true, force: true });
});
