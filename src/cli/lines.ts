import { SparseEncoderError, isSparseEncoderError } from '../errors.js';
import { boundedLines, maxLineBytesFromEnv } from '../files/bounded-lines.js';
import { fromPairs, type SparseVector } from '../sparse/vector.js';
import type { CliInput } from './io.js';

/*
 * The line formats every command reads (one reader each, shared by encode, index build, search
 * and export). Errors name the input and the line.
 */

/** One text to encode. `id` is a string when the line had one (`id` or BEIR's `_id`). */
export interface TextRecord {
  id: string | undefined;
  text: string;
  /** The line's other keys (BEIR: `title`, `metadata`), for stored fields. */
  extra?: Record<string, unknown>;
  line: number;
}

/** Called with the bytes of each line read, for progress against a file's size. */
export type OnBytes = (bytes: number) => void;

/** Lines of at most SPARSE_ENCODER_MAX_LINE_BYTES (64 MiB by default); a longer one is ERR_INPUT_TOO_LONG naming the line. */
async function* rawLines(input: CliInput, onBytes: OnBytes | undefined): AsyncGenerator<{ text: string; line: number }> {
  for await (const { text, line, bytes } of boundedLines(input.stream, input.name, maxLineBytesFromEnv())) {
    onBytes?.(bytes);
    yield { text, line };
  }
}

/**
 * Texts, in one of three formats chosen by the first non-empty line:
 * - JSONL `{"id", "text"}` (id optional),
 * - BEIR `{"_id", "title"?, "text"}`: the text is `title + " " + text` when the title is non-empty,
 *   the recipe of the evaluator (and of sentence-transformers' and Anserini's BEIR runs),
 * - otherwise plain text, one text per line (an empty line is an empty text). Plain lines have
 *   no id; commands that need one use the line number.
 * Once the first line decides JSONL, every non-empty line must be a JSON object with a string "text".
 */
export async function* readTextRecords(input: CliInput, onBytes?: OnBytes): AsyncGenerator<TextRecord> {
  let format: 'jsonl' | 'plain' | undefined;
  let pendingEmpty: number[] = [];
  for await (const { text, line } of rawLines(input, onBytes)) {
    if (format === undefined) {
      if (text.trim() === '') {
        pendingEmpty.push(line);
        continue;
      }
      format = jsonText(text) !== undefined ? 'jsonl' : 'plain';
      if (format === 'plain') for (const l of pendingEmpty) yield { id: undefined, text: '', line: l };
      pendingEmpty = [];
    }
    if (format === 'plain') {
      yield { id: undefined, text, line };
      continue;
    }
    if (text.trim() === '') continue;
    const rec = jsonText(text);
    if (rec === undefined) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `${input.name}:${line}: expected a JSON object with a string "text" (the input is JSONL, judged by its first line)`, {
        details: { path: input.name, line },
      });
    }
    if (typeof rec === 'string') throw new SparseEncoderError('ERR_INVALID_INPUT', `${input.name}:${line}: ${rec}`, { details: { path: input.name, line } });
    yield { ...rec, line };
  }
  if (format === undefined) for (const l of pendingEmpty) yield { id: undefined, text: '', line: l };
}

