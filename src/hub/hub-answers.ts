/**
 * What the Hub's answers mean, for both Hub clients (Node's, with the Python-compatible cache, and
 * the web's, with the Cache API): which statuses mean "ask again later", which errors a refusal
 * maps to, the repo id and repo path rules. Portable: no Node built-in.
 */
import { SparseEncoderError } from '../errors.js';
import type { TokenSource } from './config.js';

// Hub repo ids: `name` or `org/name`; letters, digits, `-`, `_`, `.`; no `--` or `..` (huggingface_hub's rule).
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.-]+)?$/;

/** Whether `id` is a valid Hub repo id (huggingface_hub's `validate_repo_id`). */
export function isRepoId(id: string): boolean {
  return REPO_ID.test(id) && !id.includes('--') && !id.includes('..');
}

/** A commit hash as the Hub names snapshots. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** A revision we put in a URL or a cache key: no empty, `.` or `..` segment. */
export function isSafeRevision(revision: string): boolean {
  return /^[A-Za-z0-9._/-]+$/.test(revision) && !revision.split('/').some((p) => p === '' || p === '.' || p === '..');
}

/** A repo file name we are willing to store: relative, no empty, `.` or `..` segment, no backslash. */
export function isSafeRepoPath(f: string): boolean {
  return f !== '' && !f.startsWith('/') && !f.includes('\\') && !f.split('/').some((p) => p === '' || p === '.' || p === '..');
}

/** Why a request produced no usable answer, when the cause is not the Hub's verdict on the repo. */
export class HubUnreachable extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * Statuses that mean "ask again later": huggingface_hub's `_DEFAULT_RETRY_ON_STATUS_CODES`
 * (408, 429, 500, 502, 503, 504), widened to every 5xx a corporate gateway may answer.
 */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status < 600);
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** Maps an HTTP failure status to our error codes. */
export function httpError(
  status: number,
  headers: Headers,
  what: { repoId: string; revision: string; file?: string; url: string; tokenSource: TokenSource | undefined },
): SparseEncoderError {
  const details = { repoId: what.repoId, revision: what.revision, file: what.file, url: what.url, status };
  const errorCode = headers.get('x-error-code');
  const hubMessage = headers.get('x-error-message');
  const said = hubMessage === null ? '' : ` The Hub said: ${hubMessage.slice(0, 300)}`;
  // The Hub names the cause in x-error-code; a 404 on the repo API is the repo or the revision.
  // It answers 401 + RepoNotFound for private repos too, so the message mentions the token.
  if (errorCode === 'RevisionNotFound' || (status === 404 && what.file === undefined && errorCode !== 'RepoNotFound')) {
    return new SparseEncoderError('ERR_MODEL_NOT_FOUND', `revision "${what.revision}" not found in Hub repo ${what.repoId} (or the repo does not exist).${said}`, { details });
  }
  if (errorCode === 'RepoNotFound') {
    return new SparseEncoderError(
      'ERR_MODEL_NOT_FOUND',
      `Hub repo ${what.repoId} (revision "${what.revision}") not found${what.tokenSource === undefined ? '; if it is private, pass `token`, set HF_TOKEN or run `hf auth login`' : ''}.${said}`,
      { details },
    );
  }
  if (errorCode === 'EntryNotFound' || (status === 404 && what.file !== undefined)) {
    return new SparseEncoderError('ERR_FILE_NOT_FOUND', `${what.file} is listed in Hub repo ${what.repoId} but the Hub answers 404 for it.${said}`, { details });
  }
  if (status === 401 || status === 403) {
    return new SparseEncoderError(
      'ERR_GATED_REPO',
      `access to Hub repo ${what.repoId}${what.file === undefined ? '' : ` (file ${what.file})`} was refused (HTTP ${status}): it may be gated or private. ` +
        (what.tokenSource !== undefined
          ? `The token (from ${what.tokenSource}) was refused or has no access: check it, and accept the repo's terms on the Hub if it is gated.`
          : 'Accept its terms on the Hub if it is gated, then pass `token`, set HF_TOKEN or run `hf auth login`.') +
        said,
      { details },
    );
  }
  return new SparseEncoderError(
    'ERR_DOWNLOAD_FAILED',
    `${what.file === undefined ? `repo info for ${what.repoId}` : `download of ${what.file} from ${what.repoId}`} failed: HTTP ${status} from ${what.url}.${said}`,
    { details },
  );
}

