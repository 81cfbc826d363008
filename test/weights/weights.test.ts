import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSparseEncoderError } from '../../src/errors.js';
import { f16ToFloat32, halfToFloat } from '../../src/weights/dtype.js';
import { loadStateDict } from '../../src/weights/load.js';
import { parsePytorchBin, readPytorchBin } from '../../src/weights/pytorch.js';
import { parseSafetensors } from '../../src/weights/safetensors.js';
import { readSafetensors } from '../../src/weights/read-file.js';
import type { StateDict } from '../../src/weights/types.js';
import { unpickle } from '../../src/weights/unpickle.js';
import { fixture } from '../helpers/paths.js';
import { PickleWriter, f32Bytes, safetensorsBytes, storedZipEntries, zipBytes } from './builders.js';

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
const readJson = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));

function withTempDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'se-weights-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function assertBitEqual(a: StateDict, b: StateDict, names: Iterable<string>): number {
  let n = 0;
  for (const name of names) {
    const x = a.get(name)!;
    const y = b.get(name)!;
    assert.deepEqual(x.shape, y.shape, name);
    assert.deepEqual(bits(x.data), bits(y.data), name);
    n++;
  }
  return n;
}

test('pytorch_model.bin gives exactly the tensors of the equivalent model.safetensors', async () => {
  const bin = await loadStateDict(fixture('splade-distilbert-bin'));
  const st = await loadStateDict(fixture('splade-distilbert'));
  const expected = readJson(join(fixture('splade-distilbert-bin'), 'expected.json')).pytorch_model_bin;
  // Every tensor the pickle describes, with its shape (all FloatStorage here).
  assert.deepEqual([...bin.keys()], expected.tensors.map((t: any) => t.name));
  for (const t of expected.tensors) assert.deepEqual(bin.get(t.name)!.shape, t.shape, t.name);
  const common = [...st.keys()].filter((k) => bin.has(k));
  assert.equal(common.length, st.size, 'every safetensors name is in the .bin');
  assert.equal(assertBitEqual(bin, st, common), 41);
  // Tied weights: both names present, same values (one storage).
  for (const names of Object.values(expected.storages_shared_by_several_names) as string[][]) {
    assert.ok(names.length >= 2);
    for (const n of names) assert.ok(bin.has(n), n);
    for (const n of names.slice(1)) assert.deepEqual(bits(bin.get(n)!.data), bits(bin.get(names[0]!)!.data));
  }
  assert.deepEqual(expected.keys_in_bin_not_in_source_safetensors, [...bin.keys()].filter((k) => !st.has(k)));
});

