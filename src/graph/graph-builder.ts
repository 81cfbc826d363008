import { encodeModel, ONNX_DTYPE } from './onnx-proto.js';
import type { DeferredBytes, DimSpec, NodeAttribute, NodeSpec, OnnxDtype, TensorSpec, ValueInfoSpec } from './onnx-proto.js';

/** ai.onnx opset we target (LayerNormalization needs 17; ORT 1.30 supports up to 23). */
export const AI_ONNX_OPSET = 17;
/** IR version matching opset 17. */
export const IR_VERSION = 8;
export const MS_DOMAIN = 'com.microsoft';

type AttrInput = number | number[] | string | { float: number } | { floats: number[] };

function toAttribute(name: string, v: AttrInput): NodeAttribute {
  if (typeof v === 'string') return { name, value: { kind: 'string', v } };
  if (typeof v === 'number') return { name, value: { kind: 'int', v } };
  if (Array.isArray(v)) return { name, value: { kind: 'ints', v } };
  if ('float' in v) return { name, value: { kind: 'float', v: v.float } };
  return { name, value: { kind: 'floats', v: v.floats } };
}

function bytesOf(a: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** float32 bytes computed only when the model is serialized (so no second copy lives meanwhile). */
function deferredFloats(count: number, fill: (dst: Float32Array) => void): DeferredBytes {
  return {
    byteLength: count * 4,
    write(dst: Uint8Array): void {
      if (dst.byteOffset % 4 === 0) {
        fill(new Float32Array(dst.buffer, dst.byteOffset, count));
      } else {
        // raw_data inside a protobuf is not 4-byte aligned: fill a scratch array and copy.
        const tmp = new Float32Array(count);
        fill(tmp);
        dst.set(bytesOf(tmp));
      }
    },
  };
}

/** A model whose large initializers live in a separate data file (ONNX external data). */
export interface ExternalDataModel {
  /** The ModelProto; large tensors point at `location` with offsets and lengths. */
  readonly model: Uint8Array;
  /** File name the model refers to, relative to the model file. */
  readonly location: string;
  readonly dataByteLength: number;
  /** The data file's bytes in order (zero padding included), one tensor at a time. */
  dataChunks(): Iterable<Uint8Array>;
}

/** Page-aligned offsets let onnxruntime map each tensor straight from the file. */
const EXTERNAL_ALIGNMENT = 4096;

/**
 * Accumulates nodes, initializers and graph inputs/outputs with generated unique names.
 * Integer attributes are plain numbers; float attributes are written `{ float: x }`.
 */
export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: TensorSpec[] = [];
  private readonly inputs: ValueInfoSpec[] = [];
  private readonly outputs: ValueInfoSpec[] = [];
  private readonly used = new Set<string>();
  private counter = 0;
  private usesMsDomain = false;

  constructor(private readonly name: string) {}

  /** A fresh value name based on `hint`. */
  fresh(hint: string): string {
    let n = hint;
    while (this.used.has(n)) n = `${hint}_${++this.counter}`;
    this.used.add(n);
    return n;
  }

  input(name: string, dtype: OnnxDtype, dims: DimSpec[]): string {
    this.used.add(name);
    this.inputs.push({ name, dtype, dims });
    return name;
  }

  output(name: string, dtype: OnnxDtype, dims: DimSpec[]): void {
    this.outputs.push({ name, dtype, dims });
  }

  /** Adds a float32 initializer; the array is referenced, not copied, until `toBytes`. */
  float(hint: string, data: Float32Array, dims: readonly number[]): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dtype: ONNX_DTYPE.FLOAT, dims: [...dims], raw: bytesOf(data) });
    return name;
  }

  /**
   * Adds a float32 initializer of `dims` whose values `fill` writes at serialization time
   * (e.g. a transposed weight), so the builder holds no copy of it.
   */
  floatDeferred(hint: string, dims: readonly number[], fill: (dst: Float32Array) => void): string {
    const name = this.fresh(hint);
    const count = dims.reduce((a, b) => a * b, 1);
    this.initializers.push({ name, dtype: ONNX_DTYPE.FLOAT, dims: [...dims], raw: deferredFloats(count, fill) });
    return name;
  }

  /**
   * Adds an int8 initializer of `dims` whose values `fill` writes at serialization time (quantized
   * weights are produced straight into the model buffer, never held twice). `dtype` UINT8 types
   * the same bytes as uint8 (bench/graph-probe.ts compares that kernel).
   */
  int8Deferred(hint: string, dims: readonly number[], fill: (dst: Int8Array) => void, dtype: typeof ONNX_DTYPE.INT8 | typeof ONNX_DTYPE.UINT8 = ONNX_DTYPE.INT8): string {
    const name = this.fresh(hint);
    const count = dims.reduce((a, b) => a * b, 1);
    const raw: DeferredBytes = {
      byteLength: count,
      write: (dst) => fill(new Int8Array(dst.buffer, dst.byteOffset, count)),
    };
    this.initializers.push({ name, dtype, dims: [...dims], raw });
    return name;
  }

  int64(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh(hint);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name, dtype: ONNX_DTYPE.INT64, dims: [...dims], raw: bytesOf(data) });
    return name;
  }

  scalarFloat(hint: string, value: number): string {
    return this.float(hint, Float32Array.of(value), []);
  }

  /** Adds a node and returns its output names (one per `outputs` hint). */
  nodeN(opType: string, inputs: string[], outputHints: string[], attrs: Record<string, AttrInput> = {}, domain?: string): string[] {
    const outputs = outputHints.map((h) => (h === '' ? '' : this.fresh(h)));
    if (domain === MS_DOMAIN) this.usesMsDomain = true;
    this.nodes.push({
      opType,
      inputs,
      outputs,
      name: this.fresh(`${opType}_node`),
      attributes: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
      ...(domain ? { domain } : {}),
    });
    return outputs;
  }

  /** Adds a single-output node. */
  node(opType: string, inputs: string[], outputHint: string, attrs: Record<string, AttrInput> = {}, domain?: string): string {
    return this.nodeN(opType, inputs, [outputHint], attrs, domain)[0]!;
  }

  /**
   * A boolean scalar input, a flag: the runtime (OnnxSession) feeds it false unless a run sets it.
   * (An initializer of the same name, ONNX's input default, would not do: the JavaScript bindings
   * of onnxruntime pass only the inputs they list, and they do not list those.)
   */
  flagInput(name: string): string {
    return this.input(name, ONNX_DTYPE.BOOL, []);
  }

  /**
   * `If(cond)`: `then` and `otherwise` build the two branches, each with its own builder (nodes
   * only; they read this graph's values by name) and each returning one value per entry of
   * `dtypes`; the If's outputs are named from `hints`. Only the branch taken runs.
   */
  ifElse(cond: string, hints: string[], dtypes: OnnxDtype[], then: (branch: GraphBuilder) => string[], otherwise: (branch: GraphBuilder) => string[]): string[] {
    const branchOf = (label: string, build: (branch: GraphBuilder) => string[]) => {
      const branch = new GraphBuilder(`${hints[0]}_${label}`);
      // Branch values must not shadow this graph's names: they share the set of used names.
      for (const n of this.used) branch.used.add(n);
      const results = build(branch).map((r, i) => branch.node('Identity', [r], `${hints[i]}_${label}_out`));
      for (const n of branch.used) this.used.add(n);
      if (branch.usesMsDomain) this.usesMsDomain = true;
      return { name: `${hints[0]}_${label}`, nodes: branch.nodes, initializers: branch.initializers, inputs: [], outputs: results.map((name, i) => ({ name, dtype: dtypes[i]!, dims: null })) };
    };
    const thenGraph = branchOf('then', then);
    const elseGraph = branchOf('else', otherwise);
    const outputs = hints.map((h) => this.fresh(h));
    this.nodes.push({
      opType: 'If',
      inputs: [cond],
      outputs,
      name: this.fresh('If_node'),
      attributes: [
        { name: 'then_branch', value: { kind: 'graph', v: thenGraph } },
        { name: 'else_branch', value: { kind: 'graph', v: elseGraph } },
      ],
    });
    return outputs;
  }

  /** An empty int64 tensor of shape [0, 0], as a Constant node's output. */
  emptyInt64(hint: string): string {
    const out = this.fresh(hint);
    const value: TensorSpec = { name: `${out}_value`, dtype: ONNX_DTYPE.INT64, dims: [0, 0], raw: new Uint8Array(0) };
    this.nodes.push({ opType: 'Constant', inputs: [], outputs: [out], name: this.fresh('Constant_node'), attributes: [{ name: 'value', value: { kind: 'tensor', v: value } }] });
    return out;
  }

  /** Adds an Identity so that an internal value leaves the graph under a chosen name. */
  exposeAs(value: string, name: string, dtype: OnnxDtype, dims: DimSpec[]): void {
    if (this.used.has(name)) throw new Error(`graph builder: output name ${name} is already taken`);
    this.used.add(name);
    this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], name: this.fresh('Identity_node') });
    this.output(name, dtype, dims);
  }

  private encode(initializers: TensorSpec[]): Uint8Array {
    const opsets: Record<string, number> = { '': AI_ONNX_OPSET };
    if (this.usesMsDomain) opsets[MS_DOMAIN] = 1;
    return encodeModel({
      graph: { name: this.name, nodes: this.nodes, initializers, inputs: this.inputs, outputs: this.outputs },
      opsets,
      irVersion: IR_VERSION,
      producerName: 'sparse-encoder',
      producerVersion: '0.1.0',
    });
  }

  /** The whole model, weights inline, as one ModelProto (must stay under protobuf's 2 GB). */
  toBytes(): Uint8Array {
    return this.encode(this.initializers);
  }

  /** Total bytes of all initializers. */
  get initializerBytes(): number {
    return this.initializers.reduce((a, t) => a + t.raw.byteLength, 0);
  }

  /**
   * The model with every initializer of at least `minBytes` moved to an external data file
   * named `location`, each at a page-aligned offset.
   */
  toExternal(location: string, minBytes = 4096): ExternalDataModel {
    let offset = 0;
    const external: Array<{ offset: number; raw: Uint8Array | DeferredBytes }> = [];
    const specs = this.initializers.map((t): TensorSpec => {
      if (t.raw.byteLength < minBytes) return t;
      offset = Math.ceil(offset / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
      external.push({ offset, raw: t.raw });
      const spec = { ...t, external: { location, offset, length: t.raw.byteLength } };
      offset += t.raw.byteLength;
      return spec;
    });
    return {
      model: this.encode(specs),
      location,
      dataByteLength: offset,
      *dataChunks(): Iterable<Uint8Array> {
        let at = 0;
        for (const e of external) {
          if (e.offset > at) yield new Uint8Array(e.offset - at);
          if (e.raw instanceof Uint8Array) yield e.raw;
          else {
            const buf = new Uint8Array(e.raw.byteLength);
            e.raw.write(buf);
            yield buf;
          }
          at = e.offset + e.raw.byteLength;
        }
      },
    };
  }
}
