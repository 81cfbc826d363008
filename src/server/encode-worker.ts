import { SparseEncoder, planRuns, type EncodeOptions, type ExplainedText, type Explanation } from '../encoder/sparse-encoder.js';
import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import type { FromWorker, JobRequest, JobResult, ServedModelInfo, ToWorker, WireBatch, WireError, WireToken, WireVector, WorkerConfig } from './protocol.js';

/**
 * Entry point of an encode worker process (child_process.fork, IPC with the structured-clone
 * serialization): loads its own SparseEncoder, then runs one job at a time. A process, not a
 * thread: a native fault inside onnxruntime (abort, segfault, out of memory) or a kill ends this
 * process only, and the server replaces it. onnxruntime's run() blocks this process's thread,
 * which is why it is not the server's.
 */
if (process.send === undefined) throw new Error('encode-worker must run as a forked child process');
const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;

/** Texts encoded between two looks at the IPC channel, so that a cancel arrives between slices. */
const SLICE = 64;

function send(message: FromWorker): void {
  // The channel closes when the parent is gone: nothing to report to, so exit.
  if (!process.connected) process.exit(0);
  process.send!(message);
}

function toWireError(err: unknown): WireError {
  if (err instanceof SparseEncoderError) return { code: err.code, message: err.message, details: err.details };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'ERR_INTERNAL', message };
}

async function load(): Promise<SparseEncoder | undefined> {
  try {
    return await SparseEncoder.fromPretrained(config.model, {
      threads: config.threads,
      ...(config.revision !== undefined ? { revision: config.revision } : {}),
      ...(config.localFilesOnly !== undefined ? { localFilesOnly: config.localFilesOnly } : {}),
      ...(config.quantize !== undefined ? { quantize: config.quantize } : {}),
      ...(config.int8VocabProjection !== undefined ? { int8VocabProjection: config.int8VocabProjection } : {}),
      ...(config.spinning !== undefined ? { spinning: config.spinning } : {}),
    });
  } catch (err) {
    send({ type: 'load-failed', error: toWireError(err) });
    return undefined;
  }
}

function describeModel(encoder: SparseEncoder): ServedModelInfo {
  const m = encoder.modelInfo;
  return {
    id: config.model,
    folder: m.folder,
    dim: encoder.dim,
    maxSeqLength: encoder.maxSeqLength ?? null,
    similarityFn: encoder.similarityFnName,
    prompts: { ...encoder.prompts },
    defaultPromptName: encoder.defaultPromptName ?? null,
    router: encoder.isRouter,
    modules: m.modules,
    precision: m.precision,
    routes: m.routes,
    staticQueries: m.queryKind === 'static',
  };
}

/** Copies a vector into arrays of its own: encoder outputs may be views into one shared batch buffer (the IPC copy would send it whole). */
function toWire(encoder: SparseEncoder, v: SparseVector, tokens: boolean): WireVector {
  const out: WireVector = { indices: v.indices.slice(), values: v.values.slice() };
  if (tokens) out.tokens = encoder.decode(v);
  return out;
}

const cancelled = new Set<number>();

class Cancelled extends Error {}

/** Encodes in slices, yielding to the event loop between them so a cancel message can land. */
async function encodeSliced(id: number, texts: readonly string[], encodeSlice: (t: string[]) => Promise<SparseVector[]>): Promise<SparseVector[]> {
  const out: SparseVector[] = [];
  for (let at = 0; at < texts.length; at += SLICE) {
    if (at > 0) await new Promise((resolve) => setImmediate(resolve));
    if (cancelled.has(id)) throw new Cancelled();
    out.push(...(await encodeSlice(texts.slice(at, at + SLICE))));
  }
  return out;
}

type EncodeJob = Extract<JobRequest, { op: 'encode' }>;

/** The encode options a job asks for. */
function jobOptions(job: EncodeJob, extra: EncodeOptions = {}): EncodeOptions {
  const options: EncodeOptions = { ...extra };
  if (job.maxActiveDims !== undefined) options.maxActiveDims = job.maxActiveDims;
  if (job.truncate === false) options.truncate = false;
  if (job.promptName !== undefined) options.promptName = job.promptName;
  if (job.window !== undefined) Object.assign(options, { longDocuments: 'window' }, job.window);
  if (job.truncationDirection === 'left') options.truncationDirection = 'left';
  if (job.addSpecialTokens === false) options.addSpecialTokens = false;
  return options;
}

