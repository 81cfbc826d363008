/**
 * `#hub` outside Node (browsers, workers; package.json imports, condition `default`): the model's
 * files fetched into memory, from the Hub or from a URL prefix, and kept in the Cache API.
 *
 * From the Hub, the same file plan as Node (files.ts: modules.json → each module's files) over the
 * file list of `GET /api/models/{repo}/revision/{rev}?blobs=true` (huggingface_hub's
 * `model_info(files_metadata=True)`, hf_api.py: siblings with `blobId`, `size` and `lfs.sha256`),
 * then each file from `/{repo}/resolve/{commit}/{path}`, the URL transformers.js fetches from
 * pages; the browser follows the redirect to the CDN and drops `Authorization` on the way (Fetch
 * standard). We read no custom response header (a page sees only the CORS-safelisted ones), so the
 * commit and the etags come from the API's JSON. Each file is checked against them before it is
 * kept: its length, and its hash (sha256 for LFS files, the git blob sha1 otherwise) where
 * WebCrypto is available (secure contexts).
 *
 * The Cache API plays huggingface_hub's cache: `blobs/<etag>` (so a file unchanged across commits
 * is fetched once), `snapshots/<repo>/<commit>` (which blob each path is) and `refs/<repo>/<rev>`
 * (written last: a snapshot is complete once its ref exists). When the Hub cannot be asked (a
 * network error, a timeout, 408/429/5xx, an answer that is not JSON) or refuses a revision already
 * held (401/403), a complete cached snapshot serves and a `cache-fallback` event says why, as in
 * Node. Portable: no Node built-in.
 */
import { SparseEncoderError } from '../errors.js';
import { mountFiles } from '../files/model-fs.js';
import { planModelFiles, qualifiedRepoId, type RepoView } from './files.js';
import { authHeaders, COMMIT_HASH, httpError, HubUnreachable, isRepoId, isSafeRepoPath, isSafeRevision, isTransientStatus } from './hub-answers.js';
import type { ResolvedModel, ResolveModelOptions, ResolveProgressEvent } from './types.js';

const DEFAULT_ENDPOINT = 'https://huggingface.co';
/** huggingface_hub's HF_HUB_ETAG_TIMEOUT default, for the repo info request. */
const INFO_TIMEOUT_MS = 10_000;
/** The repo info answer (file list) is JSON of at most this size. */
const MAX_INFO_BYTES = 16 * 1024 * 1024;
/** Config-sized JSON read during the plan (modules.json, router configs, shard indexes). */
const MAX_JSON_BYTES = 64 * 1024 * 1024;
/**
 * The most bytes one model may fetch: wasm32 addresses 4 GiB, and the weights are then copied into
 * the ONNX graph inside it; past this no session could be built, so we refuse before downloading.
 */
const MAX_WEB_MODEL_BYTES = 3 * 1024 * 1024 * 1024;
/** Transfer attempts per file (a broken-off transfer is fetched again). */
const ATTEMPTS = 3;
const CACHE_NAME = 'sparse-encoder-hub';

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * A model id (`org/name`, from the Hub) or a URL prefix (`https://host/models/splade/`, or a path
 * on the page's origin such as `/models/splade/`) as files in memory, mounted under `mem://`;
 * `release` forgets them once the model is built.
 */
export async function resolveModel(idOrPath: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  if (typeof idOrPath !== 'string' || idOrPath.trim() === '') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'model id or URL must be a non-empty string');
  }
  const doFetch: Fetch = (options.fetch as Fetch | undefined) ?? ((input, init) => globalThis.fetch(input, init));
  const signal = options.signal as AbortSignal | undefined;
  if (/^(https?:)?\/\//i.test(idOrPath) || /^\.{0,2}\//.test(idOrPath)) return fromUrlPrefix(idOrPath, doFetch, signal, options.onProgress);
  if (!isRepoId(idOrPath)) {
    throw new SparseEncoderError('ERR_MODEL_NOT_FOUND', `"${idOrPath}" is neither a URL nor a valid Hub repo id (org/name); here models load from the Hub, a URL prefix, or their files (SparseEncoder.fromFiles)`, {
      details: { path: idOrPath },
    });
  }
  const repoId = qualifiedRepoId(idOrPath);
  const revision = options.revision ?? 'main';
  if (!isSafeRevision(revision)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `invalid revision "${revision}" for ${repoId}`, { details: { repoId, revision } });
  const endpoint = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const token = typeof options.token === 'string' && options.token !== '' ? options.token : undefined;
  const hub: WebHub = { endpoint, repoId, revision, token, fetch: doFetch, signal, onProgress: options.onProgress, store: await BlobStore.open(endpoint) };
  if (options.localFilesOnly === true) {
    const cached = await hub.store?.snapshot(repoId, revision);
    if (cached?.complete) return mounted(cached.files, 'cache', hub, cached.commit);
    throw notCached(hub, cached?.commit, 'localFilesOnly is set');
  }
  return fromHub(hub);
}

