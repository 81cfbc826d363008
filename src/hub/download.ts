import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { processAlive } from '../files/local-files.js';
import { blobPath, cacheWrite, fileSize, linkSnapshotFile, snapshotFolder, tempSuffix } from './cache.js';
import type { TokenSource } from './config.js';
import { followRelativeRedirects, sameOrigin, type HubHttp } from './http.js';
import { authHeaders, httpError, HubUnreachable, isTransientStatus } from './hub-answers.js';
import type { ResolveProgressEvent } from './types.js';

/**
 * Our own downloader rather than `@huggingface/hub`'s `downloadFileToCacheDir` (v2.17, read in
 * node_modules): that one has no progress callback, does not check the length or sha256 of what
 * it received before renaming `.incomplete` to the blob, asks a separate `paths-info` API per
 * file, and logs through `console`. The steps follow huggingface_hub's `hf_hub_download`
 * (file_download.py): HEAD the resolve URL following relative redirects, take the etag, size and
 * CDN location from the last answer, GET the location (without `Authorization` when it is
 * another origin), into a partial file that a later attempt resumes with a Range request; verify
 * length and, for LFS files (sha256 etags), the hash; rename into `blobs/`, link from the snapshot.
 */

export interface HubRequestContext {
  endpoint: string;
  token: string | undefined;
  tokenSource: TokenSource | undefined;
  cacheDir: string;
  http: HubHttp;
  etagTimeoutMs: number;
  downloadTimeoutMs: number;
  signal: AbortSignal | undefined;
  onProgress: ((event: ResolveProgressEvent) => void) | undefined;
}

/** Transfer attempts per file within one call (huggingface_hub's http_get resumes a few times too). */
export const DOWNLOAD_ATTEMPTS = 3;

/** huggingface_hub's `_normalize_etag`: weak prefix and quotes removed. */
function normalizeEtag(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  const e = raw.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return e === '' ? undefined : e;
}

function headerInt(headers: Headers, name: string): number | undefined {
  const v = headers.get(name);
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

interface FileMetadata {
  etag: string;
  size: number | undefined;
  /** Where to GET the bytes: the CDN's URL, or the last Hub URL. */
  location: string;
}

/** HEAD, following relative redirects; metadata from the last answer (huggingface_hub's get_hf_file_metadata). */
async function fileMetadata(ctx: HubRequestContext, url: string, what: Parameters<typeof httpError>[2], failed: (m: string) => SparseEncoderError): Promise<FileMetadata> {
  const headers = { ...authHeaders(ctx.token), 'accept-encoding': 'identity' };
  const { response: head, url: last } = await followRelativeRedirects(ctx.http, url, { method: 'HEAD', headers }, ctx.etagTimeoutMs);
  if (head.status >= 400) throw httpError(head.status, head.headers, { ...what, url: last });
  const etag = normalizeEtag(head.headers.get('x-linked-etag')) ?? normalizeEtag(head.headers.get('etag'));
  // The etag names the blob file: it must be a plain file name.
  if (etag === undefined || !/^[A-Za-z0-9._-]+$/.test(etag) || etag.startsWith('.')) throw failed(`the server sent no usable ETag for ${last}`);
  const redirected = head.status >= 300 && head.status < 400;
  const size = headerInt(head.headers, 'x-linked-size') ?? (redirected ? undefined : headerInt(head.headers, 'content-length'));
  const location = redirected && head.headers.get('location') !== null ? new URL(head.headers.get('location')!, last).toString() : last;
  return { etag, size, location };
}

/** Partial transfers of one blob: `<etag>.<pid>-<random>.incomplete`. */
const PARTIAL = /^(.+)\.(\d+)-[0-9a-f]+\.incomplete$/;
/** Partials this process is writing right now (another call in the same process may resume none of them). */
const activePartials = new Set<string>();

/**
 * A partial file to write into: the largest one of this blob left by a process that is gone (or
 * by an earlier call of ours), taken over with an atomic rename so that two resumers cannot both
 * get it; else a fresh name. Partials of live processes are never touched.
 */
async function claimPartial(blob: string): Promise<string> {
  const mine = `${blob}.${tempSuffix()}.incomplete`;
  const dir = dirname(blob);
  let best: { path: string; size: number } | undefined;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = PARTIAL.exec(name);
    if (m === null || m[1] !== basename(blob)) continue;
    const path = join(dir, name);
    if (activePartials.has(path) || (Number(m[2]) !== process.pid && processAlive(Number(m[2])))) continue;
    const size = (await fileSize(path)) ?? 0;
    if (best === undefined || size > best.size) best = { path, size };
  }
  if (best !== undefined) {
    try {
      await rename(best.path, mine);
    } catch {
      // Someone else took it first: start afresh.
    }
  }
  return mine;
}