function encodeWith(encoder: SparseEncoder, job: EncodeJob, texts: string[], extra: EncodeOptions): Promise<SparseVector[]> {
  const options = jobOptions(job, extra);
  return job.task === 'query' ? encoder.encodeQuery(texts, options) : job.task === 'document' ? encoder.encodeDocument(texts, options) : encoder.encode(texts, options);
}

async function runJob(encoder: SparseEncoder, id: number, job: JobRequest, maxBatchTokens: number | undefined): Promise<JobResult> {
  if (job.op === 'explain') {
    const options = job.maxActiveDims === undefined ? {} : { maxActiveDims: job.maxActiveDims };
    const plain = (e: Explanation | ExplainedText) => JSON.parse(JSON.stringify(e, (_k, v: unknown) => (v instanceof Uint32Array || v instanceof Float32Array ? Array.from(v) : v))) as unknown;
    if (job.texts !== undefined) {
      const task = job.task === 'plain' || job.task === undefined ? {} : { task: job.task };
      const texts: unknown[] = [];
      for (const t of job.texts) {
        if (cancelled.has(id)) throw new Cancelled();
        texts.push(plain(await encoder.explainText(t, { ...options, ...task })));
      }
      return { op: 'explain', texts };
    }
    const alone = await encoder.explain(job.query!, undefined, options);
    const documents: unknown[] = [];
    for (const d of job.documents ?? []) {
      if (cancelled.has(id)) throw new Cancelled();
      const e = await encoder.explain(job.query!, d, options);
      documents.push(plain({ ...e, query: undefined as never }));
    }
    return { op: 'explain', query: (plain(alone) as { query: unknown }).query, documents };
  }
  if (job.op === 'similarity') {
    const q = await encodeSliced(id, job.queries, (t) => encoder.encodeQuery(t));
    const d = await encodeSliced(id, job.documents, (t) => encoder.encodeDocument(t));
    return { op: 'similarity', matrix: encoder.similarity(q, d) };
  }
  if (job.op === 'tokenize') {
    const task = job.task === 'plain' ? undefined : job.task;
    const tokens: WireToken[][] = [];
    for (const text of job.texts) {
      // Untruncated, as TEI's /tokenize (core/src/tokenization.rs: its Tokenize request passes no truncation parameters).
      const r = await encoder.tokens(text, { ...(task !== undefined ? { task } : {}), ...(job.promptName !== undefined ? { promptName: job.promptName } : {}), addSpecialTokens: job.addSpecialTokens, truncate: false });
      const bytes = Buffer.from(r.input, 'utf8');
      tokens.push(r.tokens.map((t) => ({ id: t.id, text: t.special ? t.token : bytes.subarray(t.start!, t.stop!).toString('utf8'), special: t.special, start: t.start, stop: t.stop })));
    }
    return { op: 'tokenize', tokens };
  }
  if (job.op === 'decode') {
    const texts: string[] = [];
    for (const ids of job.ids) texts.push(await encoder.decodeIds(ids, job.skipSpecialTokens));
    return { op: 'decode', texts };
  }
  const batches: WireBatch[] = [];
  const extra: EncodeOptions = { onBatch: (b) => batches.push(b), ...(maxBatchTokens !== undefined ? { maxBatchTokens } : {}) };
  const vectors = await encodeSliced(id, job.texts, (t) => encodeWith(encoder, job, t, extra));
  return { op: 'encode', vectors: vectors.map((v) => toWire(encoder, v, job.tokens)), dim: encoder.dim, batches };
}

/**
 * Encode jobs merged by the pool: their texts are planned into runs together (similar lengths,
 * within `maxBatchTokens` padded tokens), and each job is answered as soon as its last text has
 * run, so no request waits for the whole merged set.
 */