interface WebHub {
  endpoint: string;
  repoId: string;
  revision: string;
  token: string | undefined;
  fetch: Fetch;
  signal: AbortSignal | undefined;
  onProgress: ((event: ResolveProgressEvent) => void) | undefined;
  /** Undefined where there is no Cache API (Node, Bun, an insecure or opaque origin). */
  store: BlobStore | undefined;
}

/** One file of the repo as the API lists it. */
interface Sibling {
  size: number | undefined;
  /** sha256 for LFS files, the git blob sha1 otherwise; undefined when the API gave neither. */
  etag: string | undefined;
  lfs: boolean;
}

async function fromHub(hub: WebHub): Promise<ResolvedModel> {
  const { endpoint, repoId, revision } = hub;
  const url = `${endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const fallBack = async (reason: string, original: SparseEncoderError): Promise<ResolvedModel> => {
    const cached = await hub.store?.snapshot(repoId, revision);
    if (cached?.complete !== true) throw original;
    hub.onProgress?.({ type: 'cache-fallback', repoId, revision, commit: cached.commit, reason });
    return mounted(cached.files, 'cache', hub, cached.commit);
  };
  const unreachable = (e: HubUnreachable): Promise<ResolvedModel> =>
    fallBack(
      e.message,
      new SparseEncoderError('ERR_HUB_UNAVAILABLE', `cannot get ${repoId} (revision "${revision}") from the Hub (${e.message}) and ${hub.store === undefined ? 'this runtime has no Cache API' : 'the Cache API holds no complete copy'}; try again later`, {
        cause: e,
        details: { repoId, revision, status: e.status },
      }),
    );

  let info: { sha?: unknown; siblings?: unknown };
  try {
    const res = await send(hub, url, { headers: authHeaders(hub.token) }, INFO_TIMEOUT_MS);
    if (isTransientStatus(res.status)) {
      await res.body?.cancel();
      throw new HubUnreachable(`HTTP ${res.status} from ${url}`, res.status);
    }
    if (!res.ok) {
      const err = httpError(res.status, await verdictHeaders(res), { repoId, revision, url, tokenSource: hub.token === undefined ? undefined : 'option' });
      if (res.status === 401 || res.status === 403) return await fallBack(`HTTP ${res.status} from ${url}`, err);
      throw err;
    }
    const text = new TextDecoder().decode(await readBody(res, MAX_INFO_BYTES, `the repo info from ${url}`));
    try {
      info = JSON.parse(text) as typeof info;
    } catch (err) {
      // A captive portal's or a gateway's page: not the Hub's answer.
      throw new HubUnreachable(`the answer from ${url} is not JSON`, res.status, err);
    }
  } catch (err) {
    if (err instanceof HubUnreachable) return unreachable(err);
    throw err;
  }
  const commit = info?.sha;
  if (typeof commit !== 'string' || !COMMIT_HASH.test(commit) || !Array.isArray(info.siblings)) {
    throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `repo info for ${repoId} from ${url} lacks a commit sha or a file list`, { details: { repoId, url } });
  }
  const listed = siblingsOf(info.siblings);

  let downloaded = false;
  let total = 0;
  const files = new Map<string, Uint8Array>();
  const blobKeys: Record<string, string> = {};
  const getFile = async (path: string): Promise<Uint8Array> => {
    const have = files.get(path);
    if (have !== undefined) return have;
    const sibling = listed.get(path)!;
    total += sibling.size ?? 0;
    if (total > MAX_WEB_MODEL_BYTES) {
      throw new SparseEncoderError('ERR_NOT_SUPPORTED', `${repoId} needs more than ${MAX_WEB_MODEL_BYTES} bytes of files; WebAssembly (wasm32) cannot hold its weights and graph, so it is refused before downloading`, {
        details: { repoId, bytes: total, limit: MAX_WEB_MODEL_BYTES },
      });
    }
    const key = sibling.etag === undefined ? `commit/${commit}/${path}` : `blobs/${sibling.etag}`;
    let bytes = await hub.store?.get(key);
    if (bytes !== undefined && sibling.size !== undefined && bytes.byteLength !== sibling.size) bytes = undefined;
    if (bytes === undefined) {
      bytes = await download(hub, commit, path, sibling);
      downloaded = true;
      await hub.store?.put(key, bytes);
    } else hub.onProgress?.({ type: 'file-done', file: path, fromCache: true });
    files.set(path, bytes);
    blobKeys[path] = key;
    return bytes;
  };
  const view: RepoView = { has: (f) => listed.has(f), readJson: async (f) => parseJson(await getFile(f)) };
  try {
    const plan = await planModelFiles(view, 'torch');
    hub.onProgress?.({ type: 'repo-info', repoId, revision, commit, files: plan.files });
    const size = plan.files.reduce((n, f) => n + (listed.get(f)?.size ?? 0), 0);
    if (size > MAX_WEB_MODEL_BYTES) {
      throw new SparseEncoderError('ERR_NOT_SUPPORTED', `${repoId} needs ${size} bytes of files; WebAssembly (wasm32) cannot hold more than ${MAX_WEB_MODEL_BYTES} of them with the graph, so it is refused before downloading`, {
        details: { repoId, bytes: size, limit: MAX_WEB_MODEL_BYTES },
      });
    }
    for (const f of plan.files) await getFile(f);
  } catch (err) {
    if (err instanceof HubUnreachable) return unreachable(err);
    throw err;
  }
  // The ref last: a snapshot is complete offline once its ref exists.
  await hub.store?.putSnapshot(repoId, revision, commit, blobKeys);
  return mounted(files, downloaded ? 'hub' : 'cache', hub, commit);
}

/** The API's siblings with safe paths, as path → size and etag. */
function siblingsOf(siblings: unknown[]): Map<string, Sibling> {
  const out = new Map<string, Sibling>();
  for (const s of siblings) {
    if (s === null || typeof s !== 'object') continue;
    const { rfilename, size, blobId, lfs } = s as { rfilename?: unknown; size?: unknown; blobId?: unknown; lfs?: { sha256?: unknown; size?: unknown } | null };
    if (typeof rfilename !== 'string' || !isSafeRepoPath(rfilename)) continue;
    const lfsSha = typeof lfs?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(lfs.sha256) ? lfs.sha256 : undefined;
    const gitSha = typeof blobId === 'string' && /^[0-9a-f]{40}$/.test(blobId) ? blobId : undefined;
    const n = lfsSha !== undefined ? lfs?.size : size;
    out.set(rfilename, { size: Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : undefined, etag: lfsSha ?? gitSha, lfs: lfsSha !== undefined });
  }
  return out;
}

/** One file from `/{repo}/resolve/{commit}/{path}`, checked against the listing; a few attempts. */
async function download(hub: WebHub, commit: string, path: string, sibling: Sibling): Promise<Uint8Array> {
  const url = `${hub.endpoint}/${hub.repoId}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    hub.onProgress?.({ type: 'file-start', file: path, bytes: sibling.size });
    try {
      const res = await send(hub, url, { headers: authHeaders(hub.token) });
      if (isTransientStatus(res.status)) {
        await res.body?.cancel();
        throw new HubUnreachable(`HTTP ${res.status} from ${url}`, res.status);
      }
      if (!res.ok) {
        throw httpError(res.status, await verdictHeaders(res), { repoId: hub.repoId, revision: hub.revision, file: path, url, tokenSource: hub.token === undefined ? undefined : 'option' });
      }
      const bytes = await readBody(res, sibling.size ?? MAX_WEB_MODEL_BYTES, `${path} from ${hub.repoId}`, (loaded) =>
        hub.onProgress?.({ type: 'file-progress', file: path, loaded, total: sibling.size }),
      );
      if (sibling.size !== undefined && bytes.byteLength !== sibling.size) {
        throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `${path} from ${hub.repoId}: received ${bytes.byteLength} bytes, the Hub lists ${sibling.size}`, { details: { file: path, url } });
      }
      const actual = await hashOf(bytes, sibling.lfs);
      if (sibling.etag !== undefined && actual !== undefined && actual !== sibling.etag) {
        throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `${path} from ${hub.repoId}: content hash ${actual} is not the listed ${sibling.etag}`, { details: { file: path, url } });
      }
      hub.onProgress?.({ type: 'file-done', file: path, fromCache: false });
      return bytes;
    } catch (err) {
      if (hub.signal?.aborted) throw err;
      // The Hub's verdict (404, 401, ...) is final; a broken transfer or a bad copy is tried again.
      if (err instanceof SparseEncoderError && err.code !== 'ERR_DOWNLOAD_FAILED') throw err;
      lastError = err;
    }
  }
  if (lastError instanceof HubUnreachable || lastError instanceof SparseEncoderError) throw lastError;
  throw new HubUnreachable(`the transfer of ${path} broke off ${ATTEMPTS} times: ${(lastError as Error)?.message ?? String(lastError)}`, undefined, lastError);
}

