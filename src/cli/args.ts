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

/** What `SparseEncoder.fromPretrained` takes from the model-precision flags. */
export interface ModelPrecisionOptions {
  quantize?: 'int8';
  int8VocabProjection?: boolean;
}

/** Help lines of the model-precision flags (`--quantize` on most commands; `index build` uses --quantize for its weight storage). */
/** Help lines of the model-precision flags; descriptions start at column `width` (a longer flag puts its own on the next line). */
export function modelPrecisionHelp(flag = 'quantize', width = 26): string {
  const col = (left: string): string => (left.length < width ? left.padEnd(width) : left + '\n' + ' '.repeat(width));
  return (
    col(`  --${flag} none|int8`) +
    'int8: quantize the model\'s linear layers at load, faster on CPU (default none)\n' +
    col('  --fp32-vocab') +
    `with --${flag} int8: keep the vocabulary projection float32\n`
  );
}

export function modelPrecisionOptions(values: ParsedArgs['values'], flag = 'quantize'): ModelPrecisionOptions {
  const q = values[flag] as string | undefined;
  const fp32Vocab = values['fp32-vocab'] === true;
  if (q !== undefined && q !== 'none' && q !== 'int8') throw new SparseEncoderError('ERR_USAGE', `--${flag} must be none or int8, got '${q}'`);
  if (fp32Vocab && q !== 'int8') throw new SparseEncoderError('ERR_USAGE', `--fp32-vocab goes with --${flag} int8`);
  if (q !== 'int8') return {};
  return fp32Vocab ? { quantize: 'int8', int8VocabProjection: false } : { quantize: 'int8' };
}

/** What the encode calls take from the long-document flags (nothing for the default, truncate). */
export interface LongDocumentOptions {
  longDocuments?: 'window';
  windowTokens?: number;
  stride?: number;
}

/** The long-document flags, shared by every command that encodes texts. */
export const LONG_DOCUMENT_OPTIONS: Options = {
  'long-documents': { type: 'string' },
  'window-tokens': { type: 'string' },
  stride: { type: 'string' },
};

/** Help lines of the long-document flags; descriptions start at column `width`. */
export function longDocumentHelp(width = 26): string {
  const col = (left: string): string => (left.length < width ? left.padEnd(width) : left + '\n' + ' '.repeat(width));
  const pad = ' '.repeat(width);
  return (
    col('  --long-documents truncate|window') +
    "texts over the model's length: truncate them (default, as\n" +
    pad + 'sentence-transformers) or encode them in token windows whose vectors\n' +
    pad + 'merge by the pooling rule (max; sum without overlap)\n' +
    col('  --window-tokens <n>') +
    "with window: tokens per window, special tokens included (default: the model's maximum)\n" +
    col('  --stride <n>') +
    'with window: tokens shared by consecutive windows (default 0)\n'
  );
}

export function longDocumentOptions(values: ParsedArgs['values']): LongDocumentOptions {
  const mode = (values['long-documents'] as string | undefined) ?? 'truncate';
  if (mode !== 'truncate' && mode !== 'window') throw new SparseEncoderError('ERR_USAGE', `--long-documents must be truncate or window, got '${mode}'`);
  const windowTokens = values['window-tokens'] as string | undefined;
  const stride = values['stride'] as string | undefined;
  if (mode !== 'window') {
    if (windowTokens !== undefined || stride !== undefined) throw new SparseEncoderError('ERR_USAGE', '--window-tokens and --stride go with --long-documents window');
    return {};
  }
  return {
    longDocuments: 'window',
    ...(windowTokens !== undefined ? { windowTokens: intOption(windowTokens, 'window-tokens', 0) } : {}),
    ...(stride !== undefined ? { stride: intOption(stride, 'stride', 0, 0) } : {}),
  };
}
