// Portable: no Node built-in.
import { SparseEncoderError } from '../errors.js';
import { DTYPE_BYTES, NON_FLOAT_DTYPES, decodeFloats, type FloatDtype } from './dtype.js';
import type { StateDict } from './types.js';

/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data;
 * offsets are relative to the first data byte.
 */

export interface ParseSafetensorsOptions {
  /** Name used in error messages (a file path). Default `'<buffer>'`. */
  source?: string;
}

// A header larger than this is not a real checkpoint (the reference implementation caps it at 100 MB).
const MAX_HEADER_BYTES = 100_000_000;

/** A safetensors file's bytes as a state dict (read-file.ts `readSafetensors` reads one from disk). */
export function parseSafetensors(bytes: Uint8Array, options: ParseSafetensorsOptions = {}): StateDict {
  const source = options.source ?? '<buffer>';
  const corrupt = (msg: string, tensor?: string): SparseEncoderError =>
    new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${source}: ${tensor === undefined ? '' : `tensor "${tensor}": `}${msg}`, {
      details: tensor === undefined ? { path: source } : { path: source, tensor },
    });

  if (bytes.byteLength < 8) throw corrupt(`file is ${bytes.byteLength} bytes, too short for the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = dv.getBigUint64(0, true);
  if (headerLen > BigInt(bytes.byteLength - 8)) {
    throw corrupt(`header length ${headerLen} runs past the end of the file (${bytes.byteLength} bytes)`);
  }
  const n = Number(headerLen);
  if (n > MAX_HEADER_BYTES) throw corrupt(`header length ${n} exceeds ${MAX_HEADER_BYTES} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw corrupt(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw corrupt('header is not a JSON object');

  const dataStart = 8 + n;
  const dataLen = bytes.byteLength - dataStart;
  const out: StateDict = new Map();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    if (entry === null || typeof entry !== 'object') throw corrupt('header entry is not an object', name);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') throw corrupt('missing "dtype"', name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(`"shape" must be a list of non-negative integers, got ${JSON.stringify(shape)}`, name);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw corrupt(`"data_offsets" must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLen) throw corrupt(`data_offsets [${begin}, ${end}] run past the end of the data (${dataLen} bytes; file truncated?)`, name);
    const itemBytes = DTYPE_BYTES[dtype];
    if (itemBytes === undefined) {
      throw new SparseEncoderError('ERR_UNSUPPORTED_DTYPE', `${source}: tensor "${name}": unsupported dtype ${dtype} (supported: F32, F16, BF16, F64; integer tensors are skipped)`, {
        details: { path: source, tensor: name, dtype },
      });
    }
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (numel * itemBytes !== end - begin) {
      throw corrupt(`shape ${JSON.stringify(shape)} × ${dtype} needs ${numel * itemBytes} bytes but data_offsets span ${end - begin}`, name);
    }
    if (NON_FLOAT_DTYPES.has(dtype)) continue;
    const data = decodeFloats(bytes.subarray(dataStart + begin, dataStart + end), dtype as FloatDtype, numel);
    out.set(name, { shape: shape as number[], data });
  }
  return out;
}
