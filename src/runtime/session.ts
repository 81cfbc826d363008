/**
 * The only importer of onnxruntime (node and web). Wraps an InferenceSession: creation from model
 * bytes, feeds validated against the model's declared inputs before they reach native code, errors
 * turned into SparseEncoderError. Two backends with one API: `native` (onnxruntime-node, CPU) and
 * `wasm` (onnxruntime-web's WebAssembly build, the one browsers, Deno, Bun and Node without native
 * binaries run; an optional peer dependency, loaded only when asked for).
 *
 * Note: onnxruntime-node runs `run()` on the JavaScript thread (it is only deferred with
 * setImmediate), so the event loop is blocked while a batch computes. Servers that must stay
 * responsive should run encoders in worker threads.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
// The platform seam (package.json imports): onnxruntime-node, the CPU count and temporary files under Node, refusals elsewhere.
import { cpuCount, DEFAULT_BACKEND, loadNativeOrt, writeTempModel } from '#native-runtime';
import { SparseEncoderError } from '../errors.js';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** Which onnxruntime runs the graphs: `native` (onnxruntime-node) or `wasm` (onnxruntime-web, WebAssembly). */
/**
 * `native`: onnxruntime-node. `wasm`: onnxruntime-web's WebAssembly. `webgpu`: onnxruntime-web
 * with its WebGPU execution provider (operators it lacks run on WebAssembly in the same session).
 */
export type RuntimeBackend = 'native' | 'wasm' | 'webgpu';

const BACKENDS: readonly RuntimeBackend[] = ['native', 'wasm', 'webgpu'];

/** ERR_INVALID_ARGUMENT unless `backend` is one of {@link RuntimeBackend}. */
export function checkBackend(backend: unknown): asserts backend is RuntimeBackend {
  if (!BACKENDS.includes(backend as RuntimeBackend)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `backend must be "native", "wasm" or "webgpu", got ${JSON.stringify(backend)}`);
}

/**
 * Why WebGPU cannot run here (no `navigator.gpu`, no adapter), or undefined when it can. Asked
 * before a `webgpu` load, which then falls back to `wasm` with an event saying why.
 */
export async function webgpuUnavailable(): Promise<string | undefined> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (gpu === undefined) return 'this runtime has no WebGPU (navigator.gpu is missing)';
  try {
    return (await gpu.requestAdapter()) == null ? 'WebGPU has no adapter here (requestAdapter() gave null)' : undefined;
  } catch (e) {
    return `WebGPU's requestAdapter() failed: ${(e as Error)?.message ?? String(e)}`;
  }
}

/** The backend when none is asked for: `native` under Node, `wasm` elsewhere (the `#native-runtime` seam). */
export const defaultBackend: RuntimeBackend = DEFAULT_BACKEND;

/** The part of either package's API used here (onnxruntime-common's, shared by both). */
interface Ort {
  InferenceSession: typeof InferenceSession;
  Tensor: typeof Tensor;
  env: { wasm: { numThreads?: number } };
}

const loaded = new Map<RuntimeBackend, Promise<Ort>>();

