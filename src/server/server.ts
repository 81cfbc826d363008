import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { readFileSync } from 'node:fs';
import { SparseEncoderError, type ErrorCode } from '../errors.js';

import type { SparseVector } from '../sparse/vector.js';
import { readJsonBody, sendError, sendJson, sendRaw, statusOf } from './http-io.js';
import { ServerMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { PLAYGROUND_CSP, playgroundHtml } from './playground.js';
import type { JobRequest, JobResult, ServedModelInfo, WireBatch, WireVector } from './protocol.js';
import { parseDecode, parseEmbedSparse, parseTokenize, teiBody, teiSparse, teiStatus, teiTooLong, type TeiLimits } from './tei.js';
import { parseEncodeRequest, parseExplainRequest, parseSearchRequest, parseSimilarityRequest, type RequestLimits } from './requests.js';
import type { ServerLogEvent, ServerOptions, SparseServer } from './types.js';
import { SearchPool } from './search-pool.js';
import { EncodePool } from './worker-pool.js';

const MiB = 1024 * 1024;

/**
 * Padded tokens per onnxruntime run under dynamic batching. TEI's 16,384 suits GPUs; on CPU,
 * 256-token documents run fastest two at a time and slower per text from four on, while short
 * queries keep gaining up to about eight per run (bench:batching, BENCHMARKS.md): 512 allows both.
 */
const DEFAULT_MAX_BATCH_TOKENS = 512;

/** The package version, reported in /info (TEI's `version`) and /openapi.json. */
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Resolved {
  host: string;
  allowedHosts: readonly string[] | undefined;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  jobTimeoutMs: number;
  shutdownGraceMs: number;
  searchWorkers: number;
  maxQueryTerms: number;
  keepAliveTimeoutMs: number;
  port: number;
  workers: number;
  threadsPerWorker: number;
  maxBodyBytes: number;
  maxQueuedJobs: number;
  maxBatchTokens: number;
  tei: TeiLimits;
  limits: RequestLimits;
  log: (event: ServerLogEvent) => void;
}

type Handler = (body: unknown, signal: AbortSignal) => Promise<unknown>;
type Method = 'GET' | 'POST' | 'HEAD';

interface Route {
  /** Handlers by method; HEAD answers like GET without a body. */
  methods: Partial<Record<'GET' | 'POST', Handler>>;
  /** Errors in text-embeddings-inference's shape and statuses (its routes). */
  tei?: boolean;
}

/** What the server needs of a query-only SparseEncoder. */
type StaticQueryEncoder = Pick<import('../encoder/sparse-encoder.js').SparseEncoder, 'encodeQuery' | 'decode' | 'dim' | 'dispose'>;

/** A handler's non-JSON answer (/metrics). */
class RawBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** The pool behind each server, for tests that need to crash a worker (not part of the public API). */
const POOLS = new WeakMap<SparseServer, EncodePool>();

/** The search pool behind each server, for tests (not part of the public API). */
const SEARCH_POOLS = new WeakMap<SparseServer, SearchPool>();

/** @internal The search worker pool of `server`, if it has an index (tests). */
export function searchPoolOf(server: SparseServer): SearchPool | undefined {
  return SEARCH_POOLS.get(server);
}

/** @internal The encode worker pool of `server`, if it has a model (tests). */
export function encodePoolOf(server: SparseServer): EncodePool | undefined {
  return POOLS.get(server);
}

/**
 * Starts the HTTP server: opens the index, starts the encode workers (each loads the model), and
 * listens once everything is ready. Rejects with the loading error (ERR_MODEL_NOT_FOUND,
 * ERR_INDEX_CORRUPT, ...), ERR_DIMENSION_MISMATCH when model and index disagree, or
 * ERR_INVALID_ARGUMENT for bad options or an address that cannot be listened on.
 *
 * Endpoints (JSON in and out): `GET /health`, `GET /info`, `POST /encode`, `POST /search`,
 * `POST /similarity`; every failure is `{error: {code, message}}` with a fitting status.
 */
export async function startServer(options: ServerOptions = {}): Promise<SparseServer> {
  const o = resolveOptions(options);
  // Bind first: a busy port or a bad address fails at once, not after a model download. Until the
  // model and index are loaded, /health answers 503 and the other routes 503 ERR_UNAVAILABLE.
  const app = new App(o, options.model !== undefined, options.index !== undefined);
  await app.listen();
  let index: SearchPool | undefined;
  let pool: EncodePool | undefined;
  try {
    if (options.index !== undefined) {
      index = await SearchPool.start({ indexPath: options.index, workers: o.searchWorkers, maxQueued: o.maxQueuedJobs, onLog: o.log });
    }
    if (options.model !== undefined) {
      pool = await EncodePool.start({
        config: {
          model: options.model,
          threads: o.threadsPerWorker,
          ...(options.revision !== undefined ? { revision: options.revision } : {}),
          ...(options.localFilesOnly !== undefined ? { localFilesOnly: options.localFilesOnly } : {}),
          ...(options.quantize !== undefined ? { quantize: options.quantize } : {}),
          ...(options.int8VocabProjection !== undefined ? { int8VocabProjection: options.int8VocabProjection } : {}),
          ...(options.spinning !== undefined ? { spinning: options.spinning } : {}),
        },
        workers: o.workers,
        maxQueued: o.maxQueuedJobs,
        jobTimeoutMs: o.jobTimeoutMs,
        maxBatchTokens: o.maxBatchTokens,
        onBatches: (batches) => app.recordBatches(batches),
        onLog: o.log,
      });
      if (index !== undefined && pool.info.dim !== index.dim) {
        throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `the model's dimension is ${pool.info.dim} but the index's is ${index.dim}`, {
          details: { model: options.model, index: options.index },
        });
      }
    }
  } catch (err) {
    await pool?.close();
    await index?.close();
    await app.close();
    throw err;
  }
  // Inference-free queries are a tokenizer and a weight table: encode them here, on the main thread,
  // so they never wait behind a worker's document runs (and load nothing of the transformer).
  let staticQueries: StaticQueryEncoder | undefined;
  if (pool !== undefined && pool.info.router && pool.info.staticQueries) {
    try {
      const { SparseEncoder } = await import('../encoder/sparse-encoder.js');
      staticQueries = await SparseEncoder.fromPretrained(pool.info.folder, { routes: ['query'], localFilesOnly: true, threads: 1 });
    } catch (err) {
      o.log({ type: 'internal-error', level: 'error', message: `queries will go through the workers: the static query route did not load here (${(err as Error).message})`, error: err });
    }
  }
  app.attach(pool, index, staticQueries);
  const server: SparseServer = { url: app.url, close: () => app.close() };
  if (pool) POOLS.set(server, pool);
  if (index) SEARCH_POOLS.set(server, index);
  o.log({ type: 'listening', level: 'info', message: `listening on ${app.url}`, url: app.url });
  return server;
}

