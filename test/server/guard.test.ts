// The server against DNS rebinding, cross-site pages and slow clients (issue 8).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { acceptedHosts, startServer } from '../../src/server/server.js';
import type { SparseServer } from '../../src/server/types.js';
import { request } from './http-client.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TMP = mkdtempSync(join(tmpdir(), 'server-guard-'));
let server: SparseServer;
let port: number;

before(async () => {
  const index = await SparseIndex.build([{ id: 'a', vector: { indices: Uint32Array.of(1, 5), values: Float32Array.of(1, 2), dim: 10 } }]);
  await index.save(join(TMP, 'i.idx'));
  index.dispose();
  server = await startServer({ index: join(TMP, 'i.idx'), port: 0, headersTimeoutMs: 400, requestTimeoutMs: 800, allowedHosts: ['search.internal'] });
  port = Number(new URL(server.url).port);
});
after(async () => {
  await server.close();
  rmSync(TMP, { recursive: true, force: true });
});

test('on loopback only Host values naming it (or allowed ones) are answered; evil.example gets 421 with a JSON error', async () => {
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, 'search.internal', `search.internal:${port}`]) {
    const r = await request(server.url, '/health', { headers: { host } });
    assert.equal(r.status, 200, `${host}: ${JSON.stringify(r.body)}`);
  }
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, 'localhost']) {
    for (const path of ['/info', '/search', '/health']) {
      const r = await request(server.url, path, { headers: { host } });
      assert.equal(r.status, 421, `${host} ${path}`);
      assert.equal(r.body.error.code, 'ERR_HOST_NOT_ALLOWED');
      assert.ok(!JSON.stringify(r.body).includes(TMP), 'no local path in the refusal');
    }
  }
});

test('a page of another origin gets 403; pages of the server itself are answered; /info names no local path', async () => {
  const evil = await request(server.url, '/info', { headers: { origin: 'http://evil.example' } });
  assert.equal(evil.status, 403);
  assert.equal(evil.body.error.code, 'ERR_ORIGIN_NOT_ALLOWED');
  assert.equal((await request(server.url, '/info', { headers: { origin: 'null' } })).status, 403);
  const own = await request(server.url, '/info', { headers: { origin: `http://localhost:${port}` } });
  assert.equal(own.status, 200);
  assert.ok(!JSON.stringify(own.body).includes(TMP), JSON.stringify(own.body));
});

test('accepted hosts: loopback names at the port; elsewhere anything unless a list is given', () => {
  assert.deepEqual([...acceptedHosts('127.0.0.1', 80, undefined)!].sort(), ['127.0.0.1:80', '[::1]:80', 'localhost:80']);
  assert.ok(acceptedHosts('::1', 80, ['a.b'])!.has('a.b:80'));
  assert.equal(acceptedHosts('0.0.0.0', 80, undefined), undefined);
  assert.deepEqual([...acceptedHosts('0.0.0.0', 80, ['x.y:8080'])!], ['x.y:8080']);
});

test('a client that never finishes its headers is cut after headersTimeoutMs, not minutes', async () => {
  const t0 = Date.now();
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `));
    s.on('data', () => undefined);
    s.on('close', () => resolve(Date.now() - t0));
    s.on('error', reject);
    setTimeout(() => reject(new Error('still open after 5 s')), 5000).unref();
  });
  assert.ok(closedAfter >= 300 && closedAfter < 3000, `closed after ${closedAfter} ms`);
});

test('a client that sends its body too slowly is cut after requestTimeoutMs', async () => {
  const t0 = Date.now();
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(`POST /search HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
      const drip = setInterval(() => s.write(' '), 100);
      s.on('close', () => clearInterval(drip));
    });
    s.on('data', () => undefined);
    s.on('close', () => resolve(Date.now() - t0));
    s.on('error', () => undefined);
    setTimeout(() => reject(new Error('still open after 6 s')), 6000).unref();
  });
  assert.ok(closedAfter >= 600 && closedAfter < 4000, `closed after ${closedAfter} ms`);
});
