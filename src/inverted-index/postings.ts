import { halfTable } from './half.js';

/** Weights as the kernels read them: u8 codes, or floats (f16 is widened to f32 once). */
export type Weights = Uint8Array | Float32Array;
/** Weights as stored in the file. */
export type StoredWeights = Uint8Array | Uint16Array | Float32Array;

/** A short term's postings: positions ascending, `docs[i]`/`weights[i]` for i in [begin, end). */
export interface ShortList {
  docs: Uint32Array;
  weights: Weights;
  begin: number;
  end: number;
}

/**
 * A long term's range table and postings. `starts` has numRanges + 1 entries (offsets as stored,
 * shared by every long term); posting i of the table lives at `low[i - base]` / `weights[i - base]`.
 */
export interface LongList {
  starts: Uint32Array;
  base: number;
  /** 8-bit weight bound per range and per super-range. */
  rangeMax: Uint8Array;
  superMax: Uint8Array;
  low: Uint8Array;
  weights: Weights;
}

/**
 * Where the kernels get posting lists: views of arrays in memory (`MemoryPostings`) or lists
 * read from the file on demand through a bounded cache (`FilePostings`).
 */
export interface PostingStore {
  short(t: number): ShortList;
  long(slot: number): LongList;
}

/** Every posting array of one index, as built or as viewed in a file read whole. */
export interface PostingArrays {
  shortDocs: Uint32Array;
  shortWeights: StoredWeights;
  longRangeStart: Uint32Array;
  longRangeMax: Uint8Array;
  longSuperMax: Uint8Array;
  longLow: Uint8Array;
  longWeights: StoredWeights;
}

export function widen(w: StoredWeights): Weights {
  if (!(w instanceof Uint16Array)) return w;
  const h = halfTable();
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = h[w[i]!]!;
  return out;
}

/** Zero-copy lists over in-memory arrays; f16 weights are widened on first use. */
export class MemoryPostings implements PostingStore {
  private shortW: Weights | undefined;
  private longW: Weights | undefined;
  private readonly longLists: Array<LongList | undefined>;

  constructor(
    readonly arrays: PostingArrays,
    private readonly shortStart: Uint32Array,
    private readonly numRanges: number,
    private readonly numSuper: number,
    numLong: number,
  ) {
    this.longLists = new Array<LongList | undefined>(numLong);
  }

  short(t: number): ShortList {
    this.shortW ??= widen(this.arrays.shortWeights);
    return { docs: this.arrays.shortDocs, weights: this.shortW, begin: this.shortStart[t]!, end: this.shortStart[t + 1]! };
  }

  long(slot: number): LongList {
    const cached = this.longLists[slot];
    if (cached) return cached;
    this.longW ??= widen(this.arrays.longWeights);
    const a = this.arrays;
    const nr = this.numRanges;
    const list: LongList = {
      starts: a.longRangeStart.subarray(slot * (nr + 1), (slot + 1) * (nr + 1)),
      base: 0,
      rangeMax: a.longRangeMax.subarray(slot * nr, (slot + 1) * nr),
      superMax: a.longSuperMax.subarray(slot * this.numSuper, (slot + 1) * this.numSuper),
      low: a.longLow,
      weights: this.longW,
    };
    this.longLists[slot] = list;
    return list;
  }
}

/** Stored strings by ordinal (ids, stored-field JSON): in memory or read from the file. */
export interface StringStore {
  get(ord: number): string;
  /** Every string in ordinal order (one pass, no per-string reads). */
  each(fn: (ord: number, s: string) => void): void;
}

export class MemoryStrings implements StringStore {
  private readonly decoder = new TextDecoder();
  constructor(
    readonly offsets: Uint32Array,
    readonly bytes: Uint8Array,
  ) {}

  get(ord: number): string {
    return this.decoder.decode(this.bytes.subarray(this.offsets[ord]!, this.offsets[ord + 1]!));
  }

  each(fn: (ord: number, s: string) => void): void {
    for (let i = 0; i + 1 < this.offsets.length; i++) fn(i, this.get(i));
  }
}
