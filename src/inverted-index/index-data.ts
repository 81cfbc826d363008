import { SparseEncoderError } from '../errors.js';
import type { DocumentCollector } from './collector.js';
import { halfTable, toHalf } from './half.js';
import type { OpenedFile, SectionArray } from './file-format.js';
import type { WeightStorage } from './types.js';

/**
 * The in-memory (and on-disk) layout. Documents sit at storage positions (grouped by the
 * clustering); `docOrdinal` maps a position to its insertion ordinal, which ids, fields,
 * tombstones and tie-breaking use.
 *
 * Terms come in two kinds. A "short" term (fewer than numRanges / 4 postings) stores plain
 * postings: u32 position + weight, sorted by position. A "long" term stores, per range of
 * `rangeSize` consecutive positions, where its postings start and an 8-bit upper bound of its
 * weights there (the block-max); each posting is then a u8 offset inside the range + weight.
 */
export interface IndexData {
  dim: number;
  numDocs: number;
  quantize: WeightStorage;
  rangeSize: number;
  rangeShift: number;
  numRanges: number;
  reordered: boolean;
  docOrdinal: Uint32Array;
  /** Tombstones by ordinal (1 = deleted). */
  deleted: Uint8Array;
  idOffsets: Uint32Array;
  idBytes: Uint8Array;
  fieldOffsets: Uint32Array | null;
  fieldBytes: Uint8Array | null;
  /** u8: dequantization scale (weight = code × scale). All: the unit of the 8-bit range bounds. */
  termScale: Float32Array;
  /** Largest stored weight of each term. */
  termMax: Float32Array;
  shortStart: Uint32Array;
  shortDocs: Uint32Array;
  shortWeights: Uint8Array | Uint16Array | Float32Array;
  longTerms: Uint32Array;
  longRangeStart: Uint32Array;
  longRangeMax: Uint8Array;
  /** Bound per super-range (2^SUPER_SHIFT consecutive ranges): the max of its ranges' bounds. */
  longSuperMax: Uint8Array;
  numSuper: number;
  longLow: Uint8Array;
  longWeights: Uint8Array | Uint16Array | Float32Array;
  /** term → slot in the long arrays, or -1 (derived, not stored). */
  longSlot: Int32Array;
}

export const RANGE_SIZES = [32, 64, 128, 256];
/** 16 ranges per super-range: the first level of block-max pruning. */
export const SUPER_SHIFT = 4;

function superMaxOf(rangeMax: Uint8Array, numLong: number, numRanges: number, numSuper: number): Uint8Array {
  const out = new Uint8Array(numLong * numSuper);
  for (let s = 0; s < numLong; s++) {
    for (let r = 0; r < numRanges; r++) {
      const v = rangeMax[s * numRanges + r]!;
      const at = s * numSuper + (r >>> SUPER_SHIFT);
      if (v > out[at]!) out[at] = v;
    }
  }
  return out;
}

function storedValue(quantize: WeightStorage, w: number, scale: number): number {
  if (quantize === 'u8') return Math.min(255, Math.max(1, Math.round(w / scale)));
  // A positive weight never becomes 0 (scores and "matched" tests rely on it): smallest subnormal instead.
  if (quantize === 'f16') return toHalf(w) || 1;
  return w;
}

