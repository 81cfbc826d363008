/** Which files a model needs: `torch` = weights (safetensors / pytorch_model.bin); `onnx` adds `onnx/model.onnx`. */
export type ModelBackend = 'torch' | 'onnx';

/** Progress of {@link resolveModel}, as data: the library never prints. */
export type ResolveProgressEvent =
  /** The repo's file list is known: `files` are the ones this model needs (cached or not). */
  | { type: 'repo-info'; repoId: string; revision: string; commit: string; files: readonly string[] }
  /** A file transfer begins; `bytes` is the expected size when the server says it. */
  | { type: 'file-start'; file: string; bytes: number | undefined }
  | { type: 'file-progress'; file: string; loaded: number; total: number | undefined }
  /** A file is in the snapshot folder; `fromCache` when nothing was transferred for it. */
  | { type: 'file-done'; file: string; fromCache: boolean }
  /** A transfer broke off and is resumed from byte `from` with a Range request. */
  | { type: 'file-resume'; file: string; from: number; attempt: number }
  /**
   * The Hub could not be asked (network error, timeout, 429, 5xx) or refused a revision already
   * cached (401/403): the complete cached snapshot `commit` is used instead. `reason` says why.
   */
  | { type: 'cache-fallback'; repoId: string; revision: string; commit: string; reason: string };

export interface ResolveModelOptions {
  /** Branch, tag or commit hash. Default `'main'`. */
  revision?: string;
  /**
   * Hub access token for gated/private repos; `false` sends none. Default, as huggingface_hub's
   * get_token(): env `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file at `HF_TOKEN_PATH`
   * (default `$HF_HOME/token`, written by `hf auth login`), else none.
   */
  token?: string | false;
  /**
   * Cache folder in huggingface_hub's layout (shared with Python). Default: env `HF_HUB_CACHE`,
   * else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
   */
  cacheDir?: string;
  /** Hub base URL. Default: env `HF_ENDPOINT`, else `https://huggingface.co`. */
  endpoint?: string;
  /** Never touch the network; resolve from the cache only. Default: env `HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE` (1/true/yes/on), else false. */
  localFilesOnly?: boolean;
  /** Which model files to fetch. Default `'torch'`. */
  backend?: ModelBackend;
  /** Receives progress events. Default: none. */
  onProgress?: (event: ResolveProgressEvent) => void;
  /**
   * The fetch implementation (tests). Default: undici's fetch through an EnvHttpProxyAgent built
   * from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (either case) of `env`.
   */
  fetch?: FetchLike;
  /** Cancels requests and transfers. Default: none. */
  signal?: AbortSignalLike;
  /** Environment variables to read the defaults above from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface ResolvedModel {
  /** A local folder with the model files. */
  folder: string;
  /**
   * `local`: a folder given by path; `cache`: every file came from the cache; `hub`: at least one
   * file was downloaded; `url`: fetched from a URL prefix (web).
   */
  source: 'local' | 'cache' | 'hub' | 'url';
  repoId?: string;
  /** The revision asked for (hub and cache only). */
  revision?: string;
  /** The commit hash the snapshot folder is named after (hub and cache only). */
  commit?: string;
  /** Forgets files held in memory (`mem://` folders, web) once the model is built. */
  release?: () => void;
}

/**
 * An AbortSignal as far as we use it: Node's and the DOM's both fit. Declared here so the published
 * types compile without `@types/node` or the DOM library.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A fetch implementation (the `fetch` option, for tests and custom transports): WHATWG `fetch` fits. */
export type FetchLike = (input: string, init?: Record<string, unknown>) => Promise<unknown>;