class App {
  private readonly http: Server;
  private readonly routes: Record<string, Route>;
  private active = 0;
  private closing = false;
  private closed: Promise<void> | undefined;
  private onIdle: (() => void) | undefined;
  /** Requests still receiving their body: close() drops them (no job has started for them). */
  private readonly reading = new Set<IncomingMessage>();
  url = '';
  /** Host header values answered (undefined: any), known once listening. */
  private hosts: Set<string> | undefined;

  private pool: EncodePool | undefined;
  private index: SearchPool | undefined;
  /** The query route of an inference-free model, loaded in this process (see startServer). */
  private staticQueries: StaticQueryEncoder | undefined;
  private ready = false;
  private readonly metrics = new ServerMetrics();

  constructor(
    private readonly o: Resolved,
    private readonly hasModel: boolean,
    private readonly hasIndex: boolean,
  ) {
    const health: Handler = async () => {
      if (!this.ready) throw new SparseEncoderError('ERR_UNAVAILABLE', 'loading: the model and index are not ready yet', { details: { teiErrorType: 'Unhealthy' } });
      return { status: 'ok' };
    };
    this.routes = {
      '/health': { methods: { GET: health } },
      '/info': { methods: { GET: async () => this.info() } },
      '/encode': { methods: { POST: (b, s) => this.encode(b, s) } },
      '/explain': { methods: { POST: (b, s) => this.explain(b, s) } },
      '/playground': { methods: { GET: async () => new RawBody(playgroundHtml(), 'text/html; charset=utf-8', { 'content-security-policy': PLAYGROUND_CSP, 'x-content-type-options': 'nosniff' }) } },
      '/search': { methods: { POST: (b, s) => this.search(b, s) } },
      '/similarity': { methods: { POST: (b, s) => this.similarity(b, s) } },
      // text-embeddings-inference's routes (router/src/http/server.rs): POST / is /embed_sparse for a SPLADE model.
      '/': { methods: { GET: health, POST: (b, s) => this.embedSparse(b, s) }, tei: true },
      '/embed_sparse': { methods: { POST: (b, s) => this.embedSparse(b, s) }, tei: true },
      '/tokenize': { methods: { POST: (b, s) => this.tokenize(b, s) }, tei: true },
      '/decode': { methods: { POST: (b, s) => this.decode(b, s) }, tei: true },
      '/ping': { methods: { GET: health }, tei: true },
      '/metrics': { methods: { GET: async () => new RawBody(this.renderMetrics(), 'text/plain; version=0.0.4; charset=utf-8') } },
      '/openapi.json': { methods: { GET: async () => openApiDocument(VERSION) } },
    };
    // Node checks these timeouts every connectionsCheckingInterval (30 s by default): check each second.
    this.http = createHttpServer(
      {
        headersTimeout: o.headersTimeoutMs,
        requestTimeout: o.requestTimeoutMs,
        keepAliveTimeout: o.keepAliveTimeoutMs,
        connectionsCheckingInterval: Math.min(1000, o.headersTimeoutMs),
      },
      (req, res) => void this.handle(req, res),
    );
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket));
  }

  /** The loaded model and index: from now on every route answers. */
  attach(pool: EncodePool | undefined, index: SearchPool | undefined, staticQueries?: StaticQueryEncoder): void {
    this.pool = pool;
    this.index = index;
    this.staticQueries = staticQueries;
    this.ready = true;
  }

  recordBatches(batches: WireBatch[]): void {
    for (const b of batches) {
      this.metrics.batchTexts.observe(b.texts);
      this.metrics.batchTokens.observe(b.tokens);
      this.metrics.batchPaddedTokens.observe(b.paddedTokens);
    }
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new SparseEncoderError('ERR_INVALID_ARGUMENT', `cannot listen on ${this.o.host}:${this.o.port}: ${err.code ?? err.message}`, { cause: err }));
      };
      this.http.once('error', onError);
      this.http.listen(this.o.port, this.o.host, () => {
        this.http.off('error', onError);
        const { port } = this.http.address() as AddressInfo;
        const host = this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
        this.url = `http://${host}:${port}`;
        this.hosts = acceptedHosts(this.o.host, port, this.o.allowedHosts);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.http.closeIdleConnections();
      for (const req of this.reading) req.socket.destroy();
      if (this.active > 0) {
        // Requests in flight get shutdownGraceMs; then their workers are stopped and they are answered 503.
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<void>((resolve) => (this.onIdle = resolve));
        const late = await Promise.race([idle.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.o.shutdownGraceMs)))]);
        clearTimeout(timer);
        if (late) {
          this.o.log({ type: 'closed', level: 'info', message: `shutdown grace of ${this.o.shutdownGraceMs} ms over: stopping ${this.active} request(s) in flight` });
          await this.pool?.close();
          await idle;
        }
      }
      // Keep-alive connections that went idle after their last response.
      this.http.closeAllConnections();
      await stopped;
      await this.pool?.close();
      await this.index?.close();
      await this.staticQueries?.dispose();
      this.o.log({ type: 'closed', level: 'info', message: 'server closed' });
    })();
    return this.closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    this.active++;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const path = pathOf(req.url);
    const route = Object.hasOwn(this.routes, path) ? this.routes[path] : undefined;
    let status = 200;
    try {
      if (this.closing) throw new SparseEncoderError('ERR_UNAVAILABLE', 'the server is shutting down');
      this.checkHostAndOrigin(req);
      if (route === undefined) throw new SparseEncoderError('ERR_ROUTE_NOT_FOUND', `no route ${path} (routes: ${Object.keys(this.routes).join(', ')})`);
      const method = (req.method ?? 'GET') as Method;
      // A browser opening the server's root (TEI's health route for probes) is sent to the playground.
      if (path === '/' && (method === 'GET' || method === 'HEAD') && this.hasModel && /\btext\/html\b/.test(req.headers.accept ?? '')) {
        res.writeHead(302, { location: '/playground', 'content-length': '0' }).end();
        status = 302;
        return;
      }
      const handler = route.methods[method === 'HEAD' ? 'GET' : (method as 'GET' | 'POST')];
      if (handler === undefined) {
        const allowed = Object.keys(route.methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
        res.setHeader('allow', allowed.join(', '));
        throw new SparseEncoderError('ERR_METHOD_NOT_ALLOWED', `${path} takes ${allowed.join(' or ')}, not ${req.method}`);
      }
      let body: unknown;
      if (method === 'POST') {
        this.reading.add(req);
        try {
          body = await readJsonBody(req, this.o.maxBodyBytes);
        } finally {
          this.reading.delete(req);
        }
      }
      const result = await handler(body, abort.signal);
      if (res.destroyed) status = 499; // the client went away first
      else if (result instanceof RawBody) {
        for (const [k, v] of Object.entries(result.headers)) res.setHeader(k, v);
        sendRaw(res, 200, result.text, result.contentType, method === 'HEAD');
      }
      else if (method === 'HEAD') sendRaw(res, 200, JSON.stringify(result), 'application/json; charset=utf-8', true);
      else sendJson(res, 200, result);
    } catch (err) {
      status = this.fail(req, res, err, route?.tei === true);
    } finally {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const known = route !== undefined ? path : 'other';
      this.metrics.requests.inc({ route: known, method: req.method ?? '', status: String(status) });
      this.metrics.requestSeconds.observe((performance.now() - started) / 1000, { route: known });
      this.o.log({ type: 'request', level: 'info', message: `${req.method} ${path} ${status} ${ms} ms`, method: req.method ?? '', path, status, ms });
      if (--this.active === 0 && this.onIdle) this.onIdle();
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown, tei = false): number {
    let e: SparseEncoderError;
    if (err instanceof SparseEncoderError) e = err;
    else {
      this.o.log({ type: 'internal-error', level: 'error', message: `internal error on ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`, error: err });
      e = new SparseEncoderError('ERR_INTERNAL', 'internal server error');
    }
    if (res.destroyed) return 499; // the client went away; nothing to answer
    if (res.headersSent) {
      res.destroy();
      return 500;
    }
    // An unread body (413, or a refusal before reading) is drained within bounds, keeping the connection; past them it is closed.
    const keep = req.complete || drainUnreadBody(req);
    const headers: Record<string, string> = !keep || this.closing ? { connection: 'close' } : {};
    if (tei) {
      const status = teiStatus(e, statusOf(e.code));
      sendJson(res, status, teiBody(e), headers);
      return status;
    }
    return sendError(res, e, headers);
  }

  /** DNS rebinding and cross-site requests: see ServerOptions.allowedHosts. */
  private checkHostAndOrigin(req: IncomingMessage): void {
    if (this.hosts === undefined) return;
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts.has(host)) {
      throw new SparseEncoderError('ERR_HOST_NOT_ALLOWED', `Host "${host.slice(0, 200)}" is not one this server answers (see --allowed-hosts)`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let originHost: string;
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        originHost = '';
      }
      if (!this.hosts.has(originHost)) throw new SparseEncoderError('ERR_ORIGIN_NOT_ALLOWED', `requests from pages of ${origin.slice(0, 200)} are not accepted`);
    } else if (origin === 'null') {
      throw new SparseEncoderError('ERR_ORIGIN_NOT_ALLOWED', 'requests from opaque origins (Origin: null) are not accepted');
    }
  }

  private info(): unknown {
    const stats = this.pool?.stats();
    const m = this.pool?.info;
    const model = m ? publicModelInfo(m) : null;
    return {
      // text-embeddings-inference's Info (router/src/lib.rs), for its clients; ours follow.
      model_id: model?.id ?? null,
      model_sha: null,
      model_dtype: m ? (m.precision === 'fp32' ? 'float32' : m.precision) : null,
      served_model_name: model?.id ?? null,
      model_type: { embedding: { pooling: 'splade' } },
      max_concurrent_requests: this.o.maxQueuedJobs,
      max_input_length: m?.maxSeqLength ?? null,
      max_batch_tokens: this.o.maxBatchTokens,
      max_batch_requests: null,
      max_client_batch_size: this.o.tei.maxClientBatchSize,
      auto_truncate: this.o.tei.autoTruncate,
      tokenization_workers: this.o.workers,
      version: VERSION,
      sha: null,
      docker_label: null,
      model,
      index: this.index ? { size: this.index.size, ...this.index.info() } : null,
      server: {
        workers: this.o.workers,
        readyWorkers: stats?.ready ?? 0,
        threadsPerWorker: this.o.threadsPerWorker,
        queuedJobs: stats?.queued ?? 0,
        workerRestarts: stats?.restarts ?? 0,
        maxBodyBytes: this.o.maxBodyBytes,
        maxTextsPerRequest: this.o.limits.maxTexts,
        maxTextLength: this.o.limits.maxTextLength,
        maxK: this.o.limits.maxK,
      },
    };
  }

  private needPool(what: string): EncodePool {
    if (!this.ready && this.hasModel) throw new SparseEncoderError('ERR_UNAVAILABLE', 'loading: the model is not ready yet', { details: { teiErrorType: 'Unhealthy' } });
    if (!this.pool) throw new SparseEncoderError('ERR_ROUTE_NOT_FOUND', `${what} needs a model; this server was started without one`);
    return this.pool;
  }

  private async timedEncode(route: string, pool: EncodePool, request: JobRequest, signal: AbortSignal): Promise<JobResult> {
    const t0 = performance.now();
    try {
      const local = this.staticQueries;
      if (local !== undefined && request.op === 'encode' && request.task === 'query') {
        const vectors = await local.encodeQuery(request.texts, {
          ...(request.maxActiveDims !== undefined ? { maxActiveDims: request.maxActiveDims } : {}),
          ...(request.truncate === false ? { truncate: false } : {}),
          ...(request.window !== undefined ? { longDocuments: 'window' as const, ...request.window } : {}),
          ...(request.truncationDirection !== undefined ? { truncationDirection: request.truncationDirection } : {}),
          ...(request.addSpecialTokens === false ? { addSpecialTokens: false } : {}),
        });
        const wire = vectors.map((v) => ({ indices: v.indices.slice(), values: v.values.slice(), ...(request.tokens ? { tokens: local.decode(v) } : {}) }));
        return { op: 'encode', vectors: wire, dim: local.dim, batches: [] };
      }
      return await pool.run(request, signal);
    } finally {
      this.metrics.encodeSeconds.observe((performance.now() - t0) / 1000, { route });
    }
  }

  /** `POST /embed_sparse`: TEI's request; `[[{index, value}, ...], ...]`, non-zeros in ascending index. */
  private async embedSparse(body: unknown, signal: AbortSignal): Promise<unknown> {
    const pool = this.needPool('/embed_sparse');
    const r = parseEmbedSparse(body, this.o.tei);
    const base = {
      op: 'encode' as const,
      task: r.task,
      tokens: false,
      truncate: r.truncate,
      ...(r.promptName !== undefined ? { promptName: r.promptName } : {}),
      ...(r.truncationDirection !== undefined ? { truncationDirection: r.truncationDirection } : {}),
    };
    // Token-id inputs, as TEI takes them: decoded with their special tokens, then encoded without adding any.
    const idRows = r.ids?.flatMap((ids, i) => (ids === undefined ? [] : [{ i, ids }])) ?? [];
    const textRows = r.texts.flatMap((text, i) => (r.ids?.[i] !== undefined ? [] : [{ i, text }]));
    const out = new Array<ReturnType<typeof teiSparse>>(r.texts.length);
    try {
      if (textRows.length > 0) {
        const result = await this.timedEncode('/embed_sparse', pool, { ...base, texts: textRows.map((x) => x.text) }, signal);
        expectOp(result, 'encode').vectors.forEach((v, k) => (out[textRows[k]!.i] = teiSparse(v.indices, v.values)));
      }
      if (idRows.length > 0) {
        const decoded = expectOp(await pool.run({ op: 'decode', ids: idRows.map((x) => x.ids), skipSpecialTokens: false }, signal), 'decode').texts;
        const result = await this.timedEncode('/embed_sparse', pool, { ...base, texts: decoded, addSpecialTokens: false }, signal);
        expectOp(result, 'encode').vectors.forEach((v, k) => (out[idRows[k]!.i] = teiSparse(v.indices, v.values)));
      }
    } catch (err) {
      if (err instanceof SparseEncoderError && err.code === 'ERR_INPUT_TOO_LONG') throw teiTooLong(err, pool.info.maxSeqLength);
      throw err;
    }
    return out;
  }

  /** `POST /tokenize`: `[[{id, text, special, start, stop}, ...], ...]` (byte offsets, as TEI). */
  private async tokenize(body: unknown, signal: AbortSignal): Promise<unknown> {
    const pool = this.needPool('/tokenize');
    const r = parseTokenize(body, this.o.tei);
    const result = await pool.run({ op: 'tokenize', texts: r.texts, task: r.task, addSpecialTokens: r.addSpecialTokens, ...(r.promptName !== undefined ? { promptName: r.promptName } : {}) }, signal);
    return expectOp(result, 'tokenize').tokens;
  }

  /** `POST /decode`: `[string, ...]`. */
  private async decode(body: unknown, signal: AbortSignal): Promise<unknown> {
    const pool = this.needPool('/decode');
    const r = parseDecode(body, this.o.tei);
    return expectOp(await pool.run({ op: 'decode', ids: r.ids, skipSpecialTokens: r.skipSpecialTokens }, signal), 'decode').texts;
  }

  private renderMetrics(): string {
    const enc = this.pool?.stats();
    const srch = this.index?.stats?.();
    return this.metrics.render([
      { name: 'sparse_encoder_ready', help: 'Whether the model and index are loaded (1) or still loading (0).', value: this.ready ? 1 : 0 },
      { name: 'sparse_encoder_encode_queue_depth', help: 'Encode requests waiting for a worker.', value: enc?.queued ?? 0 },
      { name: 'sparse_encoder_encode_workers_busy', help: 'Encode workers running a job.', value: enc?.busy ?? 0 },
      { name: 'sparse_encoder_encode_workers_ready', help: 'Encode workers loaded and alive.', value: enc?.ready ?? 0 },
      { name: 'sparse_encoder_encode_worker_restarts', help: 'Encode workers replaced after a crash or timeout.', value: enc?.restarts ?? 0 },
      { name: 'sparse_encoder_search_queue_depth', help: 'Search requests waiting for a search worker.', value: srch?.queued ?? 0 },
      { name: 'sparse_encoder_requests_in_flight', help: 'Requests being handled.', value: this.active },
    ]);
  }

  private async encode(body: unknown, signal: AbortSignal): Promise<unknown> {
    const pool = this.needPool('/encode');
    const r = parseEncodeRequest(body, this.o.limits);
    if (r.texts.length === 0) return r.explain ? { vectors: [], dim: pool.info.dim, explanations: [] } : { vectors: [], dim: pool.info.dim };
    if (r.explain) {
      const result = expectOp(await pool.run({ op: 'explain', texts: r.texts, task: r.task, ...(r.maxActiveDims !== undefined ? { maxActiveDims: r.maxActiveDims } : {}) }, signal), 'explain');
      const explanations = result.texts as Array<{ vector: { indices: number[]; values: number[] } }>;
      return { vectors: explanations.map((e) => ({ indices: e.vector.indices, values: e.vector.values })), dim: pool.info.dim, explanations };
    }
    const result = expectOp(await this.timedEncode('/encode', pool, { op: 'encode', ...r }, signal), 'encode');
    return { vectors: result.vectors.map(toJsonVector), dim: result.dim };
  }

  private async search(body: unknown, signal: AbortSignal): Promise<unknown> {
    if (!this.ready && this.hasIndex) throw new SparseEncoderError('ERR_UNAVAILABLE', 'loading: the index is not ready yet');
    if (!this.index) throw new SparseEncoderError('ERR_ROUTE_NOT_FOUND', '/search needs an index; this server was started without one');
    const index = this.index;
    const r = parseSearchRequest(body, this.o.limits, index.dim);
    const terms = (r.vectors ?? []).reduce((a, v) => a + v.indices.length, 0);
    if (terms > this.o.maxQueryTerms) {
      throw new SparseEncoderError('ERR_OVERSIZE_REQUEST', `the query vectors have ${terms} non-zeros in all, more than the ${this.o.maxQueryTerms} one request may have`, {
        details: { terms, limit: this.o.maxQueryTerms },
      });
    }
    let vectors: SparseVector[];
    if (r.texts !== undefined) {
      if (!this.pool) throw new SparseEncoderError('ERR_INVALID_INPUT', 'this server has no model to encode text queries; send "vector" or "vectors"');
      if (r.texts.length === 0) return { results: [] };
      const encoded = expectOp(await this.timedEncode('/search', this.pool, { op: 'encode', texts: r.texts, task: 'query', tokens: false }, signal), 'encode');
      vectors = encoded.vectors.map((v) => ({ indices: v.indices, values: v.values, dim: encoded.dim }));
    } else {
      vectors = r.vectors!;
    }
    // In a search worker thread: the main thread stays free for /health and small requests.
    const t0 = performance.now();
    const results = await index.run({ vectors: vectors.map((v) => ({ indices: v.indices, values: v.values })), k: r.k, exact: r.exact, fields: r.fields, explain: r.explain, ...r.approximate }, signal);
    this.metrics.searchSeconds.observe((performance.now() - t0) / 1000);
    return { results };
  }

  /** `POST /explain`: the query's terms, and each document's terms and score breakdown against it (SparseEncoder.explain). */
  private async explain(body: unknown, signal: AbortSignal): Promise<unknown> {
    const pool = this.needPool('/explain');
    const r = parseExplainRequest(body, this.o.limits);
    const result = expectOp(await pool.run({ op: 'explain', query: r.query, documents: r.documents, ...(r.maxActiveDims !== undefined ? { maxActiveDims: r.maxActiveDims } : {}) }, signal), 'explain');
    return { query: result.query, documents: result.documents, similarityFn: pool.info.similarityFn };
  }

  private async similarity(body: unknown, signal: AbortSignal): Promise<unknown> {
    const pool = this.needPool('/similarity');
    const r = parseSimilarityRequest(body, this.o.limits);
    const similarityFn = pool.info.similarityFn;
    if (r.queries.length === 0 || r.documents.length === 0) return { similarity: r.queries.map(() => []), similarityFn };
    const result = expectOp(await pool.run({ op: 'similarity', ...r }, signal), 'similarity');
    return { similarity: result.matrix, similarityFn };
  }
}