/** Builds the layout from collected documents. `order` maps storage position → ordinal. */
export function buildIndexData(
  c: DocumentCollector,
  settings: { quantize: WeightStorage; rangeSize: number; order: Uint32Array | null },
): IndexData {
  const dim = c.dim ?? 0;
  const n = c.count;
  const { quantize, rangeSize } = settings;
  const shift = Math.log2(rangeSize);
  const numRanges = Math.ceil(n / rangeSize);
  const order = settings.order ?? identity(n);
  const { starts, terms, values } = c;

  const df = new Uint32Array(dim);
  const rawMax = new Float32Array(dim);
  for (let i = 0; i < c.nnz; i++) {
    const t = terms[i]!;
    df[t]!++;
    if (values[i]! > rawMax[t]!) rawMax[t] = values[i]!;
  }
  // Scales. u8 codes are exact in code units; for f16/f32 the bound unit is padded so that
  // 255 units cover the largest stored value.
  const termScale = new Float32Array(dim);
  const termMax = new Float32Array(dim);
  const half = halfTable();
  for (let t = 0; t < dim; t++) {
    const m = rawMax[t]!;
    if (m === 0) continue;
    if (quantize === 'u8') {
      termScale[t] = m / 255;
      termMax[t] = 255 * termScale[t]!;
    } else {
      const stored = quantize === 'f16' ? half[toHalf(m)]! : m;
      termMax[t] = stored;
      termScale[t] = (stored / 255) * (1 + 1e-6);
      while (termScale[t]! * 255 < stored) termScale[t] = termScale[t]! * (1 + 1e-6);
    }
  }
  // A long term costs 5 bytes per range (start + bound) and saves 3 per posting (u8 offset instead
  // of u32 position); below a quarter of the ranges its table outweighs its postings, but
  // mid-frequency terms are what pruning needs to skip (measured: 1M synthetic documents,
  // 4.9 bytes/posting in all, 5× fewer postings always scored than with a 2× threshold).
  const longMin = Math.max(2, Math.ceil(numRanges / 4));
  const longSlot = new Int32Array(dim).fill(-1);
  const longList: number[] = [];
  for (let t = 0; t < dim; t++) {
    if (df[t]! >= longMin) {
      longSlot[t] = longList.length;
      longList.push(t);
    }
  }
  const numLong = longList.length;
  const stride = numRanges + 1;
  if (numLong * stride > 2 ** 31) throw new SparseEncoderError('ERR_INVALID_INPUT', 'corpus too large for this index layout (range table exceeds 2^31 entries)');
  if (numRanges >= 2 ** 22) throw new SparseEncoderError('ERR_INVALID_INPUT', `corpus too large: ${numRanges} ranges (at most 2^22; use a larger rangeSize)`);
  if (c.nnz >= 2 ** 32) throw new SparseEncoderError('ERR_INVALID_INPUT', 'corpus too large: more than 2^32 postings');

  const shortStart = new Uint32Array(dim + 1);
  for (let t = 0; t < dim; t++) shortStart[t + 1] = shortStart[t]! + (longSlot[t]! < 0 ? df[t]! : 0);
  const numShort = shortStart[dim]!;
  const longRangeStart = new Uint32Array(numLong * stride);
  // Pass 1: count long postings per (term, range).
  for (let p = 0; p < n; p++) {
    const o = order[p]!;
    const r = p >>> shift;
    for (let i = starts[o]!, e = starts[o + 1]!; i < e; i++) {
      const s = longSlot[terms[i]!]!;
      if (s >= 0) longRangeStart[s * stride + r + 1]!++;
    }
  }
  let base = 0;
  for (let s = 0; s < numLong; s++) {
    const row = s * stride;
    longRangeStart[row] = base;
    for (let r = 1; r <= numRanges; r++) longRangeStart[row + r] = longRangeStart[row + r]! + longRangeStart[row + r - 1]!;
    base = longRangeStart[row + numRanges]!;
  }
  const numLongPostings = base;
  const makeWeights = (len: number): Uint8Array | Uint16Array | Float32Array =>
    quantize === 'u8' ? new Uint8Array(len) : quantize === 'f16' ? new Uint16Array(len) : new Float32Array(len);
  const shortDocs = new Uint32Array(numShort);
  const shortWeights = makeWeights(numShort);
  const longLow = new Uint8Array(numLongPostings);
  const longWeights = makeWeights(numLongPostings);
  const longRangeMax = new Uint8Array(numLong * numRanges);
  const shortCursor = shortStart.slice(0, dim);
  const longCursor = longRangeStart.slice();
  // Pass 2: fill, in position order, so every list comes out sorted by position.
  for (let p = 0; p < n; p++) {
    const o = order[p]!;
    const r = p >>> shift;
    const low = p & (rangeSize - 1);
    for (let i = starts[o]!, e = starts[o + 1]!; i < e; i++) {
      const t = terms[i]!;
      const scale = termScale[t]!;
      const v = storedValue(quantize, values[i]!, scale);
      const s = longSlot[t]!;
      if (s < 0) {
        const at = shortCursor[t]!++;
        shortDocs[at] = p;
        shortWeights[at] = v;
      } else {
        const at = longCursor[s * stride + r]!++;
        longLow[at] = low;
        longWeights[at] = v;
        const dequant = quantize === 'u8' ? v : quantize === 'f16' ? half[v]! : Math.fround(v);
        let code = quantize === 'u8' ? v : Math.ceil(dequant / scale);
        if (quantize !== 'u8') {
          while (code * scale < dequant) code++;
          if (code > 255) code = 255;
        }
        const m = s * numRanges + r;
        if (code > longRangeMax[m]!) longRangeMax[m] = code;
      }
    }
  }
  // Ids and fields by ordinal.
  const enc = new TextEncoder();
  const idParts = c.ids.map((id) => enc.encode(id));
  const { offsets: idOffsets, bytes: idBytes } = concat(idParts, 'ids');
  let fieldOffsets: Uint32Array | null = null;
  let fieldBytes: Uint8Array | null = null;
  if (c.hasFields) {
    const f = concat(c.fields.map((s) => (s === null ? new Uint8Array(0) : enc.encode(s))), 'stored fields');
    fieldOffsets = f.offsets;
    fieldBytes = f.bytes;
  }
  return {
    dim,
    numDocs: n,
    quantize,
    rangeSize,
    rangeShift: shift,
    numRanges,
    reordered: settings.order !== null,
    docOrdinal: order,
    deleted: new Uint8Array(n),
    idOffsets,
    idBytes,
    fieldOffsets,
    fieldBytes,
    termScale,
    termMax,
    shortStart,
    shortDocs,
    shortWeights,
    longTerms: Uint32Array.from(longList),
    longRangeStart,
    longRangeMax,
    longSuperMax: superMaxOf(longRangeMax, numLong, numRanges, Math.ceil(numRanges / (1 << SUPER_SHIFT))),
    numSuper: Math.ceil(numRanges / (1 << SUPER_SHIFT)),
    longLow,
    longWeights,
    longSlot,
  };
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

function concat(parts: Uint8Array[], what: string): { offsets: Uint32Array; bytes: Uint8Array } {
  const offsets = new Uint32Array(parts.length + 1);
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    total += parts[i]!.length;
    if (total >= 2 ** 32) throw new SparseEncoderError('ERR_INVALID_INPUT', `${what} exceed 4 GiB`);
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, offsets[i]!);
  return { offsets, bytes };
}