/**
 * The Hub's verdict headers for a refusal. A page sees only CORS-safelisted headers, so where
 * `X-Error-Code` / `X-Error-Message` are hidden they are taken from the JSON body the Hub sends with
 * them (`{"error": "Repository not found"}`, as huggingface.js's `createApiError` reads it).
 */
async function verdictHeaders(res: Response): Promise<Headers> {
  const headers = new Headers(res.headers);
  if (headers.has('x-error-code') && headers.has('x-error-message')) {
    await res.body?.cancel();
    return headers;
  }
  let said: unknown;
  try {
    said = (JSON.parse(new TextDecoder().decode(await readBody(res, 64 * 1024, 'an error answer'))) as { error?: unknown }).error;
  } catch {
    return headers;
  }
  if (typeof said !== 'string') return headers;
  if (!headers.has('x-error-message')) headers.set('x-error-message', said);
  if (!headers.has('x-error-code') && /^repository not found/i.test(said)) headers.set('x-error-code', 'RepoNotFound');
  if (!headers.has('x-error-code') && /^invalid rev id/i.test(said)) headers.set('x-error-code', 'RevisionNotFound');
  return headers;
}

/** A fetch that failed without an answer is "the Hub could not be asked" (unless the caller aborted). */
async function send(hub: Pick<WebHub, 'fetch' | 'signal'>, url: string, init: RequestInit, timeoutMs?: number): Promise<Response> {
  const signals = [hub.signal, timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  try {
    return await hub.fetch(url, { ...init, ...(signal === undefined ? {} : { signal }) });
  } catch (err) {
    if (hub.signal?.aborted) throw err;
    throw new HubUnreachable(`cannot reach ${url}: ${(err as Error)?.message ?? String(err)}`, undefined, err);
  }
}

/**
 * A response body of at most `max` bytes, read in chunks (never more than `max` kept): a body
 * longer than it says, or than it may be, is refused. A body that breaks off is HubUnreachable.
 */
async function readBody(res: Response, max: number, what: string, onProgress?: (loaded: number) => void): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `${what} is ${declared} bytes, more than the ${max} expected`, { details: { bytes: declared, limit: max } });
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  let out = new Uint8Array(Number.isFinite(declared) ? declared : Math.min(max, 1 << 16));
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.byteLength > max) {
        await reader.cancel();
        throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `${what} is longer than the ${max} bytes expected`, { details: { limit: max } });
      }
      if (n + value.byteLength > out.byteLength) {
        const grown = new Uint8Array(Math.min(max, Math.max(out.byteLength * 2, n + value.byteLength)));
        grown.set(out.subarray(0, n));
        out = grown;
      }
      out.set(value, n);
      n += value.byteLength;
      onProgress?.(n);
    }
  } catch (err) {
    if (err instanceof SparseEncoderError) throw err;
    throw new HubUnreachable(`${what} broke off after ${n} bytes: ${(err as Error)?.message ?? String(err)}`, undefined, err);
  }
  return n === out.byteLength ? out : out.slice(0, n);
}

