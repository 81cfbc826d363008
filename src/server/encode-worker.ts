import { parentPort, workerData } from 'node:worker_threads';
import { SparseEncoder } from '../encoder/sparse-encoder.js';
import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import type { FromWorker, JobRequest, JobResult, ServedModelInfo, ToWorker, WireError, WireVector, WorkerConfig } from './protocol.js';

/**
 * Entry point of an encode worker thread: loads its own SparseEncoder, then runs one job at a
 * time. onnxruntime's run() blocks the thread it is called on, which is why this is not the
 * server's main thread.
 */
const port = parentPort;
if (port === null) throw new Error('encode-worker must run in a worker thread');
const config = workerData as WorkerConfig;

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
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

/** Copies a vector into arrays of its own: encoder outputs may be views into one shared batch buffer. */
function toWire(encoder: SparseEncoder, v: SparseVector, tokens: boolean): WireVector {
  const out: WireVector = { indices: v.indices.slice(), values: v.values.slice() };
  if (tokens) out.tokens = encoder.decode(v);
  return out;
}

async function runJob(encoder: SparseEncoder, job: JobRequest): Promise<{ result: JobResult; transfer: ArrayBuffer[] }> {
  if (job.op === 'similarity') {
    const [q, d] = [await encoder.encodeQuery(job.queries), await encoder.encodeDocument(job.documents)];
    return { result: { op: 'similarity', matrix: encoder.similarity(q, d) }, transfer: [] };
  }
  const options = job.maxActiveDims !== undefined ? { maxActiveDims: job.maxActiveDims } : {};
  const vectors =
    job.task === 'query'
      ? await encoder.encodeQuery(job.texts, options)
      : job.task === 'document'
        ? await encoder.encodeDocument(job.texts, options)
        : await encoder.encode(job.texts, options);
  const wire = vectors.map((v) => toWire(encoder, v, job.tokens));
  const transfer: ArrayBuffer[] = [];
  for (const w of wire) transfer.push(w.indices.buffer as ArrayBuffer, w.values.buffer as ArrayBuffer);
  return { result: { op: 'encode', vectors: wire, dim: encoder.dim }, transfer };
}

const encoder = await load();
if (encoder !== undefined) {
  // Jobs arrive one at a time (the pool waits for each answer), so no queue is needed here.
  port.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      void encoder.dispose().finally(() => port.close());
      return;
    }
    runJob(encoder, message.job).then(
      ({ result, transfer }) => send({ type: 'result', id: message.id, result }, transfer),
      (err: unknown) => send({ type: 'failed', id: message.id, error: toWireError(err) }),
    );
  });
  send({ type: 'ready', info: describeModel(encoder) });
}
