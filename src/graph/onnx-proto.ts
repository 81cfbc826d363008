/**
 * A minimal protobuf writer for the parts of onnx.proto we emit (ModelProto, GraphProto,
 * NodeProto, TensorProto with raw_data, ValueInfoProto, AttributeProto). Field numbers follow
 * onnx/onnx.proto (IR version 8).
 *
 * Messages are kept as lists of byte chunks and concatenated once at the end, so that a
 * large raw_data payload (a 90 MB embedding matrix) is copied exactly once, into the final buffer.
 */

/** ONNX TensorProto.DataType values we use. */
export const ONNX_DTYPE = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
} as const;
export type OnnxDtype = (typeof ONNX_DTYPE)[keyof typeof ONNX_DTYPE];

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** Bytes produced on demand, written straight into the final buffer (a transposed weight, say). */
export interface DeferredBytes {
  readonly byteLength: number;
  /** Writes exactly `byteLength` bytes into `dst` (whose length is `byteLength`). */
  write(dst: Uint8Array): void;
}

type Chunk = Uint8Array | DeferredBytes;

/** A protobuf message under construction: chunks in order plus their total length. */
export class ProtoMessage {
  private readonly chunks: Chunk[] = [];
  private scratch: number[] = [];
  private size = 0;

  get byteLength(): number {
    return this.size + this.scratch.length;
  }

  private flushScratch(): void {
    if (this.scratch.length > 0) {
      const b = Uint8Array.from(this.scratch);
      this.chunks.push(b);
      this.size += b.length;
      this.scratch = [];
    }
  }

  private pushVarint(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) {
      let v = value;
      while (v >= 0x80) {
        this.scratch.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.scratch.push(v);
      return;
    }
    // Negative int64 values are encoded as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.pushVarint(field * 8 + wire);
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.pushVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.scratch.push(x);
    return this;
  }

  /** A length-delimited field whose payload is kept by reference (not copied until `toBytes`). */
  bytes(field: number, payload: Chunk): this {
    this.tag(field, WIRE_LEN);
    this.pushVarint(payload.byteLength);
    this.flushScratch();
    if (payload.byteLength > 0) {
      this.chunks.push(payload);
      this.size += payload.byteLength;
    }
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, msg: ProtoMessage): this {
    this.tag(field, WIRE_LEN);
    this.pushVarint(msg.byteLength);
    this.flushScratch();
    msg.flushScratch();
    for (const c of msg.chunks) this.chunks.push(c);
    this.size += msg.size;
    return this;
  }

  toBytes(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      if (c instanceof Uint8Array) out.set(c, off);
      else c.write(out.subarray(off, off + c.byteLength));
      off += c.byteLength;
    }
    return out;
  }
}

/** A node attribute; the kind is explicit because a JS number cannot tell INT from FLOAT. */
export interface NodeAttribute {
  name: string;
  value:
    | { kind: 'int'; v: number }
    | { kind: 'float'; v: number }
    | { kind: 'ints'; v: number[] }
    | { kind: 'floats'; v: number[] }
    | { kind: 'string'; v: string }
    | { kind: 'tensor'; v: TensorSpec }
    /** A subgraph (the branches of `If`): it may read values of the enclosing graph by name. */
    | { kind: 'graph'; v: GraphSpec };
}

const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

export function encodeAttribute(a: NodeAttribute): ProtoMessage {
  const m = new ProtoMessage().string(1, a.name);
  const v = a.value;
  switch (v.kind) {
    case 'float':
      m.float(2, v.v).varint(20, ATTR_TYPE.FLOAT);
      break;
    case 'int':
      m.varint(3, v.v).varint(20, ATTR_TYPE.INT);
      break;
    case 'string':
      m.string(4, v.v).varint(20, ATTR_TYPE.STRING);
      break;
    case 'floats':
      for (const x of v.v) m.float(7, x);
      m.varint(20, ATTR_TYPE.FLOATS);
      break;
    case 'ints':
      for (const x of v.v) m.varint(8, x);
      m.varint(20, ATTR_TYPE.INTS);
      break;
    case 'tensor':
      m.message(5, encodeTensor(v.v)).varint(20, ATTR_TYPE.TENSOR);
      break;
    case 'graph':
      m.message(6, encodeGraph(v.v)).varint(20, ATTR_TYPE.GRAPH);
      break;
  }
  return m;
}

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attributes?: NodeAttribute[];
}

export function encodeNode(n: NodeSpec): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.opType);
  for (const a of n.attributes ?? []) m.message(5, encodeAttribute(a));
  if (n.domain) m.string(7, n.domain);
  return m;
}

/** Where an initializer's bytes live when they are kept outside the model file. */
export interface ExternalLocation {
  /** File name, relative to the model file's folder. */
  location: string;
  offset: number;
  length: number;
}

export interface TensorSpec {
  name: string;
  dtype: OnnxDtype;
  dims: readonly number[];
  /** Little-endian element bytes (the platform order of typed arrays on every supported CPU). */
  raw: Uint8Array | DeferredBytes;
  /** When set, the bytes are written to an external data file instead of `raw_data`. */
  external?: ExternalLocation;
}

export function encodeTensor(t: TensorSpec): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of t.dims) m.varint(1, d);
  m.varint(2, t.dtype).string(8, t.name);
  if (t.external === undefined) {
    m.bytes(9, t.raw);
  } else {
    const entry = (k: string, v: string) => new ProtoMessage().string(1, k).string(2, v);
    m.message(13, entry('location', t.external.location));
    m.message(13, entry('offset', String(t.external.offset)));
    m.message(13, entry('length', String(t.external.length)));
    m.varint(14, 1); // data_location = EXTERNAL
  }
  return m;
}

/** A dimension is a fixed size or a symbolic name (`batch`, `sequence`). */
export type DimSpec = number | string;

export interface ValueInfoSpec {
  name: string;
  dtype: OnnxDtype;
  /** `null`: shape not stated (a subgraph output whose rank depends on the branch). */
  dims: readonly DimSpec[] | null;
}

export function encodeValueInfo(v: ValueInfoSpec): ProtoMessage {
  const tensorType = new ProtoMessage().varint(1, v.dtype);
  if (v.dims !== null) {
    const shape = new ProtoMessage();
    for (const d of v.dims) {
      const dim = new ProtoMessage();
      if (typeof d === 'number') dim.varint(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const type = new ProtoMessage().message(1, tensorType);
  return new ProtoMessage().string(1, v.name).message(2, type);
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
}

export interface ModelSpec {
  graph: GraphSpec;
  /** domain → opset version; '' is ai.onnx. */
  opsets: Record<string, number>;
  irVersion: number;
  producerName: string;
  producerVersion: string;
}

/** A GraphProto: the model's graph, or a subgraph attribute. */
export function encodeGraph(graph: GraphSpec): ProtoMessage {
  const g = new ProtoMessage();
  for (const n of graph.nodes) g.message(1, encodeNode(n));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, encodeTensor(t));
  for (const i of graph.inputs) g.message(11, encodeValueInfo(i));
  for (const o of graph.outputs) g.message(12, encodeValueInfo(o));
  return g;
}

export function encodeModel(model: ModelSpec): Uint8Array {
  const g = encodeGraph(model.graph);

  const m = new ProtoMessage().varint(1, model.irVersion);
  m.string(2, model.producerName).string(3, model.producerVersion);
  m.message(7, g);
  for (const [domain, version] of Object.entries(model.opsets)) {
    const op = new ProtoMessage();
    if (domain !== '') op.string(1, domain);
    op.varint(2, version);
    m.message(8, op);
  }
  return m.toBytes();
}