/** sha256 (LFS) or the git blob sha1 of `bytes`, hex; undefined without WebCrypto (insecure contexts). */
async function hashOf(bytes: Uint8Array, lfs: boolean): Promise<string | undefined> {
  const subtle = (globalThis as { crypto?: { subtle?: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> } } }).crypto?.subtle;
  if (subtle === undefined) return undefined;
  let data = bytes;
  if (!lfs) {
    const head = new TextEncoder().encode(`blob ${bytes.byteLength}\0`);
    data = new Uint8Array(head.byteLength + bytes.byteLength);
    data.set(head);
    data.set(bytes, head.byteLength);
  }
  const digest = new Uint8Array(await subtle.digest(lfs ? 'SHA-256' : 'SHA-1', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function parseJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength > MAX_JSON_BYTES) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined; // the loader then says what is wrong with the file
  }
}

function mounted(files: Map<string, Uint8Array>, source: 'hub' | 'cache', hub: WebHub, commit: string): ResolvedModel {
  const mount = mountFiles(files);
  return { folder: mount.root, source, repoId: hub.repoId, revision: hub.revision, commit, release: mount.release };
}

function notCached(hub: WebHub, commit: string | undefined, why: string): SparseEncoderError {
  const where = hub.store === undefined ? 'this runtime has no Cache API' : commit === undefined ? 'it is not in the Cache API' : `the Cache API holds only part of commit ${commit}`;
  return new SparseEncoderError('ERR_OFFLINE_NOT_CACHED', `model ${hub.repoId} (revision "${hub.revision}") cannot load: ${where} and ${why}`, {
    details: { repoId: hub.repoId, revision: hub.revision, commit },
  });
}