/**
 * The running sha256 of a partial file's bytes, updated as chunks are written, so a download is
 * hashed once as it arrives. Only a partial left by an earlier call is read back, to hash its prefix.
 */
class PartialDigest {
  private hash = createHash('sha256');

  static async of(partial: string): Promise<PartialDigest> {
    const d = new PartialDigest();
    if (((await fileSize(partial)) ?? 0) > 0) for await (const chunk of createReadStream(partial)) d.hash.update(chunk as Buffer);
    return d;
  }

  /** The partial is rewritten from its first byte. */
  restart(): void {
    this.hash = createHash('sha256');
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Makes `snapshots/<commit>/<file>` present: from the snapshot or a blob already in the cache,
 * else downloaded. Returns whether anything was transferred. Throws HubUnreachable when the
 * Hub could not be asked (the caller may fall back to the cache), SparseEncoderError otherwise.
 */
export async function fetchFileToCache(ctx: HubRequestContext, repoId: string, commit: string, revision: string, file: string): Promise<boolean> {
  const pointer = join(snapshotFolder(ctx.cacheDir, repoId, commit), ...file.split('/'));
  if ((await fileSize(pointer)) !== undefined) {
    ctx.onProgress?.({ type: 'file-done', file, fromCache: true });
    return false;
  }
  const url = `${ctx.endpoint}/${repoId}/resolve/${commit}/${file.split('/').map(encodeURIComponent).join('/')}`;
  const what = { repoId, revision, file, url, tokenSource: ctx.tokenSource };
  const failed = (msg: string, cause?: unknown): SparseEncoderError =>
    new SparseEncoderError('ERR_DOWNLOAD_FAILED', `download of ${file} from ${repoId} failed: ${msg}`, { cause, details: { repoId, revision, file, url } });

  const meta = await fileMetadata(ctx, url, what, failed);
  const blob = blobPath(ctx.cacheDir, repoId, meta.etag);
  const have = await fileSize(blob);
  if (have !== undefined && (meta.size === undefined || have === meta.size)) {
    await cacheWrite(pointer, () => linkSnapshotFile(blob, pointer));
    ctx.onProgress?.({ type: 'file-done', file, fromCache: true });
    return false;
  }

  await cacheWrite(dirname(blob), () => mkdir(dirname(blob), { recursive: true }));
  const partial = await claimPartial(blob);
  activePartials.add(partial);
  try {
    // LFS files are named by their sha256; other etags are git blob ids and are not hashed here.
    const digest = /^[0-9a-f]{64}$/.test(meta.etag) ? await PartialDigest.of(partial) : undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
      try {
        const size = await transfer(ctx, meta, partial, file, attempt, what, digest);
        if (meta.size !== undefined && size !== meta.size) throw failed(`received ${size} bytes, expected ${meta.size}`);
        lastError = undefined;
        break;
      } catch (err) {
        if (ctx.signal?.aborted || !(err instanceof HubUnreachable)) throw err;
        lastError = err;
      }
    }
    if (lastError !== undefined) {
      const e = lastError as HubUnreachable;
      throw failed(`${e.message}; ${DOWNLOAD_ATTEMPTS} attempts made, the partial file is kept and the next call resumes it`, e);
    }
    if (digest !== undefined) {
      const got = digest.hex();
      if (got !== meta.etag) {
        await rm(partial, { force: true });
        throw failed(`sha256 ${got} does not match the expected ${meta.etag}`);
      }
    }
    await cacheWrite(blob, () => rename(partial, blob));
  } finally {
    activePartials.delete(partial);
  }
  await cacheWrite(pointer, () => linkSnapshotFile(blob, pointer));
  ctx.onProgress?.({ type: 'file-done', file, fromCache: false });
  return true;
}

/**
 * One GET of the file into `partial`, resuming from its current size with a Range request.
 * Returns the partial's size afterwards. A break in the transfer is a HubUnreachable.
 */
async function transfer(
  ctx: HubRequestContext,
  meta: FileMetadata,
  partial: string,
  file: string,
  attempt: number,
  what: Parameters<typeof httpError>[2],
  digest: PartialDigest | undefined,
): Promise<number> {
  let from = (await fileSize(partial)) ?? 0;
  if (meta.size !== undefined && from > meta.size) from = 0;
  if (meta.size !== undefined && from === meta.size) return from;
  // The CDN (another origin) gets no Authorization: its URL is signed, and S3-style stores reject a second credential.
  const headers: Record<string, string> = { 'accept-encoding': 'identity', ...(sameOrigin(meta.location, ctx.endpoint) ? authHeaders(ctx.token) : {}) };
  if (from > 0) {
    headers['range'] = `bytes=${from}-`;
    ctx.onProgress?.({ type: 'file-resume', file, from, attempt });
  }
  const s = await ctx.http.stream(meta.location, { headers, redirect: 'follow' }, ctx.downloadTimeoutMs);
  const res = s.response;
  try {
    if (isTransientStatus(res.status)) throw new HubUnreachable(`HTTP ${res.status} from ${meta.location}`, res.status);
    if (res.status === 416 && from > 0) {
      // The range starts at or past the end: start over.
      await rm(partial, { force: true });
      throw new HubUnreachable(`HTTP 416 for a resumed range of ${meta.location}`, 416);
    }
    if (!res.ok || res.body === null) throw httpError(res.status, res.headers, { ...what, url: meta.location });
    let append = false;
    if (res.status === 206) {
      const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
      if (m === null || Number(m[1]) !== from) throw new HubUnreachable(`the server answered a range other than bytes=${from}-`, 206);
      append = true;
    }
    // 200 to a Range request: the server sent the whole file, so write it from the start.
    let loaded = append ? from : 0;
    const total = meta.size ?? (append ? undefined : headerInt(res.headers, 'content-length'));
    ctx.onProgress?.({ type: 'file-start', file, bytes: total });
    const fh = await cacheWrite(partial, () => open(partial, append ? 'a' : 'w'));
    if (!append) digest?.restart();
    let reported = loaded;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        s.touch();
        await cacheWrite(partial, () => fh.write(chunk));
        digest?.update(chunk);
        loaded += chunk.byteLength;
        // Enough events for a smooth bar without one per network chunk.
        if (loaded - reported >= 1 << 20 || loaded === total) {
          reported = loaded;
          ctx.onProgress?.({ type: 'file-progress', file, loaded, total });
        }
      }
    } catch (err) {
      if (ctx.signal?.aborted || err instanceof SparseEncoderError) throw err;
      const why = s.timedOut() ? `no data for ${ctx.downloadTimeoutMs / 1000} s` : (err as Error).message;
      throw new HubUnreachable(`the transfer broke off after ${loaded}${total === undefined ? '' : ` of ${total}`} bytes (${why})`, undefined, err);
    } finally {
      await fh.close();
    }
    if (loaded !== reported) ctx.onProgress?.({ type: 'file-progress', file, loaded, total });
    if (total !== undefined && loaded < total) throw new HubUnreachable(`the transfer ended after ${loaded} of ${total} bytes`, undefined);
    return loaded;
  } finally {
    s.done();
  }
}
