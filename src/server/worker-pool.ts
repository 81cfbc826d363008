import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SparseEncoderError } from '../errors.js';
import type { FromWorker, JobRequest, JobResult, ServedModelInfo, ToWorker, WireBatch, WireError, WorkerConfig } from './protocol.js';
import { dropOrCancelOnAbort } from './job-queue.js';
import type { ServerLogEvent } from './types.js';

/** Options of {@link EncodePool.start}. */
export interface EncodePoolOptions {
  config: WorkerConfig;
  workers: number;
  /** Jobs allowed to wait for a worker; the next one is refused with ERR_OVERLOADED. */
  maxQueued: number;
  /** A job running longer than this has its worker killed and replaced (ERR_WORKER_TIMEOUT). */
  jobTimeoutMs: number;
  /**
   * Dynamic batching: when a worker frees up, queued encode requests of the same kind go to it as
   * one job, in onnxruntime runs of at most this many padded tokens (grouped by length). Nothing
   * waits for a batch to fill: an idle server runs each request at once. 0 turns batching off.
   */
  maxBatchTokens: number;
  /** Called with each finished job's onnxruntime runs (metrics). Default: none. */
  onBatches?: (batches: WireBatch[]) => void;
  onLog: (event: ServerLogEvent) => void;
}

interface Job {
  id: number;
  request: JobRequest;
  resolve: (r: JobResult) => void;
  reject: (e: SparseEncoderError) => void;
  signal: AbortSignal | undefined;
}

interface Slot {
  index: number;
  worker: ChildProcess;
  state: 'loading' | 'idle' | 'busy' | 'stopping';
  /** The jobs it is running: one, or several merged encode jobs. */
  jobs: Job[];
  startedAt: number;
  /** Settles when the worker has loaded its model (or failed to). */
  ready: Promise<ServedModelInfo>;
  lastError: Error | undefined;
  exited: boolean;
  /** The running job's deadline. */
  timer: NodeJS.Timeout | undefined;
}

/** A worker that fails to load again is retried after 1 s, 2 s, 4 s, ... at most this long. */
const MAX_RETRY_MS = 30_000;
/** How long a worker gets to dispose its model after 'close' before it is terminated. */
const STOP_GRACE_MS = 5_000;

/**
 * Encode worker processes with one FIFO queue. Each worker runs one job at a time; a worker that
 * exits for any reason (a JS error, a native abort or segfault inside onnxruntime, out of memory,
 * `kill -9`) fails only its running job with ERR_WORKER_CRASHED and is replaced; one that runs a
 * job past `jobTimeoutMs` is killed (ERR_WORKER_TIMEOUT) and replaced. A job whose client went
 * away is dropped from the queue, or cancelled between slices when it is running.
 */
