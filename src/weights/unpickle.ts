import { SparseEncoderError } from '../errors.js';

/**
 * A restricted unpickler for PyTorch state dicts. It never calls anything: the few allowed globals
 * are interpreted by hand (OrderedDict → Map, _rebuild_tensor_v2 → a tensor reference), any other
 * global is refused as soon as the GLOBAL/STACK_GLOBAL opcode names it.
 */

/** A global that the pickle named; only the allowed ones are ever created. */
export interface PickleGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

/** A storage persistent id: `('storage', torch.XStorage, key, location, numel)`. */
export interface StorageRef {
  readonly kind: 'storage';
  /** E.g. `FloatStorage`. */
  readonly storageType: string;
  readonly key: string;
  readonly location: string;
  readonly numel: number;
}

/** The result of `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`. */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** Python tuples are frozen JS arrays tagged so they can be told apart from lists. */
export type PickleTuple = readonly unknown[] & { readonly __tuple: true };

const STORAGE_TYPES = new Set(['FloatStorage', 'HalfStorage', 'BFloat16Storage', 'LongStorage']);
const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  // Checkpoints pickled from nn.Parameter objects wrap each tensor in this; it only re-wraps data.
  'torch._utils._rebuild_parameter',
  ...[...STORAGE_TYPES].map((s) => `torch.${s}`),
]);

// Opcodes that would construct or call arbitrary objects: refused even before their global is checked.
const CALLING_OPCODES: Record<number, string> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
};

function tuple(items: unknown[]): PickleTuple {
  return Object.freeze(Object.assign(items, { __tuple: true as const })) as unknown as PickleTuple;
}

export interface UnpickleOptions {
  /** Name used in error messages (e.g. `pytorch_model.bin:archive/data.pkl`). */
  source: string;
}

