import type { IncomingMessage, ServerResponse } from 'node:http';
import { SparseEncoderError, type ErrorCode } from '../errors.js';

/** HTTP status of each error code the server can answer with; anything else is a 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_INVALID_JSON: 400,
  ERR_INVALID_INPUT: 400,
  ERR_INVALID_ARGUMENT: 400,
  ERR_DIMENSION_MISMATCH: 400,
  ERR_SHAPE_MISMATCH: 400,
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_ORIGIN_NOT_ALLOWED: 403,
  ERR_HOST_NOT_ALLOWED: 421,
  ERR_OVERSIZE_REQUEST: 413,
  ERR_INPUT_TOO_LONG: 422,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_OVERLOADED: 503,
  ERR_WORKER_CRASHED: 503,
  ERR_WORKER_TIMEOUT: 503,
  ERR_CANCELLED: 503,
  ERR_UNAVAILABLE: 503,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** A non-JSON answer (or a HEAD answer: headers only). */
export function sendRaw(res: ServerResponse, status: number, text: string, contentType: string, headOnly = false): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) });
  res.end(headOnly ? undefined : text);
}

export function sendError(res: ServerResponse, err: SparseEncoderError, headers: Record<string, string> = {}): number {
  const status = statusOf(err.code);
  sendJson(res, status, { error: { code: err.code, message: err.message } }, headers);
  return status;
}

/** `application/json` or `application/<something>+json`, in UTF-8 if a charset is named. */
function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(type ?? '')) return false;
  const charset = params.find((p) => p.startsWith('charset='));
  return charset === undefined || /^charset="?utf-8"?$/.test(charset);
}

/**
 * Reads and parses a JSON request body. Refuses a non-JSON content type (415) and a body over
 * `maxBytes` (413): by its Content-Length before reading anything, or as soon as the bytes read
 * pass the limit; the rest is not read (the caller then closes the connection).
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new SparseEncoderError('ERR_UNSUPPORTED_MEDIA_TYPE', `expected content-type application/json, got ${req.headers['content-type'] ?? 'none'}`);
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw oversize(Number(declared), maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(oversize(size, maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new SparseEncoderError('ERR_INVALID_INPUT', `could not read the request body: ${err.message}`, { cause: err }));
    };
    // A connection closed before the body ended: without this the request would never settle.
    const onClose = (): void => onError(new Error('the connection closed before the body ended'));
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
  const text = Buffer.concat(chunks, size).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SparseEncoderError('ERR_INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function oversize(bytes: number, maxBytes: number): SparseEncoderError {
  return new SparseEncoderError('ERR_OVERSIZE_REQUEST', `the request body is larger than ${maxBytes} bytes`, { details: { bytes, maxBytes } });
}
