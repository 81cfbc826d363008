import { SparseEncoderError } from '../errors.js';
import { decodeFloats, type FloatDtype } from './dtype.js';
import { readWeightsFile } from './read-file.js';
import type { StateDict } from './types.js';
import { unpickle, type TensorRef } from './unpickle.js';
import { openZip } from './zip.js';

/**
 * `pytorch_model.bin` as written by `torch.save` (zip format, torch >= 1.6): `<prefix>/data.pkl`
 * (the state dict, pickled) and one raw little-endian blob per storage at `<prefix>/data/<key>`.
 * The prefix is the file's stem or `archive`, so entries are found by suffix.
 */

export interface ParsePytorchOptions {
  /** Name used in error messages (a file path). Default `'<buffer>'`. */
  source?: string;
}

const STORAGE_DTYPE: Readonly<Record<string, { dtype: FloatDtype | 'I64'; bytes: number }>> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  LongStorage: { dtype: 'I64', bytes: 8 },
};

/**
 * Reads a PyTorch zip checkpoint through a restricted unpickler (nothing in the file is executed).
 * Float tensors come back as float32; Long tensors (`position_ids` buffers) are skipped.
 * Tied weights keep both names and share one Float32Array.
 */
export async function readPytorchBin(path: string): Promise<StateDict> {
  const bytes = await readWeightsFile(path, 'PyTorch checkpoint');
  return parsePytorchBin(bytes, { source: path });
}

/** The in-memory variant of {@link readPytorchBin}. */
export function parsePytorchBin(bytes: Uint8Array, options: ParsePytorchOptions = {}): StateDict {
  const source = options.source ?? '<buffer>';
  // Legacy (pre-1.6) torch.save files are a bare pickle stream, not a zip: say so plainly.
  if (bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5) {
    throw new SparseEncoderError(
      'ERR_CORRUPT_WEIGHTS',
      `${source}: legacy (pre-zip, torch < 1.6) checkpoint format is not supported; re-save it with a recent torch or convert it to safetensors`,
      { details: { path: source } },
    );
  }
  const zip = openZip(bytes, source);
  const pklName = [...zip.entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (pklName === undefined) {
    throw new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${source}: no data.pkl entry in the archive (not a torch.save checkpoint)`, {
      details: { path: source },
    });
  }
  const prefix = pklName.slice(0, pklName.length - 'data.pkl'.length);
  // torch >= 2.1 records the writer's byte order; storages are raw, so a big-endian file would read as garbage.
  const byteorder = zip.entries.get(`${prefix}byteorder`);
  if (byteorder !== undefined && new TextDecoder().decode(zip.read(byteorder)).trim() === 'big') {
    throw new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${source}: written on a big-endian machine (byteorder "big"); re-save it on a little-endian one`, {
      details: { path: source },
    });
  }
  // A state dict's pickle holds names and shapes only: 256 MiB is far above any real one.
  const root = unpickle(zip.read(zip.entries.get(pklName)!, 256 * 1024 * 1024), { source: `${source}:${pklName}` });
  if (!(root instanceof Map)) {
    throw new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${source}: data.pkl does not hold a state dict (a dict of tensors)`, {
      details: { path: source },
    });
  }

  const storages = new Map<string, Uint8Array>();
  const decoded = new Map<string, Float32Array>();
  const out: StateDict = new Map();
  for (const [name, value] of root) {
    if (typeof name !== 'string') continue;
    if (typeof value !== 'object' || value === null || (value as TensorRef).kind !== 'tensor') continue; // non-tensor entries
    const t = value as TensorRef;
    const info = STORAGE_DTYPE[t.storage.storageType]!;
    if (info.dtype === 'I64') continue;
    let raw = storages.get(t.storage.key);
    if (raw === undefined) {
      const entry = zip.entries.get(`${prefix}data/${t.storage.key}`);
      if (entry === undefined) {
        throw new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${source}: tensor "${name}": storage entry ${prefix}data/${t.storage.key} is missing`, {
          details: { path: source, tensor: name },
        });
      }
      // A storage entry holds exactly numel × item bytes; more is refused before it is inflated.
      raw = zip.read(entry, t.storage.numel * info.bytes);
      if (raw.byteLength < t.storage.numel * info.bytes) {
        throw new SparseEncoderError(
          'ERR_CORRUPT_WEIGHTS',
          `${source}: tensor "${name}": storage ${t.storage.key} has ${raw.byteLength} bytes, needs ${t.storage.numel * info.bytes}`,
          { details: { path: source, tensor: name } },
        );
      }
      storages.set(t.storage.key, raw);
    }
    // Tied weights (same storage, offset and shape) get the very same Float32Array.
    const tieKey = `${t.storage.key}:${t.storageOffset}:${t.shape.join(',')}:${t.stride.join(',')}`;
    const tied = decoded.get(tieKey);
    const tensor = tied !== undefined ? { shape: [...t.shape], data: tied } : materialize(name, t, raw, info.dtype, info.bytes, source);
    decoded.set(tieKey, tensor.data);
    out.set(name, tensor);
  }
  return out;
}

function materialize(name: string, t: TensorRef, raw: Uint8Array, dtype: FloatDtype, itemBytes: number, source: string) {
  const shape = t.shape;
  const numel = shape.reduce((a, b) => a * b, 1);
  const storageNumel = Math.floor(raw.byteLength / itemBytes);
  if (numel === 0) return { shape: [...shape], data: new Float32Array(0) };
  // A saved weight views at most the elements its storage has (a zero stride could claim any
  // shape); checked before allocating the float32 copy.
  if (numel > storageNumel) {
    throw new SparseEncoderError(
      'ERR_CORRUPT_WEIGHTS',
      `${source}: tensor "${name}": shape ${JSON.stringify(shape)} (${numel} elements) is larger than its storage of ${storageNumel} elements`,
      { details: { path: source, tensor: name } },
    );
  }
  // Largest element index touched, to bounds-check before reading anything.
  let last = t.storageOffset;
  for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * t.stride[d]!;
  if (last >= storageNumel) {
    throw new SparseEncoderError(
      'ERR_CORRUPT_WEIGHTS',
      `${source}: tensor "${name}": offset ${t.storageOffset}, shape ${JSON.stringify(shape)}, stride ${JSON.stringify(t.stride)} reach element ${last} of a storage of ${storageNumel}`,
      { details: { path: source, tensor: name } },
    );
  }
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; d--) {
    if (shape[d] !== 1 && t.stride[d] !== expect) contiguous = false;
    expect *= shape[d]!;
  }
  const start = t.storageOffset * itemBytes;
  if (contiguous) return { shape: [...shape], data: decodeFloats(raw.subarray(start), dtype, numel) };
  // Non-contiguous (a saved transpose or slice): gather in row-major order.
  const all = decodeFloats(raw, dtype, storageNumel);
  const data = new Float32Array(numel);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let off = t.storageOffset;
    for (let d = 0; d < shape.length; d++) off += idx[d]! * t.stride[d]!;
    data[i] = all[off]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { shape: [...shape], data };
}
