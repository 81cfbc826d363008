import { SparseEncoderError } from '../errors.js';
import { exists, readText } from '../files/model-fs.js';

/** A parsed JSON object of a model file; keys stay as the file spells them (snake_case). */
export type JsonObject = Record<string, unknown>;

/**
 * Reads a JSON object from `path`. A missing file gives `undefined`; invalid JSON or a
 * non-object gives ERR_INVALID_CONFIG naming the file.
 */
export async function readJsonObject(path: string): Promise<JsonObject | undefined> {
  if (!(await exists(path))) return undefined;
  const value = await readJson(path);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path} must hold a JSON object`, { details: { path } });
  }
  return value as JsonObject;
}

/** Like {@link readJsonObject} but the file must exist (ERR_FILE_NOT_FOUND otherwise). */
export async function requireJsonObject(path: string, what: string): Promise<JsonObject> {
  const value = await readJsonObject(path);
  if (value === undefined) {
    throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `${what} not found: ${path}`, { details: { path } });
  }
  return value;
}

export async function readJson(path: string): Promise<unknown> {
  // Regular files of bounded size only: a FIFO or /dev/zero in a model folder must not hang or flood us.
  const text = await readText(path, 'config file');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path} is not valid JSON: ${(err as Error).message}`, { cause: err, details: { path } });
  }
}

/** Reads an optional field of a config object, checking its JSON type. */
export function optionalNumber(obj: JsonObject, key: string, path: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: "${key}" must be a number, got ${JSON.stringify(v)}`, { details: { path, key } });
  }
  return v;
}

export function optionalString(obj: JsonObject, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: "${key}" must be a string, got ${JSON.stringify(v)}`, { details: { path, key } });
  }
  return v;
}

export function optionalBoolean(obj: JsonObject, key: string, path: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${path}: "${key}" must be true or false, got ${JSON.stringify(v)}`, { details: { path, key } });
  }
  return v;
}
