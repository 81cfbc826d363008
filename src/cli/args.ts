import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SparseEncoderError } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** `node:util` parseArgs with our error type, so a bad flag exits with a one-line usage message. */
export interface ParsedArgs {
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  positionals: string[];
}

export function parseCommandArgs(argv: string[], options: Options, allowPositionals = false): ParsedArgs {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true }) as ParsedArgs;
  } catch (err) {
    throw new SparseEncoderError('ERR_USAGE', (err as Error).message, { cause: err });
  }
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new SparseEncoderError('ERR_USAGE', `--${name} must be an integer >= ${min}, got '${value}'`);
  }
  return n;
}

export function requireOption(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new SparseEncoderError('ERR_USAGE', `--${name} is required`);
  return value;
}
