// Hostile weight files (issue 8): small files that would make us allocate gigabytes, and
// non-finite weights. Each refusal is a coded error before the allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDeflateRaw } from 'node:zlib';
import { isSparseEncoderError } from '../../src/errors.js';
import { loadStateDict } from '../../src/weights/load.js';
import { parsePytorchBin } from '../../src/weights/pytorch.js';
import { f32Bytes, PickleWriter, safetensorsBytes, zipBytes } from './builders.js';

const CHILD = fileURLToPath(new URL('./hostile-child.js', import.meta.url));
const MiB = 1024 * 1024;

/** A state dict pickle with one FloatStorage tensor "w". */
function stateDict(numel: number, shape: number[], stride: number[]): Uint8Array {
  const p = new PickleWriter().proto(2);
  p.global('collections', 'OrderedDict').op(0x29).reduce();
  p.str('w');
  p.global('torch._utils', '_rebuild_tensor_v2').rebuildTensorArgs('FloatStorage', '0', numel, 0, shape, stride);
  p.op(0x73); // SETITEM
  return p.stop();
}

/** Deflates `size` zero bytes in 16 MiB pieces, never holding them all. */
async function deflatedZeros(size: number): Promise<Buffer> {
  const d = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => d.on('end', resolve).on('error', reject));
  const piece = Buffer.alloc(16 * MiB);
  for (let left = size; left > 0; left -= piece.byteLength) {
    const chunk = left >= piece.byteLength ? piece : piece.subarray(0, left);
    if (!d.write(chunk)) await new Promise((r) => d.once('drain', r));
  }
  d.end();
  await done;
  return Buffer.concat(out);
}

/** A zip whose `archive/data/0` entry is the given deflate stream, declaring `size` bytes. */
function zipWithDeflatedEntry(pkl: Uint8Array, body: Buffer, size: number): Uint8Array {
  return zipBytes([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/data/0', data: new Uint8Array(0), deflated: { body, size } },
  ]);
}

function loadInChild(bytes: Uint8Array): { code: string; message: string; maxRssBytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'se-hostile-'));
  try {
    const path = join(dir, 'pytorch_model.bin');
    writeFileSync(path, bytes);
    const r = spawnSync(process.execPath, [CHILD, path], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { code: string; message: string; maxRssBytes: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a small pytorch_model.bin deflating to 1 GiB is refused as a zip bomb, with peak RSS under 512 MB', async () => {
  const size = 1024 * MiB;
  const body = await deflatedZeros(size);
  assert.ok(body.byteLength < 2 * MiB, `${body.byteLength} bytes of deflate`);
  const bytes = zipWithDeflatedEntry(stateDict(size / 4, [16384, 16384], [16384, 1]), body, size);
  const r = loadInChild(bytes);
  assert.equal(r.code, 'ERR_CORRUPT_WEIGHTS', r.message);
  assert.match(r.message, /zip bomb/);
  assert.ok(r.maxRssBytes < 512 * MiB, `peak RSS ${(r.maxRssBytes / MiB).toFixed(0)} MiB`);
  // An entry that inflates beyond what its header declares is cut at the declared size.
  const liar = zipWithDeflatedEntry(stateDict(16, [16], [1]), await deflatedZeros(4096), 64);
  assert.throws(() => parsePytorchBin(liar, { source: 'liar.bin' }), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /liar\.bin/.test(e.message));
});

test('zero strides claiming a huge shape are refused before allocating, with peak RSS under 512 MB', () => {
  for (const shape of [[32768, 16384], [2 ** 20, 2 ** 20]]) {
    const bytes = zipBytes([
      { name: 'archive/data.pkl', data: stateDict(1, shape, [0, 0]) },
      { name: 'archive/data/0', data: f32Bytes(Float32Array.of(1)) },
    ]);
    const r = loadInChild(bytes);
    assert.equal(r.code, 'ERR_CORRUPT_WEIGHTS', `${JSON.stringify(shape)}: ${r.message}`);
    assert.match(r.message, /larger than its storage/);
    assert.ok(r.maxRssBytes < 512 * MiB, `peak RSS ${(r.maxRssBytes / MiB).toFixed(0)} MiB`);
  }
});

test('NaN or infinite weights are refused at load, naming the tensor', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'se-nan-'));
  try {
    for (const bad of [NaN, Infinity, -Infinity]) {
      writeFileSync(
        join(dir, 'model.safetensors'),
        safetensorsBytes({
          'ok.weight': { dtype: 'F32', shape: [2], bytes: f32Bytes(Float32Array.of(1, 2)) },
          'bert.encoder.layer.0.output.dense.weight': { dtype: 'F32', shape: [3], bytes: f32Bytes(Float32Array.of(0, bad, 1)) },
        }),
      );
      await assert.rejects(loadStateDict(dir), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && e.message.includes('bert.encoder.layer.0.output.dense.weight') && e.message.includes('position 1'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
