import { stat } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { COMMIT_HASH, cachedCommit, snapshotFolder, writeRef } from './cache.js';
import { expandHome, resolveHubConfig, type HubConfig } from './config.js';
import { authHeaders, fetchFileToCache, httpError, type HubRequestContext } from './download.js';
import { selectModelFiles } from './files.js';
import type { ResolvedModel, ResolveModelOptions } from './types.js';

// Hub repo ids: `name` or `org/name`; letters, digits, `-`, `_`, `.`; no `--` or `..` (huggingface_hub's rule).
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.-]+)?$/;

function looksLikePath(s: string): boolean {
  return s.startsWith('/') || s.startsWith('./') || s.startsWith('../') || s === '.' || s === '..' || s.startsWith('~') || isAbsolute(s) || s.includes('\\');
}

/**
 * Turns a model id or a path into a local folder. A folder that exists (or anything that looks like
 * a path) is used in place; a Hub id is served from huggingface_hub's cache, downloading the files a
 * SparseEncoder needs when they are missing (unless offline).
 */
export async function resolveModel(idOrPath: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  if (typeof idOrPath !== 'string' || idOrPath.trim() === '') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', 'model id or path must be a non-empty string');
  }
  const expanded = expandHome(idOrPath);
  const local = await statOrUndefined(expanded);
  if (local !== undefined || looksLikePath(idOrPath)) {
    if (local === undefined) {
      throw new SparseEncoderError('ERR_MODEL_NOT_FOUND', `model folder ${idOrPath} does not exist`, { details: { path: idOrPath } });
    }
    if (!local.isDirectory()) {
      throw new SparseEncoderError('ERR_MODEL_NOT_FOUND', `${idOrPath} is a file, not a model folder`, { details: { path: idOrPath } });
    }
    return { folder: resolvePath(expanded), source: 'local' };
  }
  if (!REPO_ID.test(idOrPath) || idOrPath.includes('--') || idOrPath.includes('..')) {
    throw new SparseEncoderError('ERR_MODEL_NOT_FOUND', `"${idOrPath}" is neither an existing folder nor a valid Hub repo id (org/name)`, {
      details: { path: idOrPath },
    });
  }
  return resolveFromHub(idOrPath, resolveHubConfig(options), options);
}

async function resolveFromHub(repoId: string, cfg: HubConfig, options: ResolveModelOptions): Promise<ResolvedModel> {
  const { revision, cacheDir } = cfg;
  if (!/^[A-Za-z0-9._/-]+$/.test(revision) || revision.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `invalid revision "${revision}" for ${repoId}`, { details: { repoId, revision } });
  }
  const fromCache = async (): Promise<ResolvedModel | undefined> => {
    const commit = await cachedCommit(cacheDir, repoId, revision);
    return commit === undefined ? undefined : { folder: snapshotFolder(cacheDir, repoId, commit), source: 'cache', repoId, revision, commit };
  };
  if (cfg.offline) {
    const hit = await fromCache();
    if (hit !== undefined) return hit;
    throw new SparseEncoderError(
      'ERR_OFFLINE_NOT_CACHED',
      `model ${repoId} (revision "${revision}") is not in the cache ${cacheDir} and offline mode is on (localFilesOnly or HF_HUB_OFFLINE)`,
      { details: { repoId, revision, cacheDir } },
    );
  }

  const ctx: HubRequestContext = {
    endpoint: cfg.endpoint,
    token: cfg.token,
    cacheDir,
    fetch: options.fetch ?? globalThis.fetch,
    signal: options.signal,
    onProgress: options.onProgress,
  };
  const url = `${cfg.endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}`;
  let res: Response;
  try {
    res = await ctx.fetch(url, { headers: authHeaders(cfg.token), signal: ctx.signal });
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    // Like huggingface_hub: when the Hub cannot be reached, a cached snapshot still serves.
    const hit = await fromCache();
    if (hit !== undefined) return hit;
    throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `cannot reach the Hub for ${repoId} (${url}): ${(err as Error).message}`, {
      cause: err,
      details: { repoId, revision, url },
    });
  }
  if (!res.ok) throw httpError(res.status, res.headers, { repoId, revision, url, hadToken: cfg.token !== undefined });
  let info: { sha?: unknown; siblings?: unknown };
  try {
    info = (await res.json()) as typeof info;
  } catch (err) {
    throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `repo info for ${repoId} from ${url} is not JSON`, { cause: err, details: { repoId, url } });
  }
  const commit = info.sha;
  if (typeof commit !== 'string' || !COMMIT_HASH.test(commit) || !Array.isArray(info.siblings)) {
    throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `repo info for ${repoId} from ${url} lacks a commit sha or a file list`, { details: { repoId, url } });
  }
  const listed = info.siblings
    .map((s: unknown) => (s as { rfilename?: unknown } | null)?.rfilename)
    .filter((f): f is string => typeof f === 'string' && isSafeRepoPath(f));
  const files = selectModelFiles(listed, cfg.backend);
  ctx.onProgress?.({ type: 'repo-info', repoId, revision, commit, files });

  let downloaded = false;
  for (const file of files) {
    if (await fetchFileToCache(ctx, repoId, commit, revision, file)) downloaded = true;
  }
  // The ref is written last, so an interrupted run never makes a partial snapshot look complete offline.
  await writeRef(cacheDir, repoId, revision, commit);
  return { folder: snapshotFolder(cacheDir, repoId, commit), source: downloaded ? 'hub' : 'cache', repoId, revision, commit };
}

/** A repo file name we are willing to write under the snapshot folder. */
function isSafeRepoPath(f: string): boolean {
  return f !== '' && !f.startsWith('/') && !f.includes('\\') && !f.split('/').some((p) => p === '' || p === '.' || p === '..');
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}
