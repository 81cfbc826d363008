import { SparseEncoder } from '../encoder/sparse-encoder.js';
import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import type { FromWorker, JobRequest, JobResult, ServedModelInfo, ToWorker, WireError, WireVector, WorkerConfig } from './protocol.js';

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

async function runJob(encoder: SparseEncoder, id: number, job: JobRequest): Promise<{ result: JobResult }> {
  if (job.op === 'similarity') {
    const q = await encodeSliced(id, job.queries, (t) => encoder.encodeQuery(t));
    const d = await encodeSliced(id, job.documents, (t) => encoder.encodeDocument(t));
    return { result: { op: 'similarity', matrix: encoder.similarity(q, d) } };
  }
  const options = job.maxActiveDims !== undefined ? { maxActiveDims: job.maxActiveDims } : {};
  const vectors = await encodeSliced(id, job.texts, (t) =>
    job.task === 'query' ? encoder.encodeQuery(t, options) : job.task === 'document' ? encoder.encodeDocument(t, options) : encoder.encode(t, options),
  );
  const wire = vectors.map((v) => toWire(encoder, v, job.tokens));
  return { result: { op: 'encode', vectors: wire, dim: encoder.dim } };
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
    const { id } = message;
    runJob(encoder, id, message.job).then(
      ({ result }) => send({ type: 'result', id, result }),
      (err: unknown) => send({ type: 'failed', id, error: err instanceof Cancelled ? { code: 'ERR_CANCELLED', message: 'cancelled: the client went away' } : toWireError(err) }),
    ).finally(() => cancelled.delete(id));
  });
  send({ type: 'ready', info: describeModel(encoder) });
}