export class EncodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly loadFailures: number[];
  private nextId = 1;
  private closing = false;
  private restarts = 0;
  private modelInfo!: ServedModelInfo;
  /** Workers after the first load from the resolved folder, so a Hub model is downloaded once. */
  private restartConfig: WorkerConfig;

  private constructor(private readonly options: EncodePoolOptions) {
    this.restartConfig = options.config;
    this.loadFailures = new Array<number>(options.workers).fill(0);
  }

  /** Starts the workers and waits until every one has loaded the model; rejects with the load error. */
  static async start(options: EncodePoolOptions): Promise<EncodePool> {
    const pool = new EncodePool(options);
    try {
      const first = pool.spawn(0, options.config);
      pool.modelInfo = await first.ready;
      pool.restartConfig = { ...options.config, model: pool.modelInfo.folder };
      const rest: Array<Promise<ServedModelInfo>> = [];
      for (let i = 1; i < options.workers; i++) rest.push(pool.spawn(i, pool.restartConfig).ready);
      await Promise.all(rest);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get info(): ServedModelInfo {
    return this.modelInfo;
  }

  /** Workers, how many threads are alive and ready, jobs waiting and running, and replacements so far. */
  stats(): { workers: number; alive: number; ready: number; busy: number; queued: number; restarts: number } {
    let ready = 0;
    let busy = 0;
    let alive = 0;
    for (const s of this.slots) {
      if (!s.exited) alive++;
      if (s.state === 'idle' || s.state === 'busy') ready++;
      if (s.state === 'busy') busy++;
    }
    return { workers: this.slots.length, alive, ready, busy, queued: this.queue.length, restarts: this.restarts };
  }

  /** Queues a job. An aborted `signal` drops the job if it has not started (its result is then never delivered). */
  run(request: JobRequest, signal?: AbortSignal): Promise<JobResult> {
    if (this.closing) return Promise.reject(new SparseEncoderError('ERR_UNAVAILABLE', 'the server is shutting down'));
    if (this.slots.every((s) => s.state === 'stopping')) {
      return Promise.reject(new SparseEncoderError('ERR_UNAVAILABLE', 'no encode worker is running (the model failed to load; retrying); retry later'));
    }
    const idle = this.slots.some((s) => s.state === 'idle');
    if (!idle && this.queue.length >= this.options.maxQueued) {
      return Promise.reject(
        new SparseEncoderError('ERR_OVERLOADED', `too many requests waiting for an encode worker (${this.queue.length}); retry later`, {
          details: { queued: this.queue.length },
        }),
      );
    }
    return new Promise<JobResult>((resolve, reject) => {
      const job: Job = { id: this.nextId++, request, resolve, reject, signal };
      // Inference-free queries are a table lookup (when the server could not encode them itself): they go first.
      if (request.op === 'encode' && request.task === 'query' && this.modelInfo?.staticQueries === true) this.queue.unshift(job);
      else this.queue.push(job);
      // Running: the worker stops at its next slice and answers 'failed' with ERR_CANCELLED.
      dropOrCancelOnAbort(signal, this.queue, job, reject, () => {
        const slot = this.slots.find((s) => s.jobs.includes(job));
        if (slot !== undefined) this.post(slot, { type: 'cancel', id: job.id });
      });
      this.pump();
    });
  }

  /** Fails queued jobs, asks every worker to release its model and exit (terminating it after a grace period). */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    for (const job of this.queue.splice(0)) job.reject(new SparseEncoderError('ERR_UNAVAILABLE', 'the server is shutting down'));
    await Promise.all(this.slots.map((s) => this.stop(s)));
  }

  /** For tests: kills a worker with SIGKILL (or makes it abort, as a native crash would); the pool does not expect this exit. */
  async killWorkerForTest(index: number, how: 'SIGKILL' | 'abort' = 'SIGKILL'): Promise<void> {
    const slot = this.slots[index];
    if (slot === undefined || slot.exited) return;
    const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    if (how === 'abort') this.post(slot, { type: 'abort-for-test' });
    else slot.worker.kill('SIGKILL');
    await exited;
  }

  /** For tests: the worker processes' ids. */
  workerPidsForTest(): Array<number | undefined> {
    return this.slots.map((s) => (s.exited ? undefined : s.worker.pid));
  }

  private post(slot: Slot, message: ToWorker): void {
    try {
      if (slot.worker.connected) slot.worker.send(message);
    } catch {
      // the channel closed under us: the exit handler deals with it
    }
  }

  private spawn(index: number, config: WorkerConfig): Slot {
    const worker = createWorker(config);
    let settle!: { resolve: (i: ServedModelInfo) => void; reject: (e: unknown) => void };
    const ready = new Promise<ServedModelInfo>((resolve, reject) => {
      settle = { resolve, reject };
    });
    ready.catch(() => undefined); // observed by start() or onLoadFailed; never unhandled
    const slot: Slot = { index, worker, state: 'loading', jobs: [], startedAt: Date.now(), ready, lastError: undefined, exited: false, timer: undefined };
    this.slots[index] = slot;
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m, settle));
    worker.on('error', (err: Error) => {
      slot.lastError = err;
    });
    worker.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      slot.exited = true;
      clearTimeout(slot.timer);
      this.onExit(slot, signal !== null ? `killed by ${signal}` : `exit code ${code}`, settle);
    });
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker, settle: { resolve: (i: ServedModelInfo) => void; reject: (e: unknown) => void }): void {
    if (this.slots[slot.index] !== slot) return;
    switch (m.type) {
      case 'ready': {
        slot.state = slot.state === 'stopping' ? 'stopping' : 'idle';
        this.loadFailures[slot.index] = 0;
        const ms = Date.now() - slot.startedAt;
        this.options.onLog({ type: 'worker-ready', level: 'info', message: `worker ${slot.index} ready (${ms} ms)`, worker: slot.index, ms });
        settle.resolve(m.info);
        this.pump();
        return;
      }
      case 'load-failed': {
        const err = fromWire(m.error);
        settle.reject(err);
        slot.state = 'stopping';
        slot.worker.kill('SIGKILL');
        this.onLoadFailed(slot, err);
        return;
      }
      case 'result':
      case 'failed': {
        const at = slot.jobs.findIndex((j) => j.id === m.id);
        if (at < 0) return;
        const [job] = slot.jobs.splice(at, 1);
        if (m.type === 'result') {
          if (m.result.op === 'encode' && m.result.batches.length > 0) this.options.onBatches?.(m.result.batches);
          job!.resolve(m.result);
        } else job!.reject(fromWire(m.error));
        if (slot.jobs.length > 0) return;
        clearTimeout(slot.timer);
        if (slot.state === 'busy') slot.state = 'idle';
        this.pump();
        return;
      }
    }
  }

  private onExit(slot: Slot, how: string, settle: { resolve: (i: ServedModelInfo) => void; reject: (e: unknown) => void }): void {
    if (this.slots[slot.index] !== slot) return;
    const expected = slot.state === 'stopping';
    const wasLoading = slot.state === 'loading';
    slot.state = 'stopping';
    const reason = slot.lastError?.message ?? how;
    const jobs = slot.jobs.splice(0);
    for (const job of jobs) {
      job.reject(new SparseEncoderError('ERR_WORKER_CRASHED', `the encode worker stopped while running this request (${reason})`, { details: { worker: slot.index } }));
    }
    if (expected || this.closing) return;
    if (wasLoading) {
      const err = new SparseEncoderError('ERR_WORKER_CRASHED', `encode worker ${slot.index} stopped while loading the model (${reason})`, { cause: slot.lastError });
      settle.reject(err);
      this.onLoadFailed(slot, err);
      return;
    }
    this.options.onLog({
      type: 'worker-exit',
      level: 'error',
      message: `worker ${slot.index} stopped unexpectedly (${reason}); ${jobs.length} request(s) failed; starting a replacement`,
      worker: slot.index,
      failedJobs: jobs.length,
    });
    this.restarts++;
    this.spawn(slot.index, this.restartConfig);
  }

  /** A replacement that cannot load is retried with backoff; meanwhile, with no worker left, waiting jobs fail with 503. */
  private onLoadFailed(slot: Slot, err: SparseEncoderError): void {
    if (this.closing || this.modelInfo === undefined) return; // during start(), the caller gets the error
    const failures = ++this.loadFailures[slot.index]!;
    const retryInMs = Math.min(MAX_RETRY_MS, 1000 * 2 ** (failures - 1));
    this.options.onLog({
      type: 'worker-load-failed',
      level: 'error',
      message: `worker ${slot.index} could not load the model: ${err.message} [${err.code}]; retrying in ${retryInMs} ms`,
      worker: slot.index,
      code: err.code,
      retryInMs,
    });
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (!this.closing) this.spawn(slot.index, this.restartConfig);
    }, retryInMs);
    timer.unref();
    this.retryTimers.add(timer);
    if (!this.slots.some((s) => s.state === 'idle' || s.state === 'busy' || s.state === 'loading')) {
      for (const job of this.queue.splice(0)) job.reject(new SparseEncoderError('ERR_UNAVAILABLE', 'no encode worker is running; retry later'));
    }
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.state !== 'idle') continue;
      let job = this.queue.shift();
      while (job?.signal?.aborted) job = this.queue.shift();
      if (!job) return;
      const jobs = [job, ...this.mergeable(job)];
      slot.state = 'busy';
      slot.jobs = jobs;
      const maxBatchTokens = this.options.maxBatchTokens > 0 ? this.options.maxBatchTokens : undefined;
      this.post(slot, { type: 'jobs', jobs: jobs.map((j) => ({ id: j.id, job: j.request })), ...(maxBatchTokens !== undefined ? { maxBatchTokens } : {}) });
      slot.timer = setTimeout(() => this.onJobTimeout(slot, jobs), this.options.jobTimeoutMs);
      slot.timer.unref();
    }
  }

  /**
   * Queued encode jobs that can share `first`'s run (same task, prompt, pruning, tokens flag;
   * truncating), taken out of the queue, while their texts stay within eight runs' worth of the
   * token budget (estimated at 4 characters a token; the worker cuts the exact runs and answers
   * each job as its run ends). Only jobs already waiting are taken: nothing waits to fill a batch.
   */
  private mergeable(first: Job): Job[] {
    const r = first.request;
    if (this.options.maxBatchTokens <= 0 || r.op !== 'encode' || !mergeableJob(r)) return [];
    const key = mergeKey(r);
    const budget = this.options.maxBatchTokens * 4 * 8;
    let chars = r.texts.reduce((a, t) => a + t.length, 0);
    const out: Job[] = [];
    for (let i = 0; i < this.queue.length; ) {
      const j = this.queue[i]!;
      const q = j.request;
      if (j.signal?.aborted || q.op !== 'encode' || !mergeableJob(q) || mergeKey(q) !== key) {
        i++;
        continue;
      }
      const size = q.texts.reduce((a, t) => a + t.length, 0);
      if (chars + size > budget) break;
      chars += size;
      out.push(j);
      this.queue.splice(i, 1);
    }
    return out;
  }

  /** A job past its deadline: fail it (and any merged with it), then kill its worker (which the exit handler replaces). */
  private onJobTimeout(slot: Slot, jobs: Job[]): void {
    if (this.slots[slot.index] !== slot || !jobs.some((j) => slot.jobs.includes(j))) return;
    for (const job of slot.jobs.splice(0)) {
      job.reject(
        new SparseEncoderError('ERR_WORKER_TIMEOUT', `the request ran longer than ${this.options.jobTimeoutMs} ms; its worker was stopped and is being replaced`, {
          details: { worker: slot.index, jobTimeoutMs: this.options.jobTimeoutMs },
        }),
      );
    }
    slot.lastError = new Error(`killed after a job ran past ${this.options.jobTimeoutMs} ms`);
    slot.worker.kill('SIGKILL');
  }

  private async stop(slot: Slot): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (slot.exited) resolve();
      else slot.worker.once('exit', () => resolve());
    });
    slot.state = 'stopping';
    this.post(slot, { type: 'close' });
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
    });
    if ((await Promise.race([exited, grace])) === 'timeout') {
      slot.worker.kill('SIGKILL');
      await exited;
    }
    clearTimeout(timer);
  }
}