/**
 * A model's files at a URL prefix (a static host, a bucket, the page's own origin). There is no
 * file list, so the plan asks for each file it would read: 200 means present (and fetched), 404
 * absent. The browser's HTTP cache applies; nothing is kept in the Cache API.
 */
async function fromUrlPrefix(prefix: string, doFetch: Fetch, signal: AbortSignal | undefined, onProgress: ((event: ResolveProgressEvent) => void) | undefined): Promise<ResolvedModel> {
  const base = new URL(prefix.endsWith('/') ? prefix : `${prefix}/`, (globalThis as { location?: { href: string } }).location?.href);
  const files = new Map<string, Uint8Array>();
  const absent = new Set<string>();
  let total = 0;
  const has = async (path: string): Promise<boolean> => {
    if (files.has(path)) return true;
    if (absent.has(path)) return false;
    const url = new URL(path.split('/').map(encodeURIComponent).join('/'), base).href;
    let res: Response;
    try {
      res = await send({ fetch: doFetch, signal }, url, {});
    } catch (err) {
      if (err instanceof HubUnreachable) throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', err.message, { cause: err, details: { url } });
      throw err;
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      absent.add(path);
      return false;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `HTTP ${res.status} from ${url}`, { details: { url, status: res.status } });
    }
    onProgress?.({ type: 'file-start', file: path, bytes: undefined });
    let bytes: Uint8Array;
    try {
      bytes = await readBody(res, MAX_WEB_MODEL_BYTES - total, url, (loaded) => onProgress?.({ type: 'file-progress', file: path, loaded, total: undefined }));
    } catch (err) {
      if (err instanceof HubUnreachable) throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', err.message, { cause: err, details: { url } });
      throw err;
    }
    total += bytes.byteLength;
    files.set(path, bytes);
    onProgress?.({ type: 'file-done', file: path, fromCache: false });
    return true;
  };
  await planModelFiles({ has, readJson: async (f) => parseJson(files.get(f)!) }, 'torch');
  const mount = mountFiles(files);
  return { folder: mount.root, source: 'url', release: mount.release };
}

