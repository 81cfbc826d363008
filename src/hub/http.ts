import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici';
import { SparseEncoderError } from '../errors.js';
import type { HubConfig } from './config.js';
import { HubUnreachable, isTransientStatus } from './hub-answers.js';

/**
 * Requests to the Hub the way huggingface_hub makes them (utils/_http.py, file_download.py):
 * proxies from HTTP(S)_PROXY / NO_PROXY through undici's EnvHttpProxyAgent, a timeout on
 * metadata requests (HF_HUB_ETAG_TIMEOUT), relative redirects followed on the Hub's own origin
 * (renamed repos, `/api/resolve-cache/...`) while absolute ones (the CDN) are handed back, and
 * failures sorted into "the Hub could not be asked" (fall back to the cache) and "the Hub said no".
 */

export type FetchLike = typeof globalThis.fetch;

/** huggingface_hub follows relative redirects without a limit; a loop should still end. */
export const MAX_RELATIVE_REDIRECTS = 10;


/** A response whose body is read under an idle timeout. */
export interface StreamingResponse {
  response: Response;
  /** Restarts the idle timer (call on every chunk). */
  touch(): void;
  /** Stops the timer. */
  done(): void;
  /** Whether the idle timer fired (the body then fails with an abort error). */
  timedOut(): boolean;
}

export interface HubHttp {
  /** Sends one request; `timeoutMs` bounds the whole exchange (metadata requests). */
  send(url: string | URL, init: RequestInit, timeoutMs: number): Promise<Response>;
  /**
   * Sends one request whose body may take long: it fails only when `idleMs` pass without
   * progress (huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT is a read timeout, not a total one).
   */
  stream(url: string | URL, init: RequestInit, idleMs: number): Promise<StreamingResponse>;
  /** Releases the connection pool (and proxy tunnels). */
  close(): Promise<void>;
}

/** The client for one resolve call: the injected fetch, else undici with the environment's proxies. */
export function hubHttp(cfg: HubConfig, injected: FetchLike | undefined, signal: AbortSignal | undefined): HubHttp {
  let agent: EnvHttpProxyAgent | undefined;
  let doFetch: FetchLike;
  if (injected !== undefined) {
    doFetch = injected;
  } else {
    // '' rather than undefined: undici would otherwise read process.env, not the env we were given.
    agent = new EnvHttpProxyAgent({ httpProxy: cfg.proxy.httpProxy ?? '', httpsProxy: cfg.proxy.httpsProxy ?? '', noProxy: cfg.proxy.noProxy ?? '' });
    const dispatcher = agent;
    doFetch = ((input: string | URL | Request, init?: RequestInit) =>
      undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })) as unknown as FetchLike;
  }
  /** A fetch that threw: the caller's abort as it is, else the Hub could not be asked (timed out or unreachable). */
  const requestFailure = (err: unknown, url: string | URL, timedOut: boolean, ms: number): unknown => {
    if (signal?.aborted) return err;
    if (timedOut) return new HubUnreachable(`no answer within ${ms / 1000} s from ${String(url)}`, undefined, err);
    return new HubUnreachable(`cannot reach ${String(url)}: ${describeNetworkError(err)}`, undefined, err);
  };
  return {
    async send(url, init, timeoutMs) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
      try {
        return await doFetch(url, { ...init, signal: combined });
      } catch (err) {
        throw requestFailure(err, url, timeout.aborted, timeoutMs);
      }
    },
    async stream(url, init, idleMs) {
      const controller = new AbortController();
      let fired = false;
      let timer: NodeJS.Timeout | undefined;
      const touch = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          fired = true;
          controller.abort(new Error(`no data for ${idleMs / 1000} s`));
        }, idleMs);
      };
      const done = (): void => clearTimeout(timer);
      touch();
      const combined = signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal]);
      try {
        const response = await doFetch(url, { ...init, signal: combined });
        touch();
        return { response, touch, done, timedOut: () => fired };
      } catch (err) {
        done();
        throw requestFailure(err, url, fired, idleMs);
      }
    },
    async close() {
      await agent?.close();
    },
  };
}

/** fetch's "fetch failed" hides the useful part in `cause` (ECONNREFUSED, ENOTFOUND, a proxy's 407). */
export function describeNetworkError(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause;
  if (cause !== undefined) return [cause.code, cause.message].filter((x) => x !== undefined && x !== '').join(' ');
  return e.message ?? String(err);
}

/**
 * HEAD or GET on the Hub, following relative redirects (a Location without a host) on the same
 * origin up to {@link MAX_RELATIVE_REDIRECTS}; an absolute redirect (the CDN) is returned as is.
 * Throws HubUnreachable for network errors, timeouts and transient statuses.
 */
export async function followRelativeRedirects(http: HubHttp, url: string, init: RequestInit, timeoutMs: number): Promise<{ response: Response; url: string }> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const response = await http.send(current, { ...init, redirect: 'manual' }, timeoutMs);
    if (isTransientStatus(response.status)) {
      await response.body?.cancel();
      throw new HubUnreachable(`HTTP ${response.status} from ${current}`, response.status);
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null || !isRelative(location)) return { response, url: current };
    await response.body?.cancel();
    if (hop === MAX_RELATIVE_REDIRECTS) {
      throw new SparseEncoderError('ERR_DOWNLOAD_FAILED', `more than ${MAX_RELATIVE_REDIRECTS} redirects from ${url}`, { details: { url } });
    }
    current = new URL(location, current).toString();
  }
}

/** A Location that names no host: same origin (huggingface_hub tests `urlparse(...).netloc == ""`). */
export function isRelative(location: string): boolean {
  return !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(location) && !location.startsWith('//');
}

export function sameOrigin(a: string, b: string): boolean {
  return new URL(a).origin === new URL(b).origin;
}
