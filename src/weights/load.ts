import { SparseEncoderError } from '../errors.js';
import { dirnamePath, isFile, joinPath, readHead, readText } from '../files/model-fs.js';
import { readPytorchBin } from './pytorch.js';
import { readSafetensors } from './read-file.js';
import { refuseNonFinite } from './finite.js';
import type { StateDict } from './types.js';


/** Weight files in the order transformers prefers them. */
export const WEIGHT_FILES = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
] as const;

export type WeightFileName = (typeof WEIGHT_FILES)[number];

/** Returns the path of the first weight file present in `folder`, or undefined. */
export async function locateWeights(folder: string): Promise<{ file: WeightFileName; path: string } | undefined> {
  for (const file of WEIGHT_FILES) {
    const path = joinPath(folder, file);
    if (await isFile(path)) return { file, path };
  }
  return undefined;
}

/**
 * Loads the weights of a transformers model folder: `model.safetensors`, else its sharded
 * index, else `pytorch_model.bin`, else its sharded index. Floats are up-cast to float32;
 * integer buffers are skipped.
 */
export async function loadStateDict(folder: string): Promise<StateDict> {
  const found = await locateWeights(folder);
  if (found === undefined) {
    throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `no weights in ${folder}: looked for ${WEIGHT_FILES.join(', ')}`, {
      details: { path: folder, looked_for: [...WEIGHT_FILES] },
    });
  }
  const dict = await readFound(found);
  refuseNonFinite(dict, found.path);
  return dict;
}


async function readFound(found: { file: WeightFileName; path: string }): Promise<StateDict> {
  switch (found.file) {
    case 'model.safetensors':
      return readSafetensors(found.path);
    case 'pytorch_model.bin':
      return readPytorchBin(found.path);
    case 'model.safetensors.index.json':
      return readShardedCheckpoint(found.path, readSafetensors);
    case 'pytorch_model.bin.index.json':
      return readShardedCheckpoint(found.path, readPytorchBin);
  }
}

/**
 * Reads a sharded checkpoint from its index (`{"weight_map": {tensor name: shard file}}`);
 * every name of the weight map must be found in its shard.
 */
export async function readShardedCheckpoint(indexPath: string, readShard: (path: string) => Promise<StateDict>): Promise<StateDict> {
  const corrupt = (msg: string, details: Record<string, unknown> = {}): SparseEncoderError =>
    new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${indexPath}: ${msg}`, { details: { path: indexPath, ...details } });
  let index: unknown;
  try {
    index = JSON.parse(await readText(indexPath, 'shard index'));
  } catch (err) {
    throw corrupt(`not a readable JSON shard index (${(err as Error).message})`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) throw corrupt('no "weight_map" object');
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string') throw corrupt(`weight_map entry for "${name}" is not a file name`, { tensor: name });
    // A shard must live inside the model folder.
    const rel = insideRelative(shard);
    if (rel === undefined) throw corrupt(`shard "${shard}" points outside the model folder`, { tensor: name });
    const names = byShard.get(rel) ?? [];
    names.push(name);
    byShard.set(rel, names);
  }
  const folder = dirnamePath(indexPath);
  const out: StateDict = new Map();
  for (const [shard, names] of byShard) {
    const path = joinPath(folder, shard);
    if (!(await isFile(path))) {
      throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `${indexPath}: shard ${shard} (holding "${names[0]}") is missing`, {
        details: { path, index: indexPath, tensor: names[0] },
      });
    }
    const part = await readShard(path);
    for (const [name, t] of part) out.set(name, t);
  }
  for (const [shard, names] of byShard) {
    for (const name of names) {
      // Integer buffers are skipped by the readers, so a name may legitimately be absent only then.
      if (!out.has(name) && !(await shardHasSkippedTensor(joinPath(folder, shard), name))) {
        throw corrupt(`tensor "${name}" is listed for shard ${shard} but is not in it`, { tensor: name, shard });
      }
    }
  }
  return out;
}

async function shardHasSkippedTensor(path: string, name: string): Promise<boolean> {
  // Only safetensors headers can be checked cheaply; for .bin shards trust the reader's skip.
  if (!path.endsWith('.safetensors')) return true;
  // Only the header: 8 bytes of length, then the JSON (at most 100 MiB).
  let header: Record<string, { dtype?: string } | undefined>;
  try {
    const len = await readHead(path, 'safetensors shard', 8);
    if (len.length < 8) return false;
    const n = Number(new DataView(len.buffer, len.byteOffset, 8).getBigUint64(0, true));
    if (n > 100 * 1024 * 1024) return false;
    const head = await readHead(path, 'safetensors shard', 8 + n);
    if (head.length < 8 + n) return false;
    header = JSON.parse(new TextDecoder().decode(head.subarray(8))) as typeof header;
  } catch {
    return false;
  }
  const entry = header[name];
  return entry !== undefined && entry.dtype !== undefined && !['F32', 'F16', 'BF16', 'F64'].includes(entry.dtype);
}

/** A shard's name as a path inside the model folder (no absolute path, no `..` out of it), normalised. */
function insideRelative(name: string): string | undefined {
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) return undefined;
  const out: string[] = [];
  for (const part of slashed.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.length === 0 ? undefined : out.join('/');
}
