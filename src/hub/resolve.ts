import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { readRegularFileSync } from '../files/local-files.js';
import { cachedCommit, snapshotFolder, writeRef } from './cache.js';
import { expandHome, resolveHubConfig, type HubConfig } from './config.js';
import { fetchFileToCache, type HubRequestContext } from './download.js';
import { planModelFiles, qualifiedRepoId, type FilePlan, type RepoView } from './files.js';
import { hubHttp } from './http.js';
import { authHeaders, COMMIT_HASH, httpError, HubUnreachable, isRepoId, isSafeRepoPath, isSafeRevision, isTransientStatus } from './hub-answers.js';
import type { ResolvedModel, ResolveModelOptions } from './types.js';

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
  if (!isRepoId(idOrPath)) {
    throw new SparseEncoderError('ERR_MODEL_NOT_FOUND', `"${idOrPath}" is neither an existing folder nor a valid Hub repo id (org/name)`, {
      details: { path: idOrPath },
    });
  }
  return resolveFromHub(qualifiedRepoId(idOrPath), resolveHubConfig(options), options);
}

async function resolveFromHub(repoId: string, cfg: HubConfig, options: ResolveModelOptions): Promise<ResolvedModel> {
  const { revision, cacheDir } = cfg;
  if (!isSafeRevision(revision)) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `invalid revision "${revision}" for ${repoId}`, { details: { repoId, revision } });
  }
  if (cfg.offline) {
    const cached = await cachedSnapshot(cacheDir, repoId, revision, cfg);
    if (cached.commit !== undefined && cached.plan.missing.length === 0) return cacheResult(cacheDir, repoId, revision, cached.commit);
    throw notCached(repoId, revision, cacheDir, cached, 'offline mode is on (localFilesOnly, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE)');
  }

  // The public option types are structural (no DOM or @types/node needed); what callers pass is a
  // real fetch and a real AbortSignal.
  const signal = options.signal as AbortSignal | undefined;
  const http = hubHttp(cfg, options.fetch as typeof fetch | undefined, signal);
  const ctx: HubRequestContext = {
    endpoint: cfg.endpoint,
    token: cfg.token,
    tokenSource: cfg.tokenSource,
    cacheDir,
    http,
    etagTimeoutMs: cfg.etagTimeoutMs,
    downloadTimeoutMs: cfg.downloadTimeoutMs,
    signal,
    onProgress: options.onProgress,
  };
  // As hf_hub_download: when the Hub cannot be asked (or refuses a revision we already hold),
  // a complete cached snapshot of the revision serves, and the caller is told why.
  const fallBack = async (reason: string, original: SparseEncoderError): Promise<ResolvedModel> => {
    const cached = await cachedSnapshot(cacheDir, repoId, revision, cfg);
    if (cached.commit !== undefined && cached.plan.missing.length === 0) {
      ctx.onProgress?.({ type: 'cache-fallback', repoId, revision, commit: cached.commit, reason });
      return cacheResult(cacheDir, repoId, revision, cached.commit);
    }
    throw original;
  };
  const unavailable = (e: HubUnreachable): SparseEncoderError =>
    new SparseEncoderError(
      'ERR_HUB_UNAVAILABLE',
      `cannot get ${repoId} (revision "${revision}") from the Hub (${e.message}) and the cache ${cacheDir} has no complete copy; try again later, or check the network and proxy settings (HTTPS_PROXY, NO_PROXY)`,
      { cause: e, details: { repoId, revision, cacheDir, status: e.status } },
    );
  try {
    const url = `${cfg.endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}`;
    let info: { sha?: unknown; siblings?: unknown };
    try {
      // A renamed repo answers with a same-origin redirect, which fetch follows (keeping the token on the same origin).
      const res = await http.send(url, { headers: authHeaders(cfg.token) }, cfg.etagTimeoutMs);
      if (isTransientStatus(res.status)) throw new HubUnreachable(`HTTP ${res.status} from ${url}`, res.status);
      if (!res.ok) {
        const err = httpError(res.status, res.headers, { repoId, revision, url, tokenSource: cfg.tokenSource });
        // 401/403 for a revision already held: the cache serves (a revoked token must not break a cached model).
        if (res.status === 401 || res.status === 403) return await fallBack(`HTTP ${res.status} from ${url}`, err);
        throw err;
      }
      try {
        info = (await res.json()) as typeof info;
      } catch (err) {
        // A captive portal or a gateway's error page: not the Hub's answer.
        throw new HubUnreachable(`the answer from ${url} is not JSON`, res.status, err);
      }
    } catch (err) {
      if (err instanceof HubUnreachable) return await fallBack(err.message, unavailable(err));
      throw err;
    }
    const commit = info.sha;
    if (typeof commit !== 'string' || !COMMIT_HASH.test(commit) || !Array.isArray(info.siblings)) {
      throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `repo info for ${repoId} from ${url} lacks a commit sha or a file list`, { details: { repoId, url } });
    }
    const listed = new Set(
      info.siblings.map((s: unknown) => (s as { rfilename?: unknown } | null)?.rfilename).filter((f): f is string => typeof f === 'string' && isSafeRepoPath(f)),
    );
    const folder = snapshotFolder(cacheDir, repoId, commit);
    let downloaded = false;
    const fetched = new Set<string>();
    const fetchOne = async (file: string): Promise<void> => {
      if (fetched.has(file)) return;
      if (await fetchFileToCache(ctx, repoId, commit, revision, file)) downloaded = true;
      fetched.add(file);
    };
    const online: RepoView = {
      has: (f) => listed.has(f),
      readJson: async (f) => {
        await fetchOne(f);
        return readBoundedJson(join(folder, ...f.split('/')));
      },
    };
    let plan: FilePlan;
    try {
      plan = await planModelFiles(online, cfg.backend);
      ctx.onProgress?.({ type: 'repo-info', repoId, revision, commit, files: plan.files });
      for (const file of plan.files) await fetchOne(file);
    } catch (err) {
      if (err instanceof HubUnreachable) return await fallBack(err.message, unavailable(err));
      throw err;
    }
    // The ref is written last, so an interrupted run never makes a partial snapshot look complete
    // offline. With nothing downloaded it is best-effort, as in huggingface_hub: a complete
    // read-only cache must keep working.
    try {
      await writeRef(cacheDir, repoId, revision, commit);
    } catch (err) {
      if (downloaded || !(err instanceof SparseEncoderError && err.code === 'ERR_CACHE_NOT_WRITABLE')) throw err;
    }
    return { folder, source: downloaded ? 'hub' : 'cache', repoId, revision, commit };
  } finally {
    await http.close();
  }
}