/** A JSON text record, an error message for a JSON object with a bad field, or undefined (not JSONL). */
function jsonText(line: string): Omit<TextRecord, 'line'> | string | undefined {
  const s = line.trim();
  if (!s.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const { id, _id, title, text, ...rest } = v as Record<string, unknown>;
  if (typeof text !== 'string') return undefined;
  const rawId = _id ?? id;
  if (rawId !== undefined && typeof rawId !== 'string' && !(typeof rawId === 'number' && Number.isFinite(rawId))) return '"id" / "_id" must be a string or a finite number';
  if (title !== undefined && typeof title !== 'string') return '"title" must be a string';
  const body = typeof title === 'string' && title !== '' ? `${title} ${text}` : text;
  const extra: Record<string, unknown> = { ...rest };
  if (typeof title === 'string') extra['title'] = title;
  if (_id !== undefined && id !== undefined) extra['id'] = id;
  const out: Omit<TextRecord, 'line'> = { id: rawId === undefined ? undefined : String(rawId), text: body };
  if (Object.keys(extra).length > 0) {
    const overflow = nonFiniteKey(extra);
    if (overflow !== undefined) return overflowMessage(overflow);
    out.extra = extra;
  }
  return out;
}

/**
 * One vectors line, as `encode` writes it: `{"id"|"_id", "indices", "values", "dim"?, "tokens"?}`
 * plus any other keys (`extra`). `tokens` may be `[[token, weight], ...]` (what `encode --tokens`
 * writes) or `{token: weight}`. The id keeps its JSON type (Qdrant maps integer ids as such).
 */
export interface VectorLine {
  id: string | number | undefined;
  indices: number[];
  values: number[];
  dim?: number;
  tokens?: Record<string, number>;
  extra?: Record<string, unknown>;
  line: number;
  /** `file:line`, for messages. */
  where: string;
}

export async function* readVectorLines(input: CliInput, options: { requireId: boolean; onBytes?: OnBytes }): AsyncGenerator<VectorLine> {
  for await (const { text, line } of rawLines(input, options.onBytes)) {
    if (text.trim() === '') continue;
    yield parseVectorLine(text, `${input.name}:${line}`, line, options.requireId);
  }
}

function parseVectorLine(text: string, where: string, line: number, requireId: boolean): VectorLine {
  const bad = (msg: string): never => {
    throw new SparseEncoderError('ERR_INVALID_INPUT', `${where}: ${msg}`, { details: { line: where } });
  };
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    bad('not valid JSON');
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) bad('expected a JSON object {"id", "indices", "values"}');
  const { id, _id, indices, values, dim, tokens, ...extra } = obj as Record<string, unknown>;
  const rawId = _id ?? id;
  if (rawId === undefined) {
    if (requireId) bad('missing "id" (give encode JSONL or BEIR input with ids, and it copies them)');
  } else if (!((typeof rawId === 'string' && rawId !== '') || (typeof rawId === 'number' && Number.isFinite(rawId)))) {
    bad('"id" must be a non-empty string or a number');
  }
  if (!Array.isArray(indices) || !Array.isArray(values)) bad('expected "indices" and "values" arrays');
  if (dim !== undefined && !(Number.isInteger(dim) && (dim as number) > 0)) bad('"dim" must be a positive integer');
  const out: VectorLine = { id: rawId as string | number | undefined, indices: indices as number[], values: values as number[], line, where };
  if (dim !== undefined) out.dim = dim as number;
  if (tokens !== undefined) out.tokens = tokenWeights(tokens, bad);
  if (Object.keys(extra).length > 0) {
    const overflow = nonFiniteKey(extra);
    if (overflow !== undefined) bad(overflowMessage(overflow));
    out.extra = extra;
  }
  return out;
}

/**
 * The key path of a number JSON.parse made infinite (a literal beyond ±1.8e308) in a line's
 * other keys, which are copied to the output: written back they would become null (found by
 * fuzzing). Iterative, since a line may nest millions of levels deep.
 */
function nonFiniteKey(extra: Record<string, unknown>): string | undefined {
  const stack: Array<[unknown, string]> = Object.entries(extra).map(([k, v]) => [v, JSON.stringify(k)]);
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'number' && !Number.isFinite(v)) return at;
    if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) stack.push([c, `${at}.${k}`]);
  }
  return undefined;
}

function overflowMessage(key: string): string {
  return `${key} holds a number beyond the range of a double (it would be written back as null)`;
}

function tokenWeights(tokens: unknown, bad: (msg: string) => never): Record<string, number> {
  const entries = Array.isArray(tokens) ? tokens : tokens !== null && typeof tokens === 'object' ? Object.entries(tokens) : bad('"tokens" must be [[token, weight], ...] or {token: weight}');
  const out = Object.create(null) as Record<string, number>;
  for (const e of entries as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') bad('"tokens" entries must be [token, weight] pairs');
    const [t, w] = e as [string, unknown];
    if (typeof w !== 'number') bad(`"tokens" weight of ${JSON.stringify(t)} is not a number`);
    if (out[t] !== undefined) bad(`"tokens" lists ${JSON.stringify(t)} twice`);
    out[t] = w as number;
  }
  return out;
}

/** The line's SparseVector of dimension `dim`; errors name the line (an index ≥ dim is ERR_DIMENSION_MISMATCH). */
export function lineVector(l: VectorLine, dim: number): SparseVector {
  try {
    return fromPairs(l.indices, l.values, dim);
  } catch (err) {
    if (isSparseEncoderError(err)) {
      const code = err.code === 'ERR_INVALID_INPUT' && l.indices.some((i) => Number.isInteger(i) && i >= dim) ? 'ERR_DIMENSION_MISMATCH' : err.code;
      throw new SparseEncoderError(code, `${l.where}: ${err.message}`, { cause: err, details: { line: l.where } });
    }
    throw err;
  }
}