/** Settings and counts for the file header. */
export function headerMeta(d: IndexData): { settings: Record<string, unknown>; counts: Record<string, number> } {
  let live = 0;
  for (let i = 0; i < d.numDocs; i++) if (d.deleted[i] === 0) live++;
  return {
    settings: { quantize: d.quantize, range_size: d.rangeSize, ranges_per_super_range: 1 << SUPER_SHIFT, reordered: d.reordered },
    counts: {
      dim: d.dim,
      documents: d.numDocs,
      live_documents: live,
      postings: d.shortDocs.length + d.longLow.length,
      short_postings: d.shortDocs.length,
      long_postings: d.longLow.length,
      long_terms: d.longTerms.length,
      ranges: d.numRanges,
    },
  };
}

export function toSections(d: IndexData): Record<string, SectionArray> {
  const s: Record<string, SectionArray> = {
    doc_ordinal: d.docOrdinal,
    deleted: d.deleted,
    id_offsets: d.idOffsets,
    id_bytes: d.idBytes,
    term_scale: d.termScale,
    term_max: d.termMax,
    short_start: d.shortStart,
    short_docs: d.shortDocs,
    short_weights: d.shortWeights,
    long_terms: d.longTerms,
    long_range_start: d.longRangeStart,
    long_range_max: d.longRangeMax,
    long_super_max: d.longSuperMax,
    long_low: d.longLow,
    long_weights: d.longWeights,
  };
  if (d.fieldOffsets && d.fieldBytes) {
    s.field_offsets = d.fieldOffsets;
    s.field_bytes = d.fieldBytes;
  }
  return s;
}

