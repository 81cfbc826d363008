import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { SparseEncoderError, isSparseEncoderError } from '../errors.js';
import { fromPairs } from '../sparse/vector.js';

/**
 * One line of a vectors file: `{"id": "...", "indices": [...], "values": [...]}` (what
 * `sparse-encoder encode` writes, plus an id), optionally `"dim"` and any other keys (kept as
 * `extra`, e.g. the text).
 */
export interface VectorLine {
  id: string;
  indices: number[];
  values: number[];
  dim?: number;
  extra?: Record<string, unknown>;
  line: number;
}

/** Streams the lines of a vectors file, with errors that name the file and line. */
export async function* readVectorLines(path: string): AsyncGenerator<VectorLine> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SparseEncoderError(e.code === 'ENOENT' ? 'ERR_FILE_NOT_FOUND' : 'ERR_INVALID_ARGUMENT', `cannot read ${path}: ${e.message}`, { cause: err });
  }
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim() === '') continue;
    const bad = (msg: string): never => {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${path}:${n}: ${msg}`, { details: { path, line: n } });
    };
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      bad('not valid JSON');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) bad('expected a JSON object');
    const { id, indices, values, dim, ...extra } = obj as Record<string, unknown>;
    if (typeof id !== 'string' && typeof id !== 'number') bad('missing "id" (string)');
    if (!Array.isArray(indices) || !Array.isArray(values)) bad('expected "indices" and "values" arrays');
    if (dim !== undefined && !(Number.isInteger(dim) && (dim as number) > 0)) bad('"dim" must be a positive integer');
    const line: VectorLine = { id: String(id), indices: indices as number[], values: values as number[], line: n };
    if (dim !== undefined) line.dim = dim as number;
    if (Object.keys(extra).length > 0) line.extra = extra;
    yield line;
  }
}

/** fromPairs with the file and line in the error message. */
export function lineVector(l: VectorLine, dim: number, path: string) {
  try {
    return fromPairs(l.indices, l.values, dim);
  } catch (err) {
    if (isSparseEncoderError(err)) {
      const code = err.code === 'ERR_INVALID_INPUT' && l.indices.some((i) => Number.isInteger(i) && i >= dim) ? 'ERR_DIMENSION_MISMATCH' : err.code;
      throw new SparseEncoderError(code, `${path}:${l.line}: ${err.message}`, { cause: err, details: { path, line: l.line } });
    }
    throw err;
  }
}

/** One line of a texts file: `{"id": "...", "text": "..."}`, other keys kept as `extra`. */
export interface TextLine {
  id: string;
  text: string;
  extra?: Record<string, unknown>;
  line: number;
}

/** Streams the lines of a texts file (for `--model`), with errors that name the file and line. */
export async function* readTextLines(path: string): AsyncGenerator<TextLine> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SparseEncoderError(e.code === 'ENOENT' ? 'ERR_FILE_NOT_FOUND' : 'ERR_INVALID_ARGUMENT', `cannot read ${path}: ${e.message}`, { cause: err });
  }
  let n = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    n++;
    if (text.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      obj = undefined;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${path}:${n}: expected a JSON object with "id" and "text"`, { details: { path, line: n } });
    }
    const { id, text: body, ...extra } = obj as Record<string, unknown>;
    if ((typeof id !== 'string' && typeof id !== 'number') || typeof body !== 'string') {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${path}:${n}: expected a string "id" and a string "text"`, { details: { path, line: n } });
    }
    const out: TextLine = { id: String(id), text: body, line: n };
    if (Object.keys(extra).length > 0) out.extra = extra;
    yield out;
  }
}