/** The Cache API as far as we use it (declared here: the package compiles without the DOM library). */
interface Cache {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
}
interface CacheStorage {
  open(name: string): Promise<Cache>;
}

/** huggingface_hub's cache layout in the Cache API (see the module comment). */
class BlobStore {
  private constructor(
    private readonly cache: Cache,
    private readonly base: string,
  ) {}

  /** The store for this endpoint, or undefined where the Cache API is missing or refused (opaque origins, insecure contexts). */
  static async open(endpoint: string): Promise<BlobStore | undefined> {
    const storage = (globalThis as { caches?: CacheStorage }).caches;
    if (storage === undefined) return undefined;
    try {
      return new BlobStore(await storage.open(CACHE_NAME), `${endpoint}/.sparse-encoder-cache/`);
    } catch {
      return undefined;
    }
  }

  private url(key: string): string {
    return this.base + key.split('/').map(encodeURIComponent).join('/');
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const res = await this.cache.match(this.url(key));
      return res === undefined ? undefined : new Uint8Array(await res.arrayBuffer());
    } catch {
      return undefined;
    }
  }

  /** Best effort: a full quota loses the cache, never the load. */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.cache.put(this.url(key), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } }));
    } catch {
      // QuotaExceededError and the like
    }
  }

  async putSnapshot(repoId: string, revision: string, commit: string, blobs: Record<string, string>): Promise<void> {
    await this.put(`snapshots/${repoId}/${commit}`, new TextEncoder().encode(JSON.stringify(blobs)));
    await this.put(`refs/${repoId}/${revision}`, new TextEncoder().encode(commit));
  }

  /** The cached snapshot of a revision: its files, and whether every file the plan needs is there. */
  async snapshot(repoId: string, revision: string): Promise<{ commit: string; files: Map<string, Uint8Array>; complete: boolean } | undefined> {
    const ref = await this.get(`refs/${repoId}/${revision}`);
    const commit = ref === undefined ? (COMMIT_HASH.test(revision) ? revision : undefined) : new TextDecoder().decode(ref);
    if (commit === undefined || !COMMIT_HASH.test(commit)) return undefined;
    const manifest = parseJson((await this.get(`snapshots/${repoId}/${commit}`)) ?? new Uint8Array(0));
    if (manifest === null || typeof manifest !== 'object') return undefined;
    const blobs = new Map(Object.entries(manifest as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string' && isSafeRepoPath(e[0])));
    const files = new Map<string, Uint8Array>();
    let complete = true;
    const read = async (f: string): Promise<Uint8Array | undefined> => {
      if (files.has(f)) return files.get(f);
      const bytes = await this.get(blobs.get(f)!);
      if (bytes === undefined) complete = false;
      else files.set(f, bytes);
      return bytes;
    };
    const plan = await planModelFiles({ has: (f) => blobs.has(f), readJson: async (f) => parseJson((await read(f)) ?? new Uint8Array(0)) }, 'torch');
    for (const f of plan.files) await read(f);
    return { commit, files, complete: complete && plan.missing.length === 0 };
  }
}