/** Views the sections of an opened file and checks that their sizes agree with each other. */
export function fromFile(f: OpenedFile, path: string): IndexData {
  const corrupt = (msg: string): never => {
    throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: ${msg}`, { details: { path } });
  };
  const { settings, counts } = f.header;
  const quantize = settings?.quantize as WeightStorage;
  const rangeSize = settings?.range_size as number;
  if (!['u8', 'f16', 'f32'].includes(quantize)) corrupt(`unknown weight storage '${String(quantize)}'`);
  if (!RANGE_SIZES.includes(rangeSize)) corrupt(`invalid range size ${rangeSize}`);
  if (settings.ranges_per_super_range !== 1 << SUPER_SHIFT) corrupt(`unsupported super-range size ${String(settings.ranges_per_super_range)}`);
  const dim = counts?.dim;
  const n = counts?.documents;
  const numLong = counts?.long_terms;
  if (![dim, n, numLong].every((x) => Number.isInteger(x) && (x as number) >= 0)) corrupt('invalid counts in header');
  const numRanges = Math.ceil(n! / rangeSize);
  const numSuper = Math.ceil(numRanges / (1 << SUPER_SHIFT));
  const wType = quantize === 'u8' ? 'u8' : quantize === 'f16' ? 'u16' : 'f32';
  const shortStart = f.section('short_start', 'u32', dim! + 1) as Uint32Array;
  const numShort = shortStart[dim!]!;
  const longRangeStart = f.section('long_range_start', 'u32', numLong! * (numRanges + 1)) as Uint32Array;
  const numLongPostings = numLong! > 0 ? longRangeStart[numLong! * (numRanges + 1) - 1]! : 0;
  const idOffsets = f.section('id_offsets', 'u32', n! + 1) as Uint32Array;
  const idBytes = f.section('id_bytes', 'u8', idOffsets[n!]) as Uint8Array;
  const hasFields = f.has('field_offsets');
  const fieldOffsets = hasFields ? (f.section('field_offsets', 'u32', n! + 1) as Uint32Array) : null;
  const fieldBytes = fieldOffsets ? (f.section('field_bytes', 'u8', fieldOffsets[n!]) as Uint8Array) : null;
  const longTerms = f.section('long_terms', 'u32', numLong) as Uint32Array;
  const longSlot = new Int32Array(dim!).fill(-1);
  for (let s = 0; s < numLong!; s++) {
    const t = longTerms[s]!;
    if (t >= dim! || (s > 0 && t <= longTerms[s - 1]!)) corrupt('long term list is not ascending within the vocabulary');
    longSlot[t] = s;
  }
  for (let t = 0; t < dim!; t++) if (shortStart[t + 1]! < shortStart[t]!) corrupt(`short posting offsets decrease at term ${t}`);
  const docOrdinal = f.section('doc_ordinal', 'u32', n) as Uint32Array;
  const d: IndexData = {
    dim: dim!,
    numDocs: n!,
    quantize,
    rangeSize,
    rangeShift: Math.log2(rangeSize),
    numRanges,
    reordered: settings.reordered === true,
    docOrdinal,
    deleted: f.section('deleted', 'u8', n) as Uint8Array,
    idOffsets,
    idBytes,
    fieldOffsets,
    fieldBytes,
    termScale: f.section('term_scale', 'f32', dim) as Float32Array,
    termMax: f.section('term_max', 'f32', dim) as Float32Array,
    shortStart,
    shortDocs: f.section('short_docs', 'u32', numShort) as Uint32Array,
    shortWeights: f.section('short_weights', wType, numShort) as Uint8Array | Uint16Array | Float32Array,
    longTerms,
    longRangeStart,
    longRangeMax: f.section('long_range_max', 'u8', numLong! * numRanges) as Uint8Array,
    longSuperMax: f.section('long_super_max', 'u8', numLong! * numSuper) as Uint8Array,
    numSuper,
    longLow: f.section('long_low', 'u8', numLongPostings) as Uint8Array,
    longWeights: f.section('long_weights', wType, numLongPostings) as Uint8Array | Uint16Array | Float32Array,
    longSlot,
  };
  return d;
}

/**
 * Rebuilds every document's stored (dequantized) vector, by ordinal: used by `add` and `compact`,
 * which rebuild the index.
 */
export function extractVectors(d: IndexData): { starts: Float64Array; terms: Uint32Array; values: Float32Array } {
  const n = d.numDocs;
  const counts = new Float64Array(n + 1);
  const posOf = d.docOrdinal;
  for (let i = 0; i < d.shortDocs.length; i++) counts[posOf[d.shortDocs[i]!]! + 1]!++;
  const stride = d.numRanges + 1;
  for (let s = 0; s < d.longTerms.length; s++) {
    for (let r = 0; r < d.numRanges; r++) {
      const base = r << d.rangeShift;
      for (let i = d.longRangeStart[s * stride + r]!, e = d.longRangeStart[s * stride + r + 1]!; i < e; i++) {
        counts[posOf[base + d.longLow[i]!]! + 1]!++;
      }
    }
  }
  for (let i = 0; i < n; i++) counts[i + 1] = counts[i + 1]! + counts[i]!;
  const total = counts[n]!;
  const terms = new Uint32Array(total);
  const values = new Float32Array(total);
  const cursor = counts.slice(0, n);
  const value = weightReader(d);
  // Terms in ascending order, so every rebuilt vector is sorted.
  for (let t = 0; t < d.dim; t++) {
    const s = d.longSlot[t]!;
    if (s < 0) {
      for (let i = d.shortStart[t]!, e = d.shortStart[t + 1]!; i < e; i++) {
        const at = cursor[posOf[d.shortDocs[i]!]!]!++;
        terms[at] = t;
        values[at] = value(d.shortWeights, i, t);
      }
    } else {
      for (let r = 0; r < d.numRanges; r++) {
        const base = r << d.rangeShift;
        for (let i = d.longRangeStart[s * stride + r]!, e = d.longRangeStart[s * stride + r + 1]!; i < e; i++) {
          const at = cursor[posOf[base + d.longLow[i]!]!]!++;
          terms[at] = t;
          values[at] = value(d.longWeights, i, t);
        }
      }
    }
  }
  return { starts: counts, terms, values };
}

/** The stored weight of posting `i` of term `t`, as a float. */
export function weightReader(d: IndexData): (w: Uint8Array | Uint16Array | Float32Array, i: number, t: number) => number {
  if (d.quantize === 'u8') return (w, i, t) => w[i]! * d.termScale[t]!;
  if (d.quantize === 'f16') {
    const h = halfTable();
    return (w, i) => h[w[i]!]!;
  }
  return (w, i) => w[i]!;
}
