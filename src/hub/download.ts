import { createHash } from 'node:crypto';
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { blobPath, fileSize, linkSnapshotFile, snapshotFolder, tempSuffix } from './cache.js';
import type { ResolveProgressEvent } from './types.js';

/**
 * Our own downloader on `fetch` rather than `@huggingface/hub`'s `downloadFileToCacheDir`
 * (v2.17, read in node_modules): that one has no progress callback, does not check the length
 * or sha256 of what it received before renaming `.incomplete` to the blob (a connection that
 * ends early but cleanly becomes a "complete" blob), asks a separate `paths-info` API per file,
 * and logs through `console`. Here a transfer goes to a unique temp file in `blobs/`, is
 * verified (length; sha256 when the etag is one, i.e. LFS files), renamed, and only then linked
 * from the snapshot: an interrupted transfer leaves neither a blob nor a snapshot entry.
 */

export interface HubRequestContext {
  endpoint: string;
  token: string | undefined;
  cacheDir: string;
  fetch: typeof globalThis.fetch;
  signal: AbortSignal | undefined;
  onProgress: ((event: ResolveProgressEvent) => void) | undefined;
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** Maps an HTTP failure status to our error codes. */
export function httpError(status: number, headers: Headers, what: { repoId: string; revision: string; file?: string; url: string; hadToken: boolean }): SparseEncoderError {
  const details = { repoId: what.repoId, revision: what.revision, file: what.file, url: what.url, status };
  const errorCode = headers.get('x-error-code');
  // The Hub names the cause in x-error-code; a 404 on the repo API is the repo or the revision.
  // It answers 401 + RepoNotFound for private repos too, so the message mentions the token.
  if (errorCode === 'RevisionNotFound' || (status === 404 && what.file === undefined && errorCode !== 'RepoNotFound')) {
    return new SparseEncoderError('ERR_MODEL_NOT_FOUND', `revision "${what.revision}" not found in Hub repo ${what.repoId} (or the repo does not exist)`, { details });
  }
  if (errorCode === 'RepoNotFound') {
    return new SparseEncoderError(
      'ERR_MODEL_NOT_FOUND',
      `Hub repo ${what.repoId} (revision "${what.revision}") not found${what.hadToken ? '' : '; if it is private, pass `token` or set HF_TOKEN'}`,
      { details },
    );
  }
  if (status === 401 || status === 403) {
    return new SparseEncoderError(
      'ERR_GATED_REPO',
      `access to Hub repo ${what.repoId}${what.file === undefined ? '' : ` (file ${what.file})`} was refused (HTTP ${status}): it may be gated or private. ` +
        (what.hadToken
          ? 'The token given was refused or has no access: check it, and accept the repo\'s terms on the Hub if it is gated.'
          : 'Accept its terms on the Hub if it is gated, then pass `token` or set HF_TOKEN.'),
      { details },
    );
  }
  return new SparseEncoderError(
    'ERR_DOWNLOAD_FAILED',
    `${what.file === undefined ? `repo info for ${what.repoId}` : `download of ${what.file} from ${what.repoId}`} failed: HTTP ${status} from ${what.url}`,
    { details },
  );
}

function stripEtag(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  const e = raw.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return e === '' ? undefined : e;
}

function headerInt(headers: Headers, name: string): number | undefined {
  const v = headers.get(name);
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

/**
 * Makes `snapshots/<commit>/<file>` present: from the snapshot or a blob already in the cache,
 * else downloaded. Returns whether anything was transferred.
 */
export async function fetchFileToCache(ctx: HubRequestContext, repoId: string, commit: string, revision: string, file: string): Promise<boolean> {
  const pointer = join(snapshotFolder(ctx.cacheDir, repoId, commit), ...file.split('/'));
  if ((await fileSize(pointer)) !== undefined) {
    ctx.onProgress?.({ type: 'file-done', file, fromCache: true });
    return false;
  }
  const url = `${ctx.endpoint}/${repoId}/resolve/${commit}/${file.split('/').map(encodeURIComponent).join('/')}`;
  const what = { repoId, revision, file, url, hadToken: ctx.token !== undefined };
  const failed = (msg: string, cause?: unknown): SparseEncoderError =>
    new SparseEncoderError('ERR_DOWNLOAD_FAILED', `download of ${file} from ${repoId} failed: ${msg}`, { cause, details: { repoId, revision, file, url } });
  const headers = { ...authHeaders(ctx.token), 'accept-encoding': 'identity' };

  // HEAD without following the CDN redirect: the Hub puts the LFS sha256 and size in x-linked-* there.
  let head: Response;
  try {
    head = await ctx.fetch(url, { method: 'HEAD', headers, redirect: 'manual', signal: ctx.signal });
    const location = head.headers.get('location');
    if (head.status >= 300 && head.status < 400 && location !== null && location.startsWith('/')) {
      // A relative redirect is a renamed repo: follow it on the Hub itself.
      head = await ctx.fetch(new URL(location, url), { method: 'HEAD', headers, redirect: 'manual', signal: ctx.signal });
    }
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    throw failed(`network error (${(err as Error).message})`, err);
  }
  if (head.status >= 400) throw httpError(head.status, head.headers, what);
  const etag = stripEtag(head.headers.get('x-linked-etag')) ?? stripEtag(head.headers.get('etag'));
  if (etag === undefined || !/^[A-Za-z0-9._-]+$/.test(etag) || etag.startsWith('.')) throw failed(`the server sent no usable ETag for ${url}`);
  const expected = headerInt(head.headers, 'x-linked-size') ?? (head.status < 300 ? headerInt(head.headers, 'content-length') : undefined);

  const blob = blobPath(ctx.cacheDir, repoId, etag);
  const have = await fileSize(blob);
  if (have !== undefined && (expected === undefined || have === expected)) {
    await linkSnapshotFile(blob, pointer);
    ctx.onProgress?.({ type: 'file-done', file, fromCache: true });
    return false;
  }

  await mkdir(dirname(blob), { recursive: true });
  const tmp = `${blob}.${tempSuffix()}.incomplete`;
  try {
    let res: Response;
    try {
      res = await ctx.fetch(url, { headers, signal: ctx.signal });
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      throw failed(`network error (${(err as Error).message})`, err);
    }
    if (!res.ok || res.body === null) throw httpError(res.status, res.headers, what);
    const total = expected ?? headerInt(res.headers, 'content-length');
    ctx.onProgress?.({ type: 'file-start', file, bytes: total });
    const sha256 = /^[0-9a-f]{64}$/.test(etag) ? createHash('sha256') : undefined;
    const fh = await open(tmp, 'wx');
    let loaded = 0;
    let reported = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        sha256?.update(chunk);
        await fh.write(chunk);
        loaded += chunk.byteLength;
        // Enough events for a smooth bar without one per network chunk.
        if (loaded - reported >= 1 << 20 || loaded === total) {
          reported = loaded;
          ctx.onProgress?.({ type: 'file-progress', file, loaded, total });
        }
      }
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      throw failed(`the transfer broke off after ${loaded}${total === undefined ? '' : ` of ${total}`} bytes (${(err as Error).message})`, err);
    } finally {
      await fh.close();
    }
    if (total !== undefined && loaded !== total) throw failed(`received ${loaded} bytes, expected ${total}`);
    if (sha256 !== undefined) {
      const got = sha256.digest('hex');
      if (got !== etag) throw failed(`sha256 ${got} does not match the expected ${etag}`);
    }
    if (loaded !== reported) ctx.onProgress?.({ type: 'file-progress', file, loaded, total });
    await rename(tmp, blob);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await linkSnapshotFile(blob, pointer);
  ctx.onProgress?.({ type: 'file-done', file, fromCache: false });
  return true;
}