function cacheResult(cacheDir: string, repoId: string, revision: string, commit: string): ResolvedModel {
  return { folder: snapshotFolder(cacheDir, repoId, commit), source: 'cache', repoId, revision, commit };
}

interface CachedSnapshot {
  commit: string | undefined;
  plan: FilePlan;
}

/** The cached snapshot of a revision and what the model would still need from it. */
async function cachedSnapshot(cacheDir: string, repoId: string, revision: string, cfg: HubConfig): Promise<CachedSnapshot> {
  const commit = await cachedCommit(cacheDir, repoId, revision);
  if (commit === undefined) return { commit, plan: { files: [], missing: [] } };
  const folder = snapshotFolder(cacheDir, repoId, commit);
  const view: RepoView = {
    has: (f) => isFileSync(join(folder, ...f.split('/'))),
    readJson: async (f) => readBoundedJson(join(folder, ...f.split('/'))),
  };
  return { commit, plan: await planModelFiles(view, cfg.backend) };
}

function notCached(repoId: string, revision: string, cacheDir: string, cached: CachedSnapshot, why: string): SparseEncoderError {
  if (cached.commit === undefined) {
    return new SparseEncoderError('ERR_OFFLINE_NOT_CACHED', `model ${repoId} (revision "${revision}") is not in the cache ${cacheDir} and ${why}`, {
      details: { repoId, revision, cacheDir },
    });
  }
  return new SparseEncoderError(
    'ERR_OFFLINE_NOT_CACHED',
    `model ${repoId} (revision "${revision}", commit ${cached.commit}) is only partly in the cache ${cacheDir} and ${why}; missing: ${cached.plan.missing.join(', ')}`,
    { details: { repoId, revision, cacheDir, commit: cached.commit, missing: cached.plan.missing } },
  );
}

function isFileSync(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Config-sized JSON only: a regular file of at most this many bytes. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** A small JSON file's content; undefined when it is missing, not a regular file, too large or not JSON (the loader then says why). */
function readBoundedJson(path: string): unknown {
  try {
    return JSON.parse(readRegularFileSync(path, 'repo file', MAX_JSON_BYTES).toString('utf8'));
  } catch {
    return undefined;
  }
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}
