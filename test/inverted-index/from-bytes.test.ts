// SparseIndex.fromBytes (issue 23, search in a page or a worker): an index file's bytes give the
// index `open` gives, with the same checks, and the portable CRC-32 is zlib's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { isSparseEncoderError, type ErrorCode } from '../../src/errors.js';
import { crc32 } from '../../src/inverted-index/index-bytes.js';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { randomDocs, randomQueries } from './random-docs.js';

test('the portable CRC-32 equals zlib\'s, continued across chunks too', () => {
  let seed = 3;
  const bytes = Uint8Array.from({ length: 100_003 }, () => (seed = (seed * 1103515245 + 12345) % 2147483648) & 0xff);
  assert.equal(crc32(bytes), zlibCrc32(bytes) >>> 0);
  assert.equal(crc32(bytes.subarray(50_000), crc32(bytes.subarray(0, 50_000))), zlibCrc32(bytes) >>> 0);
  assert.equal(crc32(new Uint8Array()), 0);
});

test('fromBytes answers as open does: exact and block search, stored fields, an ArrayBuffer or an unaligned view', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'from-bytes-'));
  try {
    const docs = randomDocs(0, 3000).map((d, i) => ({ ...d, fields: { n: i } }));
    const built = await SparseIndex.build(docs, { blocks: { postingsPerTerm: 200, blockSize: 8 } });
    const path = join(dir, 'i.idx');
    await built.save(path);
    built.dispose();
    const opened = await SparseIndex.open(path);
    const file = readFileSync(path);
    const copy = new Uint8Array(file.byteLength);
    copy.set(file);
    const unaligned = new Uint8Array(file.byteLength + 3).subarray(3);
    unaligned.set(file);
    for (const fromBytes of [SparseIndex.fromBytes(copy), SparseIndex.fromBytes(copy.buffer), SparseIndex.fromBytes(unaligned)]) {
      assert.deepEqual(fromBytes.info(), opened.info());
      for (const q of randomQueries(20)) {
        assert.deepEqual(fromBytes.search(q, { k: 10, fields: true }), opened.search(q, { k: 10, fields: true }));
        const approx = { k: 10, exact: false, approximateAlgorithm: 'blocks' } as const;
        assert.deepEqual(fromBytes.search(q, approx), opened.search(q, approx));
      }
      fromBytes.dispose();
    }
    opened.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fromBytes refuses corrupt, truncated and foreign bytes with the file checks\' codes', async () => {
  const index = await SparseIndex.build(randomDocs(0, 200));
  const dir = mkdtempSync(join(tmpdir(), 'from-bytes-'));
  try {
    await index.save(join(dir, 'i.idx'));
    const good = new Uint8Array(readFileSync(join(dir, 'i.idx')));
    const flipped = good.slice();
    flipped[Math.floor(good.length / 2)]! ^= 0xff;
    const cases: Array<[Uint8Array, ErrorCode]> = [
      [flipped, 'ERR_INDEX_CORRUPT'],
      [good.slice(0, good.length - 100), 'ERR_INDEX_TRUNCATED'],
      [new TextEncoder().encode('{"not": "an index"}'), 'ERR_INDEX_FORMAT'],
    ];
    for (const [bytes, code] of cases) assert.throws(() => SparseIndex.fromBytes(bytes, { name: 'test.idx' }), (e: unknown) => isSparseEncoderError(e, code) && (e as Error).message.includes('test.idx'), code);
    // Without the checksum the flipped byte may go unseen by the frame checks; the sections' own checks still run.
    assert.doesNotThrow(() => SparseIndex.fromBytes(good, { verifyChecksum: false }).dispose());
  } finally {
    index.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('where there are no files (#index-files outside Node), opening or saving refuses with ERR_NOT_SUPPORTED', async () => {
  const stub = await import('../../src/inverted-index/index-files-unavailable.js');
  for (const call of [() => stub.readIndexFile('x.idx'), () => stub.writeIndexFile('x.idx', { settings: {}, counts: {} }, {}), () => stub.openOnDemand('x.idx', undefined as never)]) {
    await assert.rejects(call(), (e: unknown) => isSparseEncoderError(e, 'ERR_NOT_SUPPORTED') && /fromBytes/.test((e as Error).message));
  }
});
