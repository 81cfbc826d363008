import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { close as closeFd, createReadStream, createWriteStream, fstat, open as openFd, type ReadStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { SparseEncoderError } from '../errors.js';

/**
 * What every command gets: the process's streams, or captured ones in tests. Lives here (not in
 * main.ts) so commands never import the dispatcher that imports them.
 */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
}

export type CommandRunner = (argv: string[], io: CliIo) => Promise<void>;

/** An input opened for reading: a file (with its size, for progress) or stdin. */
export interface CliInput {
  stream: NodeJS.ReadableStream;
  /** How errors name it: the path, or `stdin`. */
  name: string;
  /** Bytes in the file when known (a regular file), else undefined. */
  size: number | undefined;
  /** True when reading a terminal's stdin (someone may be waiting to type). */
  interactive: boolean;
}

/**
 * Opens `path` for reading, `-` meaning stdin. A missing file is ERR_FILE_NOT_FOUND; a folder or
 * an unreadable file ERR_INVALID_ARGUMENT, both naming the path. FIFOs (`<(cmd)`) are fine.
 */
export async function openInput(path: string, io: CliIo, what = 'input'): Promise<CliInput> {
  if (path === '-') return { stream: io.stdin, name: 'stdin', size: undefined, interactive: io.stdin.isTTY === true };
  let size: number | undefined;
  let fd: number;
  try {
    fd = await promisify(openFd)(path, 'r');
    const st = await promisify(fstat)(fd);
    if (st.isDirectory()) {
      await promisify(closeFd)(fd);
      throw Object.assign(new Error('it is a folder'), { code: 'EISDIR' });
    }
    if (st.isFile()) size = st.size;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const code = e.code === 'ENOENT' ? 'ERR_FILE_NOT_FOUND' : 'ERR_INVALID_ARGUMENT';
    throw new SparseEncoderError(code, `cannot read ${what} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: err, details: { path } });
  }
  const stream: ReadStream = createReadStream('', { fd, autoClose: true });
  return { stream, name: path, size, interactive: false };
}

/**
 * Where a command writes its results: a file, or stdout (`-`). Writes wait for `drain`, so memory
 * stays bounded. A reader that goes away (`| head -1`: EPIPE) ends the command quietly: the next
 * write throws ERR_OUTPUT_CLOSED, which `main` turns into exit 0. A file that cannot be created
 * is one ERR_OUTPUT_NOT_WRITABLE line naming it.
 */
export class OutputWriter {
  private failure: SparseEncoderError | undefined;
  private readonly failed: Promise<never>;
  private rejectFailed!: (e: SparseEncoderError) => void;

  private constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly name: string,
    private readonly owned: boolean,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined);
    stream.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
  }

  /** Opens `path` (`-`: stdout) and waits until a file really exists, so a bad path fails before any work. */
  static async open(path: string, io: CliIo): Promise<OutputWriter> {
    if (path === '-') return new OutputWriter(io.stdout, 'stdout', false);
    const stream: WriteStream = createWriteStream(path);
    try {
      await Promise.race([once(stream, 'open'), once(stream, 'error').then(([e]) => Promise.reject(e))]);
    } catch (err) {
      throw notWritable(path, reason(err as NodeJS.ErrnoException), err);
    }
    return new OutputWriter(stream, path, true);
  }

  async write(text: string): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (!this.stream.write(text)) await Promise.race([once(this.stream as NodeJS.EventEmitter, 'drain'), this.failed]);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Flushes and closes a file (stdout stays open). */
  async close(): Promise<void> {
    if (!this.owned) return;
    if (this.failure !== undefined) throw this.failure;
    const closed = once(this.stream as NodeJS.EventEmitter, 'close');
    this.stream.end();
    await Promise.race([closed, this.failed]);
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (this.failure !== undefined) return;
    this.failure =
      !this.owned && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED')
        ? new SparseEncoderError('ERR_OUTPUT_CLOSED', 'the reader of stdout went away', { cause: err })
        : notWritable(this.name, reason(err), err);
    this.rejectFailed(this.failure);
  }
}

/**
 * Checks that a file can be written at `path` (its folder exists and is writable, and `path` is
 * not a folder), for commands that write their output at the end (the index is saved atomically
 * through a temp file in that folder), so a typo fails before the work, not after.
 */
export async function assertWritablePath(path: string): Promise<void> {
  const fail = (why: string, cause?: unknown): never => {
    throw notWritable(path, why, cause);
  };
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory()) fail('it is a folder');
  const dir = dirname(path);
  const dst = await stat(dir).catch(() => undefined);
  if (dst === undefined || !dst.isDirectory()) fail('its folder does not exist');
  await access(dir, 2 /* W_OK */).catch((err: unknown) => fail('permission denied', err));
}

/** The one-line error of an output that cannot be written. */
function notWritable(path: string, why: string, cause: unknown): SparseEncoderError {
  return new SparseEncoderError('ERR_OUTPUT_NOT_WRITABLE', `cannot write ${path}: ${why}`, { cause, details: { path } });
}

/** A write or open failure in words. */
function reason(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'its folder does not exist';
    case 'EISDIR':
      return 'it is a folder';
    case 'EACCES':
      return 'permission denied';
    case 'ENOSPC':
      return 'the disk is full';
    default:
      return err.message;
  }
}