async function runMerged(encoder: SparseEncoder, jobs: Array<{ id: number; job: EncodeJob }>, maxBatchTokens: number | undefined): Promise<void> {
  const live = jobs.filter((j) => !cancelled.has(j.id));
  for (const j of jobs) if (cancelled.has(j.id)) send({ type: 'failed', id: j.id, error: { code: 'ERR_CANCELLED', message: 'cancelled: the client went away' } });
  if (live.length === 0) return;
  const first = live[0]!.job;
  const owner: number[] = [];
  const texts: string[] = [];
  const start: number[] = [];
  live.forEach((j, n) => {
    start.push(texts.length);
    for (const t of j.job.texts) {
      owner.push(n);
      texts.push(t);
    }
  });
  const vectors = new Array<SparseVector>(texts.length);
  const left = live.map((j) => j.job.texts.length);
  let pending: WireBatch[] = [];
  try {
    const task = first.task === 'plain' ? undefined : first.task;
    // Each text is tokenized once: the counts plan the runs, and the runs encode those token rows.
    const prepared = await encoder.prepareTexts(texts, { ...jobOptions(first), ...(task !== undefined ? { task } : {}) });
    const lengths = prepared.lengths;
    // Runs go in the order of their oldest request (the pool merged jobs in arrival order), so a
    // long text is not overtaken run after run by shorter ones that came later.
    const runs = planRuns(lengths, maxBatchTokens ?? Number.MAX_SAFE_INTEGER)
      .map((run) => ({ run, oldest: Math.min(...run.indices.map((i) => owner[i]!)) }))
      .sort((a, b) => a.oldest - b.oldest)
      .map((r) => r.run);
    for (const [r, planned] of runs.entries()) {
      // Between runs, let a cancel message land; a cancelled job is answered now and its texts
      // leave the runs still to come, so a vanished client stops costing encoder time.
      if (r > 0) await new Promise((resolve) => setImmediate(resolve));
      live.forEach((j, n) => {
        if (left[n]! < 0 || !cancelled.has(j.id)) return;
        left[n] = -1;
        send({ type: 'failed', id: j.id, error: { code: 'ERR_CANCELLED', message: 'cancelled: the client went away' } });
      });
      const indices = planned.indices.filter((i) => left[owner[i]!]! >= 0);
      if (indices.length === 0) continue;
      const run = indices.length === planned.indices.length ? planned : { indices, tokens: sumLengths(lengths, indices), paddedTokens: indices.length * Math.max(...indices.map((i) => Math.max(1, lengths[i]!))) };
      const out = await encoder.encodePrepared(prepared, run.indices);
      pending.push({ texts: run.indices.length, tokens: run.tokens, paddedTokens: run.paddedTokens });
      run.indices.forEach((i, k) => {
        vectors[i] = out[k]!;
        left[owner[i]!]!--;
      });
      // Answer every job whose texts are all done; the runs' statistics ride on the first answer.
      live.forEach((j, n) => {
        if (left[n] !== 0) return;
        left[n] = -1;
        const mine = vectors.slice(start[n]!, start[n]! + j.job.texts.length);
        send({ type: 'result', id: j.id, result: { op: 'encode', vectors: mine.map((v) => toWire(encoder, v, j.job.tokens)), dim: encoder.dim, batches: pending } });
        pending = [];
      });
    }
  } catch (err) {
    live.forEach((j, n) => {
      if (left[n]! >= 0) send({ type: 'failed', id: j.id, error: toWireError(err) });
    });
  }
}

function sumLengths(lengths: readonly number[], indices: readonly number[]): number {
  return indices.reduce((a, i) => a + Math.max(1, lengths[i]!), 0);
}

// The parent going away (its IPC channel closing) ends this process: an orphan would hold a model copy.
process.on('disconnect', () => process.exit(0));

const encoder = await load();
if (encoder !== undefined) {
  // Jobs arrive one at a time (the pool waits for each answer), so no queue is needed here.
  process.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      void encoder.dispose().finally(() => process.exit(0));
      return;
    }
    if (message.type === 'cancel') {
      cancelled.add(message.id);
      return;
    }
    // A test hook: crash the way a native fault in onnxruntime would (no JS cleanup).
    if (message.type === 'abort-for-test') process.abort();
    const { jobs, maxBatchTokens } = message;
    const done = (): void => {
      for (const j of jobs) cancelled.delete(j.id);
    };
    if (jobs.length > 1 && jobs.every((j) => j.job.op === 'encode')) {
      void runMerged(encoder, jobs as Array<{ id: number; job: EncodeJob }>, maxBatchTokens).finally(done);
      return;
    }
    const { id, job } = jobs[0]!;
    runJob(encoder, id, job, maxBatchTokens).then(
      (result) => send({ type: 'result', id, result }),
      (err: unknown) => send({ type: 'failed', id, error: err instanceof Cancelled ? { code: 'ERR_CANCELLED', message: 'cancelled: the client went away' } : toWireError(err) }),
    ).finally(done);
  });
  send({ type: 'ready', info: describeModel(encoder) });
}
