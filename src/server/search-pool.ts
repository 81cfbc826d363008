import { Worker } from 'node:worker_threads';
import { SparseEncoderError } from '../errors.js';
import type { IndexInfo, SearchHit } from '../inverted-index/types.js';
import type { FromSearchWorker, SearchJob, ToSearchWorker, WireError } from './protocol.js';
import { dropOrCancelOnAbort } from './job-queue.js';
import type { ServerLogEvent } from './types.js';

export interface SearchPoolOptions {
  /** Index file or index directory (searched as of its last commit). */
  indexPath: string;
  /** Each worker reads posting lists on demand with a cache of this many bytes (default: reads the index whole). */
  cacheBytes?: number;
  workers: number;
  /** Searches allowed to wait; the next one is refused with ERR_OVERLOADED. */
  maxQueued: number;
  onLog: (event: ServerLogEvent) => void;
}

interface Job {
  id: number;
  request: SearchJob;
  resolve: (r: Array<{ hits: SearchHit[] }>) => void;
  reject: (e: SparseEncoderError) => void;
  signal: AbortSignal | undefined;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  job: Job | undefined;
  exited: boolean;
}

/** Replacements of a crashed search worker within this window are spaced out, to avoid a crash loop. */
const RESPAWN_DELAY_MS = 200;

/**
 * Search worker threads, each with the index opened on its own, and one FIFO queue: the
 * server's main thread never runs a search. A worker that dies fails its running search with
 * ERR_WORKER_CRASHED and is replaced; a search whose client went away is dropped, or cancelled
 * between slices when running.
 */
export class SearchPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closing = false;
  private description!: { size: number; dim: number; info: IndexInfo };

  private constructor(private readonly options: SearchPoolOptions) {}

  /** Opens the index in every worker; rejects with the opening error (ERR_INDEX_CORRUPT, ...). */
  static async start(options: SearchPoolOptions): Promise<SearchPool> {
    const pool = new SearchPool(options);
    try {
      const infos = await Promise.all(Array.from({ length: options.workers }, (_, i) => pool.spawn(i)));
      pool.description = infos[0]!;
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.description.size;
  }

  get dim(): number {
    return this.description.dim;
  }

  info(): IndexInfo {
    return this.description.info;
  }

  stats(): { workers: number; ready: number; queued: number } {
    return { workers: this.slots.length, ready: this.slots.filter((s) => s.ready).length, queued: this.queue.length };
  }

  run(request: SearchJob, signal?: AbortSignal): Promise<Array<{ hits: SearchHit[] }>> {
    if (this.closing) return Promise.reject(new SparseEncoderError('ERR_UNAVAILABLE', 'the server is shutting down'));
    if (!this.slots.some((s) => s.ready && s.job === undefined) && this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new SparseEncoderError('ERR_OVERLOADED', `too many searches waiting (${this.queue.length}); retry later`, { details: { queued: this.queue.length } }));
    }
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, request, resolve, reject, signal };
      this.queue.push(job);
      dropOrCancelOnAbort(signal, this.queue, job, reject, () => {
        const slot = this.slots.find((s) => s.job === job);
        if (slot !== undefined) slot.worker.postMessage({ type: 'cancel', id: job.id } satisfies ToSearchWorker);
      });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0)) job.reject(new SparseEncoderError('ERR_UNAVAILABLE', 'the server is shutting down'));
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.exited) return;
        const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
        s.worker.postMessage({ type: 'close' } satisfies ToSearchWorker);
        const timer = setTimeout(() => void s.worker.terminate(), 2000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** For tests: terminates a search worker as a crash would. */
  async killWorkerForTest(index: number): Promise<void> {
    await this.slots[index]?.worker.terminate();
  }

  private spawn(index: number): Promise<{ size: number; dim: number; info: IndexInfo }> {
    const worker = createWorker(this.options.indexPath, this.options.cacheBytes);
    const slot: Slot = { index, worker, ready: false, job: undefined, exited: false };
    this.slots[index] = slot;
    return new Promise((resolveReady, rejectReady) => {
      let lastError: Error | undefined;
      worker.on('message', (m: FromSearchWorker) => {
        if (this.slots[index] !== slot) return;
        if (m.type === 'ready') {
          slot.ready = true;
          resolveReady({ size: m.size, dim: m.dim, info: m.info });
          this.pump();
        } else if (m.type === 'load-failed') {
          rejectReady(fromWire(m.error));
        } else {
          const job = slot.job;
          if (job === undefined || job.id !== m.id) return;
          slot.job = undefined;
          if (m.type === 'result') job.resolve(m.results);
          else job.reject(fromWire(m.error));
          this.pump();
        }
      });
      worker.on('error', (err) => {
        lastError = err;
      });
      worker.on('exit', (code) => {
        slot.exited = true;
        slot.ready = false;
        const reason = lastError?.message ?? `exit code ${code}`;
        rejectReady(new SparseEncoderError('ERR_WORKER_CRASHED', `search worker ${index} stopped while opening the index (${reason})`));
        const job = slot.job;
        slot.job = undefined;
        job?.reject(new SparseEncoderError('ERR_WORKER_CRASHED', `the search worker stopped while running this request (${reason})`, { details: { worker: index } }));
        if (this.closing || this.slots[index] !== slot || this.description === undefined) return;
        this.options.onLog({ type: 'worker-exit', level: 'error', message: `search worker ${index} stopped unexpectedly (${reason}); starting a replacement`, worker: index, failedJobs: job ? 1 : 0 });
        const timer = setTimeout(() => {
          if (!this.closing) this.spawn(index).catch(() => undefined);
        }, RESPAWN_DELAY_MS);
        timer.unref();
      });
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job !== undefined) continue;
      let job = this.queue.shift();
      while (job?.signal?.aborted) job = this.queue.shift();
      if (job === undefined) return;
      slot.job = job;
      slot.worker.postMessage({ type: 'search', id: job.id, ...job.request } satisfies ToSearchWorker);
    }
  }
}

function fromWire(e: WireError): SparseEncoderError {
  return new SparseEncoderError(e.code, e.message, e.details !== undefined ? { details: e.details } : {});
}

/** `search-worker.js` next to this module in the build; under tsx, a bootstrap registers tsx first (as for the encode workers). */
function createWorker(indexPath: string, cacheBytes: number | undefined): Worker {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const entry = JSON.stringify(new URL('./search-worker.ts', self).href);
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}); });`, { eval: true, workerData: { indexPath, cacheBytes } });
  }
  return new Worker(new URL('./search-worker.js', self), { workerData: { indexPath, cacheBytes } });
}