/** Unpickles `bytes` (protocol 2–5) under the allow-list above and returns the top object. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  const { source } = options;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const corrupt = (msg: string): SparseEncoderError =>
    new SparseEncoderError('ERR_CORRUPT_WEIGHTS', `${source}: pickle ${msg} (at byte ${pos})`, { details: { path: source, offset: pos } });
  const need = (n: number): void => {
    if (pos + n > bytes.byteLength) throw corrupt(`ends unexpectedly while reading ${n} bytes`);
  };
  const u8 = (): number => (need(1), bytes[pos++]!);
  const u16 = (): number => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = (): number => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const i32 = (): number => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.byteLength)) throw corrupt(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw corrupt('GLOBAL operand is not newline-terminated');
    const s = utf8.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length <= (marks.length > 0 ? marks[marks.length - 1]! : 0)) throw corrupt('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length <= (marks.length > 0 ? marks[marks.length - 1]! : 0)) throw corrupt('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw corrupt('MARK expected');
    return stack.splice(m);
  };
  const makeGlobal = (module: string, name: string): PickleGlobal => {
    const full = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(full)) {
      throw new SparseEncoderError(
        'ERR_FORBIDDEN_PICKLE',
        `${source}: the pickle references the global ${full}, which is not allowed in a weights file (only state-dict globals are: ${[...ALLOWED_GLOBALS].join(', ')})`,
        { details: { path: source, global: full } },
      );
    }
    return { kind: 'global', module, name };
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof Map)) throw corrupt('SETITEM(S) on something that is not a dict');
    if (kv.length % 2 !== 0) throw corrupt('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) throw corrupt('APPEND(S) on something that is not a list');
    target.push(...items);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw corrupt('protocol above 5');
        break;
      case 0x95: // FRAME: framing is only a buffering hint
        u64();
        break;
      case 0x63: // GLOBAL
        stack.push(makeGlobal(line(), line()));
        break;
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw corrupt('STACK_GLOBAL operands are not strings');
        stack.push(makeGlobal(module, name));
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw corrupt(`memo key ${k} not defined`);
        stack.push(memo.get(k));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x54: // BINSTRING (protocol 1 str, Python 2 checkpoints)
        stack.push(new TextDecoder('latin1').decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(new TextDecoder('latin1').decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const n = op === 0x8a ? u8() : u32();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw corrupt(`integer ${v} out of range`);
        stack.push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x74: // TUPLE
        stack.push(tuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop(), corrupt));
        break;
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args, corrupt));
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x62: // BUILD: object state (e.g. a state dict's `_metadata`) carries no weights; dropped.
        pop();
        top();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) throw corrupt(`STOP with ${stack.length} objects on the stack`);
        return stack[0];
      default: {
        const calling = CALLING_OPCODES[op];
        pos = at;
        if (calling !== undefined) {
          throw new SparseEncoderError('ERR_FORBIDDEN_PICKLE', `${source}: the pickle uses opcode ${calling}, which can construct arbitrary objects; refused`, {
            details: { path: source, opcode: calling },
          });
        }
        throw corrupt(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }
}

function isGlobal(x: unknown, full: string): x is PickleGlobal {
  return typeof x === 'object' && x !== null && (x as PickleGlobal).kind === 'global' && `${(x as PickleGlobal).module}.${(x as PickleGlobal).name}` === full;
}

function isTuple(x: unknown): x is PickleTuple {
  return Array.isArray(x) && (x as unknown as PickleTuple).__tuple === true;
}

const isIntList = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => Number.isSafeInteger(v) && (v as number) >= 0);

function persistentLoad(pid: unknown, corrupt: (m: string) => SparseEncoderError): StorageRef {
  if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') throw corrupt(`unexpected persistent id ${describe(pid)}`);
  const [, type, key, location, numel] = pid;
  const g = type as PickleGlobal;
  if (!(typeof g === 'object' && g !== null && g.kind === 'global' && g.module === 'torch' && STORAGE_TYPES.has(g.name))) {
    throw corrupt(`persistent id names ${describe(type)}, not a torch storage type`);
  }
  if (typeof key !== 'string' || typeof location !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0) {
    throw corrupt(`malformed storage persistent id ${describe(pid)}`);
  }
  return { kind: 'storage', storageType: g.name, key, location, numel: numel as number };
}

function reduce(fn: unknown, args: unknown, corrupt: (m: string) => SparseEncoderError): unknown {
  if (!isTuple(args)) throw corrupt('REDUCE arguments are not a tuple');
  if (isGlobal(fn, 'collections.OrderedDict')) {
    if (args.length !== 0) throw corrupt('OrderedDict called with arguments');
    return new Map();
  }
  if (isGlobal(fn, 'torch._utils._rebuild_tensor_v2')) {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const [storage, offset, size, stride] = args;
    if (typeof storage !== 'object' || storage === null || (storage as StorageRef).kind !== 'storage') {
      throw corrupt('_rebuild_tensor_v2 without a storage');
    }
    if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !isIntList(size) || !isIntList(stride) || size.length !== stride.length) {
      throw corrupt(`_rebuild_tensor_v2 with malformed offset/size/stride ${describe(args.slice(1, 4))}`);
    }
    return { kind: 'tensor', storage: storage as StorageRef, storageOffset: offset as number, shape: [...size], stride: [...stride] } satisfies TensorRef;
  }
  if (isGlobal(fn, 'torch._utils._rebuild_parameter')) {
    const data = args[0];
    if (typeof data !== 'object' || data === null || (data as TensorRef).kind !== 'tensor') throw corrupt('_rebuild_parameter without a tensor');
    return data;
  }
  throw corrupt(`REDUCE on ${describe(fn)}, which is not callable here`);
}

function describe(x: unknown): string {
  if (typeof x === 'object' && x !== null && (x as PickleGlobal).kind === 'global') return `${(x as PickleGlobal).module}.${(x as PickleGlobal).name}`;
  try {
    return JSON.stringify(x)?.slice(0, 200) ?? String(x);
  } catch {
    return String(x);
  }
}