function expectOp<K extends JobResult['op']>(r: JobResult, op: K): Extract<JobResult, { op: K }> {
  if (r.op !== op) throw new Error(`worker answered a ${r.op} job for a ${op} request`);
  return r as Extract<JobResult, { op: K }>;
}

function toJsonVector(v: WireVector): { indices: number[]; values: number[]; tokens?: Array<[string, number]> } {
  const out: { indices: number[]; values: number[]; tokens?: Array<[string, number]> } = { indices: Array.from(v.indices), values: Array.from(v.values) };
  if (v.tokens !== undefined) out.tokens = v.tokens;
  return out;
}

/** Bytes and time a refused request's unread body is drained for; past either the connection is dropped. */
const DRAIN_BYTES = 16 * 1024 * 1024;
const DRAIN_MS = 2000;

/**
 * Reads and drops what remains of a request refused before its body was read (413 and the like), so
 * the answer reaches a client that is still sending and the connection stays usable. Closing a
 * socket with unread data makes the kernel reset it, and a client still writing its body then gets
 * EPIPE or ECONNRESET instead of the answer (the soak saw 2 of 401, then 12 of 744, oversized bodies
 * lost that way). Returns false, and the connection is closed after the answer, when the declared
 * length is already past DRAIN_BYTES; otherwise the socket is destroyed only if the body goes past
 * DRAIN_BYTES or does not end within DRAIN_MS.
 */