test('a deflated copy of the torch zip (other prefix) reads the same', async () => {
  const bytes = readFileSync(join(fixture('splade-distilbert-bin'), 'pytorch_model.bin'));
  const entries = storedZipEntries(bytes).map((e) => ({ name: e.name.replace(/^pytorch_model\//, 'archive/'), data: e.data }));
  assert.equal(entries.length, 43);
  const deflated = parsePytorchBin(zipBytes(entries, 8), { source: 'deflated.bin' });
  const original = await readPytorchBin(join(fixture('splade-distilbert-bin'), 'pytorch_model.bin'));
  assert.equal(assertBitEqual(deflated, original, original.keys()), 42);
});

test('BF16 safetensors: dtypes and shapes as recorded, values are bits << 16', async () => {
  const dir = fixture('splade-roberta-bf16');
  const sd = await readSafetensors(join(dir, 'model.safetensors'));
  const recorded = readJson(join(dir, 'expected.json')).safetensors['model.safetensors'].tensors as Record<string, { dtype: string; shape: number[] }>;
  assert.deepEqual([...sd.keys()].sort(), Object.keys(recorded).sort());
  // Independent decode of the raw file: header JSON, then u16 words shifted into float32 bit patterns.
  const raw = readFileSync(join(dir, 'model.safetensors'));
  const n = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
  for (const [name, rec] of Object.entries(recorded)) {
    assert.equal(rec.dtype, 'bfloat16');
    assert.equal(header[name].dtype, 'BF16');
    const t = sd.get(name)!;
    assert.deepEqual(t.shape, rec.shape, name);
    const [begin] = header[name].data_offsets as [number, number];
    const got = bits(t.data);
    assert.equal(got.length, rec.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < got.length; i++) {
      const w = raw.readUInt16LE(8 + n + begin + 2 * i);
      if (got[i] !== ((w << 16) >>> 0)) assert.fail(`${name}[${i}]: ${got[i]} != ${w} << 16`);
    }
  }
});

test('F16 → float32 is exact, including subnormals, infinities, NaN and signed zero', () => {
  const cases: Array<[number, number]> = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14], // smallest normal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x8001, -(2 ** -24)],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  const out = f16ToFloat32(Uint16Array.from([...cases.map((c) => c[0]), 0x7e00, 0x7c01, 0x8000]));
  cases.forEach(([h, v], i) => {
    assert.equal(halfToFloat(h), v, `0x${h.toString(16)}`);
    assert.equal(out[i], v, `0x${h.toString(16)}`);
  });
  assert.ok(Number.isNaN(out[cases.length]!) && Number.isNaN(out[cases.length + 1]!));
  assert.ok(Object.is(out[cases.length + 2], -0));
  // Through the file reader, at an odd (unaligned) data offset.
  const f16 = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]);
  const file = safetensorsBytes({ pad: { dtype: 'U8', shape: [1], bytes: Uint8Array.of(7) }, h: { dtype: 'F16', shape: [3], bytes: f16 } });
  const sd = parseSafetensors(file);
  assert.deepEqual([...sd.get('h')!.data], [1, -2, 2 ** -24]);
  assert.equal(sd.has('pad'), false, 'integer tensors are skipped');
});

test('aligned F32 tensors are views into the file buffer; unaligned ones are copied', () => {
  const vals = Float32Array.from([1.5, -2.25, 3]);
  const file = safetensorsBytes({ a: { dtype: 'F32', shape: [3], bytes: f32Bytes(vals) } });
  const headerLen = Number(new DataView(file.buffer).getBigUint64(0, true));
  // Place the file so that its data section starts on a 4-byte boundary, then off by one.
  for (const shift of [0, 1]) {
    const pad = (4 - ((8 + headerLen) % 4)) % 4;
    const buf = new Uint8Array(file.byteLength + 8);
    const at = pad + shift;
    buf.set(file, at);
    const t = parseSafetensors(buf.subarray(at, at + file.byteLength)).get('a')!;
    assert.deepEqual([...t.data], [...vals]);
    assert.equal(t.data.buffer === buf.buffer, shift === 0);
  }
});

test('F64 is down-cast, I64 and BOOL are skipped, unknown dtypes are refused', () => {
  const f64 = new Uint8Array(16);
  new DataView(f64.buffer).setFloat64(0, 0.1, true);
  new DataView(f64.buffer).setFloat64(8, -3, true);
  const sd = parseSafetensors(
    safetensorsBytes({
      d: { dtype: 'F64', shape: [2], bytes: f64 },
      ids: { dtype: 'I64', shape: [1, 2], bytes: new Uint8Array(16) },
      m: { dtype: 'BOOL', shape: [2], bytes: new Uint8Array(2) },
    }),
  );
  assert.deepEqual([...sd.keys()], ['d']);
  assert.deepEqual([...sd.get('d')!.data], [Math.fround(0.1), -3]);
  assert.throws(
    () => parseSafetensors(safetensorsBytes({ q: { dtype: 'F8_E9M9', shape: [1], bytes: new Uint8Array(1) } }), { source: 'x.safetensors' }),
    (e) => isSparseEncoderError(e, 'ERR_UNSUPPORTED_DTYPE') && /x\.safetensors/.test(e.message) && /"q"/.test(e.message) && /F8_E9M9/.test(e.message),
  );
});

test('corrupt safetensors files fail with ERR_CORRUPT_WEIGHTS naming the file and the tensor', withTempDir(async (dir) => {
  const good = safetensorsBytes({ w: { dtype: 'F32', shape: [2, 2], bytes: f32Bytes(Float32Array.from([1, 2, 3, 4])) } });
  const cases: Record<string, { bytes: Uint8Array; message: RegExp; tensor?: string }> = {
    'header-past-eof': { bytes: (() => { const b = good.slice(); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; })(), message: /header length/ },
    'too-short': { bytes: good.slice(0, 5), message: /too short/ },
    'bad-json': { bytes: (() => { const b = good.slice(); b[8] = 0x7b; b[9] = 0x7b; return b; })(), message: /not valid UTF-8 JSON/ },
    'offsets-out-of-range': {
      bytes: safetensorsBytes({ w: { dtype: 'F32', shape: [2], bytes: new Uint8Array(8) } }, (h) => ((h.w as any).data_offsets = [0, 4096])),
      message: /run past the end/,
      tensor: 'w',
    },
    'size-mismatch': {
      bytes: safetensorsBytes({ w: { dtype: 'F32', shape: [3], bytes: new Uint8Array(8) } }),
      message: /needs 12 bytes but data_offsets span 8/,
      tensor: 'w',
    },
    'truncated-data': { bytes: good.slice(0, good.byteLength - 3), message: /run past the end/, tensor: 'w' },
    'negative-shape': {
      bytes: safetensorsBytes({ w: { dtype: 'F32', shape: [2], bytes: new Uint8Array(8) } }, (h) => ((h.w as any).shape = [-2])),
      message: /shape/,
      tensor: 'w',
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    const path = join(dir, `${name}.safetensors`);
    writeFileSync(path, c.bytes);
    await assert.rejects(readSafetensors(path), (e) => {
      assert.ok(isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS'), `${name}: ${String(e)}`);
      assert.match(e.message, c.message, name);
      assert.ok(e.message.includes(path), `${name}: message names the file`);
      if (c.tensor !== undefined) assert.ok(e.message.includes(`"${c.tensor}"`), `${name}: message names the tensor`);
      return true;
    });
  }
}));

test('sharded safetensors index: tensors from all shards; missing tensor or shard is reported', withTempDir(async (dir) => {
  const source = await readSafetensors(join(fixture('splade-distilbert'), 'model.safetensors'));
  const names = [...source.keys()];
  const shards = [names.slice(0, 20), names.slice(20)];
  const weightMap: Record<string, string> = {};
  shards.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const tensors: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }> = {};
    for (const n of part) {
      tensors[n] = { dtype: 'F32', shape: [...source.get(n)!.shape], bytes: f32Bytes(source.get(n)!.data) };
      weightMap[n] = file;
    }
    writeFileSync(join(dir, file), safetensorsBytes(tensors));
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  const loaded = await loadStateDict(dir);
  assert.equal(loaded.size, source.size);
  assert.equal(assertBitEqual(loaded, source, names), names.length);

  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...weightMap, 'extra.weight': 'model-00001-of-00002.safetensors' } }));
  await assert.rejects(loadStateDict(dir), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && e.message.includes('"extra.weight"'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...weightMap, 'x.weight': 'model-00003-of-00003.safetensors' } }));
  await assert.rejects(loadStateDict(dir), (e) => isSparseEncoderError(e, 'ERR_FILE_NOT_FOUND') && e.message.includes('model-00003-of-00003.safetensors'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'x.weight': '../elsewhere.safetensors' } }));
  await assert.rejects(loadStateDict(dir), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /outside the model folder/.test(e.message));
}));