/** The backend's package, imported once, on first use. */
function ortOf(backend: RuntimeBackend): Promise<Ort> {
  let p = loaded.get(backend);
  if (p === undefined) {
    p = (backend === 'native' ? loadNativeOrt() : import('onnxruntime-web')).then(
      (m) => m as unknown as Ort,
      (cause: unknown) => {
        loaded.delete(backend);
        const pkg = backend === 'native' ? 'onnxruntime-node' : 'onnxruntime-web';
        throw new SparseEncoderError('ERR_RUNTIME', `the ${backend} backend needs the ${pkg} package, which could not be loaded (npm install ${pkg}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
      },
    );
    loaded.set(backend, p);
  }
  return p;
}

/** WebAssembly's memory is 32-bit: a model's weights and its activations share 4 GiB. */
const WASM_MAX_WEIGHT_BYTES = 3 * 2 ** 30;

export interface SessionOptions {
  /** `native` (onnxruntime-node) or `wasm` (onnxruntime-web). Default `native`. */
  backend?: RuntimeBackend;
  /**
   * Threads used inside one operator (matmuls). Default: `os.availableParallelism()`. The wasm
   * backend takes the first session's setting for the whole process (onnxruntime-web's), 1 by default.
   */
  intraOpNumThreads?: number;
  /** Threads running independent operators in parallel (only with a parallel executor). Default: 1. */
  interOpNumThreads?: number;
  /** onnxruntime graph optimisations. Default: `'all'` (fusions, constant folding, layout). */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Whether idle worker threads spin while waiting for work. Spinning lowers latency but burns
   * CPU that other processes could use. Default: true (onnxruntime's default).
   */
  allowSpinning?: boolean;
}

export type TensorType = 'float32' | 'int64' | 'int32';

/** A dense tensor crossing the runtime boundary. */
export type TensorData =
  | { readonly type: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly type: 'int64'; readonly data: BigInt64Array; readonly dims: readonly number[] }
  | { readonly type: 'int32'; readonly data: Int32Array; readonly dims: readonly number[] };

/**
 * A built, not yet serialized model (what src/graph's builders return): inline bytes, or a
 * small ModelProto plus an external data file.
 */
export interface SerializableModel {
  readonly initializerBytes: number;
  toBytes(): Uint8Array;
  toExternal(location: string, minBytes?: number): { readonly model: Uint8Array; readonly dataByteLength: number; dataChunks(): Iterable<Uint8Array> };
}

export interface ModelSessionOptions extends SessionOptions {
  /**
   * Models whose weights exceed this many bytes are written to a temporary folder (model +
   * external data file, removed right after loading) instead of being passed as one buffer:
   * onnxruntime then maps the weights from the file rather than copying a serialized model,
   * which keeps peak memory near one copy of the weights. Default 64 MiB.
   */
  externalDataAboveBytes?: number;
  /** Where the temporary folder goes. Default: `os.tmpdir()`. */
  tempDir?: string;
}

/** A declared graph input or output: element type and dimensions (a string is a symbolic dimension). */
export interface ValueSpec {
  readonly name: string;
  readonly type: string;
  readonly dims: ReadonlyArray<number | string>;
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${name} must be a positive integer, got ${v}`);
  }
  return v;
}

function metadataToSpecs(meta: readonly InferenceSession.ValueMetadata[]): ValueSpec[] {
  return meta.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, dims: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) } : { name: m.name, type: 'non-tensor', dims: [] },
  );
}