function drainUnreadBody(req: IncomingMessage): boolean {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > DRAIN_BYTES) return false;
  let drained = 0;
  const timer = setTimeout(() => req.socket.destroy(), DRAIN_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_BYTES) req.socket.destroy();
  });
  req.once('end', () => clearTimeout(timer));
  req.on('error', () => undefined);
  req.resume();
  return true;
}

/**
 * A request Node's parser rejects never reaches the handler; answer it in JSON too (Node's default
 * is a bare 400) and close the connection.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
  const code: ErrorCode = status === 431 ? 'ERR_OVERSIZE_REQUEST' : status === 408 ? 'ERR_UNAVAILABLE' : 'ERR_INVALID_INPUT';
  const body = JSON.stringify({ error: { code, message: `malformed HTTP request (${err.code ?? err.message})` } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** /info without local paths: a Hub id as it is, a folder by its last name only. */
function publicModelInfo(info: ServedModelInfo): Omit<ServedModelInfo, 'folder'> {
  const { folder: _folder, ...rest } = info;
  const isPath = rest.id.startsWith('/') || rest.id.startsWith('.') || rest.id.startsWith('~') || rest.id.includes('\\') || /^[A-Za-z]:/.test(rest.id) || rest.id.split('/').length > 2;
  return { ...rest, id: isPath ? basename(rest.id.replace(/[\\/]+$/, '')) : rest.id };
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/i;

/**
 * The Host header values a server answers: on a loopback address, the names of loopback at its
 * port plus `extra`; elsewhere `extra` alone when given, else any (undefined).
 */
export function acceptedHosts(host: string, port: number, extra: readonly string[] | undefined): Set<string> | undefined {
  const out = new Set<string>();
  for (const h of extra ?? []) {
    const v = h.trim().toLowerCase();
    if (v === '') continue;
    out.add(v);
    if (!/:\d+$/.test(v) || v.endsWith(']')) out.add(`${v}:${port}`);
  }
  if (LOOPBACK.test(host)) {
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) out.add(`${name}:${port}`);
    out.add(`${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase());
    return out;
  }
  return extra === undefined ? undefined : out;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}

function resolveOptions(options: ServerOptions): Resolved {
  if (options.model === undefined && options.index === undefined) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'give a model, an index, or both');
  }
  const int = (name: keyof ServerOptions, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = options[name] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
    return v;
  };
  const workers = int('workers', 1, 1, 256);
  if (options.allowedHosts !== undefined && (!Array.isArray(options.allowedHosts) || options.allowedHosts.some((h) => typeof h !== 'string'))) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'allowedHosts must be an array of host names');
  }
  if (options.spinning !== undefined && typeof options.spinning !== 'boolean') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `spinning must be true or false, got ${JSON.stringify(options.spinning)}`);
  }
  return {
    host: options.host ?? '127.0.0.1',
    allowedHosts: options.allowedHosts,
    headersTimeoutMs: int('headersTimeoutMs', 10_000, 1),
    jobTimeoutMs: int('jobTimeoutMs', 120_000, 1),
    searchWorkers: int('searchWorkers', 1, 1, 64),
    maxQueryTerms: int('maxQueryTerms', 256 * 1024, 1),
    shutdownGraceMs: int('shutdownGraceMs', 30_000, 0),
    requestTimeoutMs: int('requestTimeoutMs', 30_000, 1),
    keepAliveTimeoutMs: int('keepAliveTimeoutMs', 5_000, 1),
    port: int('port', 8080, 0, 65535),
    workers,
    threadsPerWorker: int('threadsPerWorker', Math.max(1, Math.floor(availableParallelism() / workers)), 1, 1024),
    maxBodyBytes: int('maxBodyBytes', MiB, 1),
    maxQueuedJobs: int('maxQueuedJobs', 1024, 0),
    maxBatchTokens: int('maxBatchTokens', DEFAULT_MAX_BATCH_TOKENS, 0),
    tei: {
      maxClientBatchSize: int('maxClientBatchSize', 32, 1),
      maxTextLength: int('maxTextLength', 100_000, 1),
      autoTruncate: options.autoTruncate ?? true,
    },
    limits: {
      maxTexts: int('maxTextsPerRequest', 256, 1),
      maxTextLength: int('maxTextLength', 100_000, 1),
      maxK: int('maxK', 1000, 1),
    },
    log: options.onLog ?? (() => undefined),
  };
}
