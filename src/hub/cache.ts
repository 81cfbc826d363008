import { copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SparseEncoderError } from '../errors.js';
import { COMMIT_HASH } from './hub-answers.js';

/**
 * huggingface_hub's cache layout, so that Python and this library share downloads:
 * `<cache>/models--org--name/{blobs/<etag>, snapshots/<commit>/<file> → ../../blobs/<etag>, refs/<revision>}`.
 */

export function repoFolder(cacheDir: string, repoId: string): string {
  return join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

export function snapshotFolder(cacheDir: string, repoId: string, commit: string): string {
  return join(repoFolder(cacheDir, repoId), 'snapshots', commit);
}

export function blobPath(cacheDir: string, repoId: string, etag: string): string {
  return join(repoFolder(cacheDir, repoId), 'blobs', etag);
}

/** The commit a revision points to in the cache: a commit hash itself, or `refs/<revision>`. */
export async function cachedCommit(cacheDir: string, repoId: string, revision: string): Promise<string | undefined> {
  if (COMMIT_HASH.test(revision)) return (await isDir(snapshotFolder(cacheDir, repoId, revision))) ? revision : undefined;
  try {
    const commit = (await readFile(join(repoFolder(cacheDir, repoId), 'refs', revision), 'utf8')).trim();
    return COMMIT_HASH.test(commit) && (await isDir(snapshotFolder(cacheDir, repoId, commit))) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes `refs/<revision>` atomically (revision names such as `refs/pr/1` nest), and only when it
 * is missing or names another commit, as huggingface_hub does, so that a complete read-only cache
 * (a Docker image, a shared NFS cache) is never written to.
 */
export async function writeRef(cacheDir: string, repoId: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const path = join(repoFolder(cacheDir, repoId), 'refs', revision);
  try {
    if ((await readFile(path, 'utf8')) === commit) return;
  } catch {
    // missing: write it
  }
  await cacheWrite(path, async () => {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${tempSuffix()}`;
    await writeFile(tmp, commit);
    await rename(tmp, path);
  });
}

const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT']);

/**
 * Runs a write into the cache; a permission, read-only or disk-full failure becomes
 * ERR_CACHE_NOT_WRITABLE naming the path and the variable that moves the cache.
 */
export async function cacheWrite<T>(path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined || !NOT_WRITABLE.has(code)) throw err;
    const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full' : 'the cache is not writable';
    throw new SparseEncoderError(
      'ERR_CACHE_NOT_WRITABLE',
      `cannot write ${path} (${code}): ${why}. Point HF_HUB_CACHE (or the cacheDir option) at a writable folder, or pre-fill this cache and run offline (HF_HUB_OFFLINE=1)`,
      { cause: err, details: { path, errno: code } },
    );
  }
}

/** Points `snapshots/<commit>/<file>` at the blob with a relative symlink (a copy where symlinks fail). */
export async function linkSnapshotFile(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  const tmp = `${pointer}.${tempSuffix()}.tmp`;
  try {
    await symlink(relative(dirname(pointer), blob), tmp);
  } catch {
    // Windows without developer mode: huggingface_hub copies too.
    await copyFile(blob, tmp);
  }
  try {
    await rename(tmp, pointer);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function tempSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Size of a file (following symlinks), or undefined when it or its target is missing. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}
