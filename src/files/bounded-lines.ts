import { SparseEncoderError } from '../errors.js';

/**
 * Most bytes one line may have before reading gives up: a file with no newline must not be read
 * whole into one string (Node's readline does, and dies with an uncaught "Invalid string length"
 * past 512 MiB). `SPARSE_ENCODER_MAX_LINE_BYTES` sets it for the CLI.
 */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** The line limit from the environment (`SPARSE_ENCODER_MAX_LINE_BYTES`), else the default. */
export function maxLineBytesFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env['SPARSE_ENCODER_MAX_LINE_BYTES'];
  if (raw === undefined || raw === '') return DEFAULT_MAX_LINE_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `SPARSE_ENCODER_MAX_LINE_BYTES must be a positive integer, got '${raw}'`);
  return n;
}

/**
 * The lines of a byte stream, as readline splits them (`\n`, `\r\n` or a lone `\r` end a line; the
 * last line needs none), decoded as UTF-8, each with its 1-based number and its byte length with
 * the line break. A line longer than `maxLineBytes` is ERR_INPUT_TOO_LONG naming `name`, the line
 * and the limit, thrown as soon as the limit is passed: memory stays within the limit.
 */
export async function* boundedLines(chunks: AsyncIterable<Uint8Array | string>, name: string, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<{ text: string; line: number; bytes: number }> {
  const decoder = new TextDecoder('utf-8');
  let parts: Uint8Array[] = [];
  let partBytes = 0;
  let line = 0;
  let afterCR = false;
  const take = (end: Uint8Array, breakBytes: number): { text: string; line: number; bytes: number } => {
    const all = parts.length === 0 ? end : concat([...parts, end], partBytes + end.length);
    parts = [];
    partBytes = 0;
    line++;
    return { text: decoder.decode(all), line, bytes: all.length + breakBytes };
  };
  const tooLong = (): never => {
    throw new SparseEncoderError('ERR_INPUT_TOO_LONG', `${name}:${line + 1}: line is longer than ${maxLineBytes} bytes (SPARSE_ENCODER_MAX_LINE_BYTES)`, {
      details: { path: name, line: line + 1, maxLineBytes },
    });
  };
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
    let start = 0;
    // A \r\n split across chunks is one break.
    if (afterCR && chunk.length > 0 && chunk[0] === 0x0a) start = 1;
    afterCR = false;
    for (let i = start; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== 0x0a && b !== 0x0d) continue;
      if (partBytes + (i - start) > maxLineBytes) tooLong();
      const crlf = b === 0x0d && i + 1 < chunk.length && chunk[i + 1] === 0x0a;
      yield take(chunk.subarray(start, i), crlf ? 2 : 1);
      if (crlf) i++;
      else if (b === 0x0d && i + 1 === chunk.length) afterCR = true;
      start = i + 1;
    }
    if (start < chunk.length) {
      partBytes += chunk.length - start;
      if (partBytes > maxLineBytes) tooLong();
      parts.push(chunk.slice(start));
    }
  }
  if (partBytes > 0) yield take(new Uint8Array(), 0);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