test('loadStateDict on a folder without weights names the folder and the files looked for', withTempDir(async (dir) => {
  await assert.rejects(loadStateDict(dir), (e) => {
    assert.ok(isSparseEncoderError(e, 'ERR_FILE_NOT_FOUND'));
    for (const f of [dir, 'model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json']) assert.ok(e.message.includes(f), f);
    return true;
  });
}));

/** A state dict pickle written opcode by opcode: a transposed tensor, a Long buffer, a half tensor at an offset. */
function handWrittenStateDict(): Uint8Array {
  const p = new PickleWriter().proto(2);
  const rebuild = (storageType: string, key: string, numel: number, offset: number, size: number[], stride: number[]) => {
    p.op(0x68, 1).rebuildTensorArgs(storageType, key, numel, offset, size, stride); // BINGET 1: _rebuild_tensor_v2, memoised below
  };
  p.global('collections', 'OrderedDict').op(0x29).reduce().op(0x71, 0); // BINPUT 0
  p.global('torch._utils', '_rebuild_tensor_v2').op(0x71, 1).op(0x30); // memoise, POP
  p.mark();
  p.str('w');
  rebuild('FloatStorage', '0', 6, 0, [2, 3], [1, 2]);
  p.str('embeddings.position_ids');
  rebuild('LongStorage', '1', 3, 0, [1, 3], [3, 1]);
  p.str('h');
  rebuild('HalfStorage', '2', 3, 1, [2], [1]);
  p.op(0x75); // SETITEMS
  // torch.save(model.state_dict()) adds the dict's `_metadata` attribute through BUILD.
  p.op(0x7d).str('_metadata').op(0x7d).str('version').int(1).op(0x73).op(0x73).op(0x62); // {}, SETITEM x2, BUILD
  return p.stop();
}

function handWrittenEntries(pkl: Uint8Array) {
  return [
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/data/0', data: f32Bytes(Float32Array.from([0, 1, 2, 3, 4, 5])) },
    { name: 'archive/data/1', data: new Uint8Array(24) },
    { name: 'archive/data/2', data: Uint8Array.from([0x00, 0x3c, 0x00, 0x40, 0x00, 0xb8]) },
    { name: 'archive/version', data: Buffer.from('3\n') },
    { name: 'archive/byteorder', data: Buffer.from('little') },
  ];
}