export class OnnxSession {
  private session: InferenceSession | undefined;
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];

  private constructor(
    session: InferenceSession,
    private readonly ort: Ort,
    /** Which onnxruntime runs this session. */
    readonly backend: RuntimeBackend,
  ) {
    this.session = session;
    const inputs = metadataToSpecs(session.inputMetadata);
    // Boolean scalar inputs are flags (`explain`): fed false unless a run sets them.
    this.flags = inputs.filter((i) => i.type === 'bool' && i.dims.length === 0).map((i) => i.name);
    this.inputs = inputs.filter((i) => !this.flags.includes(i.name));
    this.outputs = metadataToSpecs(session.outputMetadata);
  }

  /** The model's boolean scalar inputs (flags), false unless `run` sets them. */
  readonly flags: readonly string[];

  /**
   * Creates a CPU session from serialized ONNX model bytes (or a model file path). Parsing and
   * optimisation block the thread.
   */
  static async create(model: Uint8Array | string, options: SessionOptions = {}, externalData?: { path: string; data: Uint8Array }): Promise<OnnxSession> {
    const backend: RuntimeBackend = options.backend ?? DEFAULT_BACKEND;
    checkBackend(backend);
    const intra = positiveInt('intraOpNumThreads', options.intraOpNumThreads, backend === 'native' ? cpuCount() : 1);
    const inter = positiveInt('interOpNumThreads', options.interOpNumThreads, 1);
    const level = options.graphOptimizationLevel ?? 'all';
    if (!['disabled', 'basic', 'extended', 'all'].includes(level)) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `graphOptimizationLevel must be disabled, basic, extended or all, got ${JSON.stringify(level)}`);
    }
    const ort = await ortOf(backend);
    const common = { graphOptimizationLevel: level, executionMode: 'sequential', logSeverityLevel: 3 } as const;
    let sessionOptions: InferenceSession.SessionOptions;
    if (backend === 'native') {
      sessionOptions = {
        ...common,
        executionProviders: ['cpu'],
        intraOpNumThreads: intra,
        interOpNumThreads: inter,
        extra: { session: { intra_op: { allow_spinning: options.allowSpinning === false ? '0' : '1' } } },
      };
    } else {
      // onnxruntime-web reads its thread count once, when its WebAssembly module starts.
      ort.env.wasm.numThreads ??= intra;
      sessionOptions = { ...common, executionProviders: [backend], ...(externalData !== undefined ? { externalData: [externalData] } : {}) } as InferenceSession.SessionOptions;
    }
    try {
      // Two calls because InferenceSession.create's overloads do not accept the union.
      const session = typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
      return new OnnxSession(session, ort, backend);
    } catch (cause) {
      throw new SparseEncoderError('ERR_RUNTIME', `onnxruntime could not load the model: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    }
  }

  /**
   * Creates a session from a built model, choosing inline bytes or external data by size. When
   * the temporary folder cannot be written, falls back to inline bytes (more memory while loading).
   */
  static async fromModel(model: SerializableModel, options: ModelSessionOptions = {}): Promise<OnnxSession> {
    const threshold = options.externalDataAboveBytes ?? 64 * 1024 * 1024;
    if (model.initializerBytes <= threshold) return OnnxSession.create(model.toBytes(), options);
    if (options.backend === 'wasm' || options.backend === 'webgpu') return OnnxSession.fromModelInMemory(model, options);
    let written: { path: string; cleanup(): Promise<void> } | undefined;
    try {
      const ext = model.toExternal('weights.bin');
      written = await writeTempModel(ext.model, 'weights.bin', ext.dataChunks(), options.tempDir);
    } catch (cause) {
      // A protobuf cannot exceed 2 GiB, so very large models have no in-memory fallback.
      if (model.initializerBytes >= 2 ** 31 - 2 ** 24) {
        throw new SparseEncoderError('ERR_RUNTIME', `cannot write the model's weights to a temporary folder in ${options.tempDir ?? 'the temporary directory'}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
      }
    }
    try {
      return written !== undefined ? await OnnxSession.create(written.path, options) : await OnnxSession.create(model.toBytes(), options);
    } finally {
      // The session keeps what it needs (mapped or copied); the files can go.
      await written?.cleanup();
    }
  }

  /**
   * The wasm backend: the weights stay in memory as the model's external data (no file system,
   * and no 2 GiB protobuf limit), refused before they would outgrow WebAssembly's 4 GiB.
   */
  private static async fromModelInMemory(model: SerializableModel, options: ModelSessionOptions): Promise<OnnxSession> {
    if (model.initializerBytes > WASM_MAX_WEIGHT_BYTES) {
      throw new SparseEncoderError(
        'ERR_RUNTIME',
        `the model's weights take ${(model.initializerBytes / 2 ** 30).toFixed(2)} GiB, more than the ${WASM_MAX_WEIGHT_BYTES / 2 ** 30} GiB the wasm backend can hold beside its activations (WebAssembly memory is 4 GiB); try quantize: 'int8' or the native backend`,
        { details: { bytes: model.initializerBytes } },
      );
    }
    const ext = model.toExternal('weights.bin');
    // Each weight is written (transposed, quantized) straight into one buffer, never all of them twice.
    const data = new Uint8Array(ext.dataByteLength);
    let at = 0;
    for (const c of ext.dataChunks()) {
      data.set(c, at);
      at += c.length;
    }
    return OnnxSession.create(ext.model, options, { path: 'weights.bin', data });
  }

  get inputNames(): string[] {
    return this.inputs.map((i) => i.name);
  }

  get outputNames(): string[] {
    return this.outputs.map((o) => o.name);
  }

  /**
   * Checks names, element types, ranks, fixed dimensions, agreement of symbolic dimensions
   * across inputs, and data lengths. Throws ERR_INVALID_INPUT naming the offending input.
   */
  validateFeeds(feeds: Readonly<Record<string, TensorData>>): void {
    const expected = new Set(this.inputs.map((i) => i.name));
    for (const name of Object.keys(feeds)) {
      if (!expected.has(name)) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `unexpected model input "${name}"; the model takes ${[...expected].join(', ')}`, { details: { input: name } });
      }
    }
    const symbols = new Map<string, { size: number; input: string }>();
    for (const spec of this.inputs) {
      const t = feeds[spec.name];
      if (t === undefined) throw new SparseEncoderError('ERR_INVALID_INPUT', `missing model input "${spec.name}"`, { details: { input: spec.name } });
      if (t.type !== spec.type) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `model input "${spec.name}" must be ${spec.type}, got ${t.type}`, { details: { input: spec.name } });
      }
      const okData =
        (t.type === 'float32' && t.data instanceof Float32Array) ||
        (t.type === 'int64' && t.data instanceof BigInt64Array) ||
        (t.type === 'int32' && t.data instanceof Int32Array);
      if (!okData) throw new SparseEncoderError('ERR_INVALID_INPUT', `model input "${spec.name}" has data that does not match its type ${t.type}`, { details: { input: spec.name } });
      if (t.dims.length !== spec.dims.length) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `model input "${spec.name}" must have ${spec.dims.length} dimensions, got [${t.dims.join(', ')}]`, {
          details: { input: spec.name, dims: [...t.dims] },
        });
      }
      let n = 1;
      t.dims.forEach((d, i) => {
        if (!Number.isInteger(d) || d < 1) {
          throw new SparseEncoderError('ERR_INVALID_INPUT', `model input "${spec.name}" has an invalid dimension ${d} in [${t.dims.join(', ')}]`, { details: { input: spec.name } });
        }
        const want = spec.dims[i]!;
        if (typeof want === 'number' && want !== d) {
          throw new SparseEncoderError('ERR_INVALID_INPUT', `model input "${spec.name}" dimension ${i} must be ${want}, got ${d}`, { details: { input: spec.name } });
        }
        if (typeof want === 'string') {
          const seen = symbols.get(want);
          if (seen === undefined) symbols.set(want, { size: d, input: spec.name });
          else if (seen.size !== d) {
            throw new SparseEncoderError('ERR_INVALID_INPUT', `model input "${spec.name}" has ${want} = ${d} but "${seen.input}" has ${seen.size}`, { details: { input: spec.name } });
          }
        }
        n *= d;
      });
      if (t.data.length !== n) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `model input "${spec.name}" holds ${t.data.length} values but its dimensions [${t.dims.join(', ')}] need ${n}`, {
          details: { input: spec.name },
        });
      }
    }
  }

  /**
   * Runs the model. Blocks the event loop while computing (see the note at the top of this file).
   * `outputNames` defaults to all outputs.
   */
  /**
   * Runs the model. `flags` set its boolean scalar inputs (such as `explain`), false otherwise;
   * they are not among `inputNames`.
   */
  async run(feeds: Readonly<Record<string, TensorData>>, outputNames?: readonly string[], flags: Readonly<Record<string, boolean>> = {}): Promise<Record<string, TensorData>> {
    const session = this.session;
    if (session === undefined) throw new SparseEncoderError('ERR_DISPOSED', 'the inference session has been disposed');
    this.validateFeeds(feeds);
    const fetches = outputNames ?? this.outputNames;
    for (const o of fetches) {
      if (!this.outputNames.includes(o)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `the model has no output "${o}"`);
    }
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new this.ort.Tensor(t.type, t.data, t.dims);
    for (const name of Object.keys(flags)) if (!this.flags.includes(name)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `the model has no flag input "${name}"`);
    for (const name of this.flags) ortFeeds[name] = new this.ort.Tensor('bool', Uint8Array.of(flags[name] === true ? 1 : 0), []);
    let result: InferenceSession.ReturnType;
    try {
      result = await session.run(ortFeeds, [...fetches]);
    } catch (cause) {
      throw new SparseEncoderError('ERR_RUNTIME', `onnxruntime failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    }
    const out: Record<string, TensorData> = {};
    for (const name of fetches) {
      const v = result[name]!;
      const dims = [...v.dims];
      if (v.type === 'float32') out[name] = { type: 'float32', data: v.data as Float32Array, dims };
      else if (v.type === 'int64') out[name] = { type: 'int64', data: v.data as BigInt64Array, dims };
      else if (v.type === 'int32') out[name] = { type: 'int32', data: v.data as Int32Array, dims };
      else throw new SparseEncoderError('ERR_RUNTIME', `model output "${name}" has unsupported type ${v.type}`);
    }
    return out;
  }

  /** Releases the native session. Further `run()` calls throw ERR_DISPOSED. Safe to call twice. */
  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s !== undefined) await s.release();
  }
}
