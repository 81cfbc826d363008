import { homedir } from 'node:os';
import { join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import { readRegularFileSync } from '../files/local-files.js';
import type { ModelBackend, ResolveModelOptions } from './types.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
/** huggingface_hub's `DEFAULT_ETAG_TIMEOUT` and `DEFAULT_DOWNLOAD_TIMEOUT` (constants.py): 10 s each. */
export const DEFAULT_ETAG_TIMEOUT_S = 10;
export const DEFAULT_DOWNLOAD_TIMEOUT_S = 10;

/** Where the token came from, for messages (the token itself is never printed). */
export type TokenSource = 'option' | 'HF_TOKEN' | 'HUGGING_FACE_HUB_TOKEN' | 'token file';

/** Proxy settings from the environment, as curl and Python's requests/httpx read them. */
export interface ProxyConfig {
  httpProxy: string | undefined;
  httpsProxy: string | undefined;
  noProxy: string | undefined;
}

/** Settings after options → environment → defaults, resolved once per call. */
export interface HubConfig {
  endpoint: string;
  token: string | undefined;
  tokenSource: TokenSource | undefined;
  cacheDir: string;
  offline: boolean;
  revision: string;
  backend: ModelBackend;
  /** Metadata requests (repo info, HEAD): milliseconds until the answer's headers. */
  etagTimeoutMs: number;
  /** Transfers: milliseconds without a byte before a download is given up (and resumed on retry). */
  downloadTimeoutMs: number;
  proxy: ProxyConfig;
}

/** huggingface_hub's `_is_true` (constants.py): 1, ON, YES, TRUE in any case. */
const TRUTHY = new Set(['1', 'on', 'yes', 'true']);
const isTrue = (v: string | undefined): boolean => TRUTHY.has((v ?? '').trim().toLowerCase());

/** Expands a leading `~` the way a shell would (huggingface_hub does the same for its paths). */
export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

/** huggingface_hub's `_clean_token`: line breaks removed, spaces trimmed, empty means none. */
function cleanToken(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const t = raw.replace(/[\r\n]/g, '').trim();
  return t === '' ? undefined : t;
}

/** A token file is a few dozen bytes; anything larger is not one. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/**
 * The token file (`hf auth login` / `huggingface-cli login` write it): read only when it is a
 * regular file of sane size, so a FIFO or a device there cannot hang or flood us. A missing
 * file means no token, as in Python.
 */
function readTokenFile(path: string, explicit: boolean): string | undefined {
  try {
    return cleanToken(readRegularFileSync(path, 'Hugging Face token file', MAX_TOKEN_FILE_BYTES).toString('utf8'));
  } catch (err) {
    const e = err as SparseEncoderError;
    if (e.code === 'ERR_FILE_NOT_FOUND') return undefined;
    const errno = (e.details as { errno?: string } | undefined)?.errno;
    // The default location unreadable (a service user whose HOME is not its own): no login, as for a missing file.
    if (errno === 'ENOTDIR' || (!explicit && (errno === 'EACCES' || errno === 'EPERM'))) return undefined;
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `${e.message}; fix it or set HF_TOKEN_PATH`, { cause: err, details: { path } });
  }
}

function positiveSeconds(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name];
  // huggingface_hub's `_as_int(...) or DEFAULT`: unset, empty, non-numeric or 0 fall back.
  const v = raw === undefined ? NaN : Number(raw.trim());
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

export function resolveHubConfig(options: ResolveModelOptions): HubConfig {
  const env = options.env ?? process.env;
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  const hfHome = expandHome(nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), '.cache'), 'huggingface'));
  const cacheDir = options.cacheDir ?? nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE) ?? join(hfHome, 'hub');

  // huggingface_hub's get_token(): HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the token file.
  let token: string | undefined;
  let tokenSource: TokenSource | undefined;
  if (options.token === false) {
    token = undefined;
  } else if (typeof options.token === 'string') {
    token = cleanToken(options.token);
    tokenSource = token === undefined ? undefined : 'option';
  } else {
    const fromEnv = cleanToken(env.HF_TOKEN) ?? cleanToken(env.HUGGING_FACE_HUB_TOKEN);
    if (fromEnv !== undefined) {
      token = fromEnv;
      tokenSource = cleanToken(env.HF_TOKEN) !== undefined ? 'HF_TOKEN' : 'HUGGING_FACE_HUB_TOKEN';
    } else {
      const explicitPath = nonEmpty(env.HF_TOKEN_PATH);
      token = readTokenFile(expandHome(explicitPath ?? join(hfHome, 'token')), explicitPath !== undefined);
      tokenSource = token === undefined ? undefined : 'token file';
    }
  }
  return {
    endpoint: (options.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    token,
    tokenSource,
    cacheDir: expandHome(cacheDir),
    offline: options.localFilesOnly ?? (isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE)),
    revision: options.revision ?? 'main',
    backend: options.backend ?? 'torch',
    etagTimeoutMs: 1000 * positiveSeconds(env, 'HF_HUB_ETAG_TIMEOUT', DEFAULT_ETAG_TIMEOUT_S),
    downloadTimeoutMs: 1000 * positiveSeconds(env, 'HF_HUB_DOWNLOAD_TIMEOUT', DEFAULT_DOWNLOAD_TIMEOUT_S),
    // Lower case first, as curl and undici's EnvHttpProxyAgent read them.
    proxy: {
      httpProxy: nonEmpty(env.http_proxy) ?? nonEmpty(env.HTTP_PROXY),
      httpsProxy: nonEmpty(env.https_proxy) ?? nonEmpty(env.HTTPS_PROXY),
      noProxy: nonEmpty(env.no_proxy) ?? nonEmpty(env.NO_PROXY),
    },
  };
}