test('hand-written pickle in stored/deflated, zip32/zip64 archives: strides honoured, Long buffers skipped, half storage offset applied', () => {
  for (const [method, zip64] of [[0, false], [8, false], [0, true], [8, true]] as const) {
    const sd = parsePytorchBin(zipBytes(handWrittenEntries(handWrittenStateDict()), method, zip64), { source: 'hand.bin' });
    assert.deepEqual([...sd.keys()], ['w', 'h']);
    assert.deepEqual(sd.get('w')!.shape, [2, 3]);
    // element (i, j) = storage[i * 1 + j * 2]
    assert.deepEqual([...sd.get('w')!.data], [0, 2, 4, 1, 3, 5]);
    assert.deepEqual([...sd.get('h')!.data], [2, -0.5]);
  }
});

test('a tensor reaching past its storage is ERR_CORRUPT_WEIGHTS naming the tensor', () => {
  const entries = handWrittenEntries(handWrittenStateDict());
  entries[1] = { name: 'archive/data/0', data: new Uint8Array(12) };
  assert.throws(() => parsePytorchBin(zipBytes(entries), { source: 'short.bin' }), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /"w"/.test(e.message) && /short\.bin/.test(e.message));
});

test('pickles that name os.system or builtins.eval are refused without running anything', withTempDir(async (dir) => {
  const marker = join(dir, 'pwned');
  // GLOBAL (protocol 2): os.system("touch <marker>")
  const viaGlobal = new PickleWriter().proto(2).global('os', 'system').str(`touch ${marker}`).op(0x85).reduce().stop();
  // STACK_GLOBAL (protocol 4, framed, memoised): builtins.eval("__import__('os').system(...)")
  const viaStack = new PickleWriter()
    .proto(4)
    .op(0x95, 60, 0, 0, 0, 0, 0, 0, 0)
    .str('builtins')
    .op(0x94)
    .str('eval')
    .op(0x94)
    .op(0x93)
    .str(`__import__('os').system('touch ${marker}')`)
    .op(0x85)
    .reduce()
    .stop();
  const cases: Array<[Uint8Array, string]> = [
    [viaGlobal, 'os.system'],
    [viaStack, 'builtins.eval'],
  ];
  for (const [pkl, name] of cases) {
    const check = (e: unknown): boolean => isSparseEncoderError(e, 'ERR_FORBIDDEN_PICKLE') && e.message.includes(name) && e.details.global === name;
    assert.throws(() => unpickle(pkl, { source: 'evil.pkl' }), check);
    const file = join(dir, `evil-${name}.bin`);
    writeFileSync(file, zipBytes([{ name: 'evil/data.pkl', data: pkl }]));
    await assert.rejects(readPytorchBin(file), check);
  }
  // Opcodes that construct objects without REDUCE are refused too (INST "os\nsystem\n").
  const inst = Uint8Array.from([0x80, 0x02, 0x28, ...Buffer.from('ios\nsystem\n'), 0x2e]);
  assert.throws(() => unpickle(inst, { source: 'inst.pkl' }), (e) => isSparseEncoderError(e, 'ERR_FORBIDDEN_PICKLE') && /INST/.test(e.message));
  assert.equal(existsSync(marker), false, 'nothing was executed');
}));

test('truncated or malformed pickles are ERR_CORRUPT_WEIGHTS, not crashes', () => {
  const good = handWrittenStateDict();
  for (const cut of [1, 10, 40, good.length - 1]) {
    assert.throws(() => unpickle(good.subarray(0, cut), { source: 'cut.pkl' }), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /cut\.pkl/.test(e.message), `cut at ${cut}`);
  }
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 0x05, 0x2e]), { source: 'memo.pkl' }), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /memo/.test(e.message));
  assert.throws(() => parsePytorchBin(Uint8Array.from([1, 2, 3, 4]), { source: 'junk.bin' }), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /junk\.bin/.test(e.message));
  // Pre-1.6 torch.save files are a bare pickle stream (magic number first): named as such.
  assert.throws(() => parsePytorchBin(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]), { source: 'old.bin' }), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /legacy/.test(e.message));
  const bigEndian = handWrittenEntries(handWrittenStateDict()).map((e) => (e.name.endsWith('byteorder') ? { ...e, data: Buffer.from('big') } : e));
  assert.throws(() => parsePytorchBin(zipBytes(bigEndian), { source: 'be.bin' }), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /big-endian/.test(e.message));
  const truncated = readFileSync(join(fixture('splade-distilbert-bin'), 'pytorch_model.bin')).subarray(0, 100_000);
  assert.throws(() => parsePytorchBin(truncated, { source: 'cut.bin' }), (e) => isSparseEncoderError(e, 'ERR_CORRUPT_WEIGHTS') && /cut\.bin/.test(e.message));
});
