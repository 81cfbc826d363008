import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body. */
  body: any;
  ms: number;
}

export interface RequestSpec {
  method?: string;
  headers?: OutgoingHttpHeaders;
  /** A value is sent as JSON; a string or Buffer as is. */
  json?: unknown;
  raw?: string | Buffer;
  /**
   * Sends `raw` in chunks without a Content-Length and never ends the body: the reply must come
   * before the body is complete (the server stops reading early).
   */
  streamWithoutEnd?: boolean;
}

/** One request on its own connection (no keep-alive agent, so nothing lingers after the tests). */
export function request(base: string, path: string, spec: RequestSpec = {}): Promise<Reply> {
  const url = new URL(path, base);
  const started = performance.now();
  const payload = spec.json !== undefined ? Buffer.from(JSON.stringify(spec.json)) : spec.raw;
  const headers: OutgoingHttpHeaders = { ...(spec.json !== undefined ? { 'content-type': 'application/json' } : {}), ...spec.headers };
  if (payload !== undefined && !spec.streamWithoutEnd && headers['content-length'] === undefined) headers['content-length'] = Buffer.byteLength(payload);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: spec.method ?? (payload !== undefined ? 'POST' : 'GET'), headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // left as text; the assertions say what was expected
        }
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - started });
      });
      res.on('error', reject);
    });
    let answered = false;
    req.on('response', () => (answered = true));
    // Writing after the server has answered and closed may fail; the reply is what counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (spec.streamWithoutEnd && payload !== undefined) {
      const buf = Buffer.from(payload);
      for (let at = 0; at < buf.length; at += 16 * 1024) req.write(buf.subarray(at, at + 16 * 1024));
      return;
    }
    req.end(payload);
  });
}