/** Jobs that refuse long texts or cut them into windows run alone (their runs are planned by the encoder). */
function mergeableJob(r: Extract<JobRequest, { op: 'encode' }>): boolean {
  return r.truncate !== false && r.window === undefined;
}

function mergeKey(r: Extract<JobRequest, { op: 'encode' }>): string {
  return JSON.stringify([r.task, r.maxActiveDims ?? null, r.tokens, r.promptName ?? null, r.truncationDirection ?? 'right', r.addSpecialTokens ?? true]);
}

function fromWire(e: WireError): SparseEncoderError {
  return new SparseEncoderError(e.code, e.message, e.details !== undefined ? { details: e.details } : {});
}

/**
 * A worker process running `encode-worker.js` (next to this module in the build), with the
 * structured-clone IPC serialization (typed arrays cross as they are). Under tsx (this module is
 * a `.ts` file) the child loads tsx first. The parent's execArgv is not inherited: under
 * `node --test` it would make the child a test file.
 */
function createWorker(config: WorkerConfig): ChildProcess {
  const self = import.meta.url;
  const ts = self.endsWith('.ts');
  const entry = fileURLToPath(new URL(ts ? './encode-worker.ts' : './encode-worker.js', self));
  return fork(entry, [JSON.stringify(config)], {
    serialization: 'advanced',
    execArgv: ts ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
