import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SparseEncoderError } from '../errors.js';
import { boundedLines, maxLineBytesFromEnv } from '../files/bounded-lines.js';

/** One line of a text file with its 1-based line number (for error messages). */
export interface NumberedLine {
  readonly text: string;
  readonly line: number;
}

/**
 * Streams the lines of a UTF-8 file with their numbers. A missing file is ERR_DATASET_MISSING
 * (not a raw ENOENT), so a wrong `--data` folder names the file it looked for.
 */
export async function* readLines(path: string): AsyncGenerator<NumberedLine> {
  await assertFile(path);
  const input = createReadStream(path);
  try {
    // Lines of at most SPARSE_ENCODER_MAX_LINE_BYTES: a file without newlines is refused, not read whole.
    for await (const { text: raw, line } of boundedLines(input, path, maxLineBytesFromEnv())) {
      // A byte-order mark only ever sits on the first line.
      const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      yield { text, line };
    }
  } finally {
    input.destroy();
  }
}

export async function assertFile(path: string): Promise<void> {
  let isFile = false;
  try {
    isFile = (await stat(path)).isFile();
  } catch (err) {
    throw new SparseEncoderError('ERR_DATASET_MISSING', `${path}: file not found`, { cause: err, details: { path } });
  }
  if (!isFile) throw new SparseEncoderError('ERR_DATASET_MISSING', `${path}: not a file`, { details: { path } });
}

export function parseError(path: string, line: number, problem: string, cause?: unknown): SparseEncoderError {
  return new SparseEncoderError('ERR_DATASET_PARSE', `${path}:${line}: ${problem}`, {
    details: { path, line },
    ...(cause === undefined ? {} : { cause }),
  });
}
