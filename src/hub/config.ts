import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModelBackend, ResolveModelOptions } from './types.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** Settings after options → environment → defaults, resolved once per call. */
export interface HubConfig {
  endpoint: string;
  token: string | undefined;
  cacheDir: string;
  offline: boolean;
  revision: string;
  backend: ModelBackend;
}

const TRUTHY = new Set(['1', 'true', 'yes', 'on']);

/** Expands a leading `~` the way a shell would (huggingface_hub does the same for its paths). */
export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

export function resolveHubConfig(options: ResolveModelOptions): HubConfig {
  const env = options.env ?? process.env;
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  const hfHome = nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), '.cache'), 'huggingface');
  const cacheDir = options.cacheDir ?? nonEmpty(env.HF_HUB_CACHE) ?? join(expandHome(hfHome), 'hub');
  return {
    endpoint: (options.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    token: options.token ?? nonEmpty(env.HF_TOKEN),
    cacheDir: expandHome(cacheDir),
    offline: options.localFilesOnly ?? TRUTHY.has((env.HF_HUB_OFFLINE ?? '').trim().toLowerCase()),
    revision: options.revision ?? 'main',
    backend: options.backend ?? 'torch',
  };
}
