import { SparseEncoderError } from '../errors.js';
import type { DocumentCollector } from './collector.js';
import { halfTable, toHalf } from './half.js';
import type { FileHeader, OpenedFile, SectionArray } from './index-bytes.js';
import type { WeightStorage } from './types.js';
import { blockSettingsJson, blockSections, readBlocks, type BlockData } from './block-index.js';
import { MemoryPostings, MemoryStrings, type PostingArrays, type PostingStore, type StringStore, type StoredWeights } from './postings.js';

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
  /** Super-ranges: 2^SUPER_SHIFT consecutive ranges, the first level of pruning. */
  numSuper: number;
  reordered: boolean;
  docOrdinal: Uint32Array;
  /** Tombstones by ordinal (1 = deleted). */
  deleted: Uint8Array;
  /** External ids and stored-field JSON by ordinal. */
  ids: StringStore;
  fields: StringStore | null;
  /** u8: dequantization scale (weight = code × scale). All: the unit of the 8-bit range bounds. */
  termScale: Float32Array;
  /** Largest stored weight of each term. */
  termMax: Float32Array;
  shortStart: Uint32Array;
  longTerms: Uint32Array;
  /** term → slot in the long arrays, or -1 (derived, not stored). */
  longSlot: Int32Array;
  numShortPostings: number;
  numLongPostings: number;
  postings: PostingStore;
  /** Every array, when the index is in memory (built, or its file read whole); null when lists are read on demand. */
  memory: MemoryArrays | null;
  /** The block structure of approximate search, when built and in memory. */
  blocks: BlockData | null;
}

export interface MemoryArrays extends PostingArrays {
  idOffsets: Uint32Array;
  idBytes: Uint8Array;
  fieldOffsets: Uint32Array | null;
  fieldBytes: Uint8Array | null;
}

/**
 * The one constructor of IndexData: an object literal with every field in a fixed order, so all
 * indexes share one hidden class and the kernels' property reads stay monomorphic and fast.
 */
export function makeIndexData(f: IndexData): IndexData {
  return {
    dim: f.dim,
    numDocs: f.numDocs,
    quantize: f.quantize,
    rangeSize: f.rangeSize,
    rangeShift: f.rangeShift,
    numRanges: f.numRanges,
    numSuper: f.numSuper,
    reordered: f.reordered,
    docOrdinal: f.docOrdinal,
    deleted: f.deleted,
    ids: f.ids,
    fields: f.fields,
    termScale: f.termScale,
    termMax: f.termMax,
    shortStart: f.shortStart,
    longTerms: f.longTerms,
    longSlot: f.longSlot,
    numShortPostings: f.numShortPostings,
    numLongPostings: f.numLongPostings,
    postings: f.postings,
    memory: f.memory,
    blocks: f.blocks,
  };
}

/** Assembles IndexData around in-memory arrays. */
export function memoryData(
  base: Omit<IndexData, 'ids' | 'fields' | 'postings' | 'memory' | 'numShortPostings' | 'numLongPostings' | 'blocks'>,
  m: MemoryArrays,
  blocks: BlockData | null = null,
): IndexData {
  return makeIndexData({
    ...base,
    blocks,
    ids: new MemoryStrings(m.idOffsets, m.idBytes),
    fields: m.fieldOffsets && m.fieldBytes ? new MemoryStrings(m.fieldOffsets, m.fieldBytes) : null,
    numShortPostings: m.shortDocs.length,
    numLongPostings: m.longLow.length,
    postings: new MemoryPostings(m, base.shortStart, base.numRanges, base.numSuper, base.longTerms.length),
    memory: m,
  });
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

export function storedValue(quantize: WeightStorage, w: number, scale: number): number {
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
  const makeWeights = (len: number): StoredWeights =>
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
  const numSuper = Math.ceil(numRanges / (1 << SUPER_SHIFT));
  const longTerms = Uint32Array.from(longList);
  return memoryData(
    { dim, numDocs: n, quantize, rangeSize, rangeShift: shift, numRanges, numSuper, reordered: settings.order !== null, docOrdinal: order, deleted: new Uint8Array(n), termScale, termMax, shortStart, longTerms, longSlot },
    {
      shortDocs,
      shortWeights,
      longRangeStart,
      longRangeMax,
      longSuperMax: superMaxOf(longRangeMax, numLong, numRanges, numSuper),
      longLow,
      longWeights,
      idOffsets,
      idBytes,
      fieldOffsets,
      fieldBytes,
    },
  );
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
    settings: {
      quantize: d.quantize,
      range_size: d.rangeSize,
      ranges_per_super_range: 1 << SUPER_SHIFT,
      reordered: d.reordered,
      ...(d.blocks ? { blocks: blockSettingsJson(d.blocks.settings) } : {}),
    },
    counts: {
      dim: d.dim,
      documents: d.numDocs,
      live_documents: live,
      postings: d.numShortPostings + d.numLongPostings,
      short_postings: d.numShortPostings,
      long_postings: d.numLongPostings,
      long_terms: d.longTerms.length,
      ranges: d.numRanges,
    },
  };
}

/** The sections to write; the index must be in memory. */
export function toSections(d: IndexData): Record<string, SectionArray> {
  const m = d.memory;
  if (!m) throw new Error('toSections needs an index in memory');
  const s: Record<string, SectionArray> = {
    doc_ordinal: d.docOrdinal,
    deleted: d.deleted,
    id_offsets: m.idOffsets,
    id_bytes: m.idBytes,
    term_scale: d.termScale,
    term_max: d.termMax,
    short_start: d.shortStart,
    short_docs: m.shortDocs,
    short_weights: m.shortWeights,
    long_terms: d.longTerms,
    long_range_start: m.longRangeStart,
    long_range_max: m.longRangeMax,
    long_super_max: m.longSuperMax,
    long_low: m.longLow,
    long_weights: m.longWeights,
  };
  if (m.fieldOffsets && m.fieldBytes) {
    s.field_offsets = m.fieldOffsets;
    s.field_bytes = m.fieldBytes;
  }
  if (d.blocks) Object.assign(s, blockSections(d.blocks));
  return s;
}

/** What an index file's header says, checked: the part of IndexData that does not depend on how postings are read. */
export interface HeaderLayout {
  dim: number;
  numDocs: number;
  quantize: WeightStorage;
  rangeSize: number;
  numRanges: number;
  numSuper: number;
  numLong: number;
  reordered: boolean;
  /** Dtype of the weight sections. */
  weightType: 'u8' | 'u16' | 'f32';
}

export function headerLayout(header: FileHeader, path: string): HeaderLayout {
  const corrupt = (msg: string): never => {
    throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: ${msg}`, { details: { path } });
  };
  const { settings, counts } = header;
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
  return {
    dim: dim!,
    numDocs: n!,
    quantize,
    rangeSize,
    numRanges,
    numSuper: Math.ceil(numRanges / (1 << SUPER_SHIFT)),
    numLong: numLong!,
    reordered: settings.reordered === true,
    weightType: quantize === 'u8' ? 'u8' : quantize === 'f16' ? 'u16' : 'f32',
  };
}

/** The IndexData fields a checked header fixes. */
export function layoutFields(L: HeaderLayout): Pick<IndexData, 'dim' | 'numDocs' | 'quantize' | 'rangeSize' | 'rangeShift' | 'numRanges' | 'numSuper' | 'reordered'> {
  return { dim: L.dim, numDocs: L.numDocs, quantize: L.quantize, rangeSize: L.rangeSize, rangeShift: Math.log2(L.rangeSize), numRanges: L.numRanges, numSuper: L.numSuper, reordered: L.reordered };
}

/** Checks the small tables every open loads (whole file or on demand) and derives the long-term slots. */
export function checkTables(
  layout: HeaderLayout,
  t: { shortStart: Uint32Array; longTerms: Uint32Array; docOrdinal: Uint32Array; termScale: Float32Array; termMax: Float32Array },
  path: string,
): Int32Array {
  const corrupt = (msg: string): never => {
    throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: ${msg}`, { details: { path } });
  };
  const { dim, numDocs } = layout;
  const longSlot = new Int32Array(dim).fill(-1);
  for (let s = 0; s < t.longTerms.length; s++) {
    const term = t.longTerms[s]!;
    if (term >= dim || (s > 0 && term <= t.longTerms[s - 1]!)) corrupt('long term list is not ascending within the vocabulary');
    longSlot[term] = s;
  }
  for (let i = 0; i < dim; i++) if (t.shortStart[i + 1]! < t.shortStart[i]!) corrupt(`short posting offsets decrease at term ${i}`);
  for (let i = 0; i < dim; i++) {
    if (!(t.termScale[i]! >= 0 && t.termScale[i]! < Infinity && t.termMax[i]! >= 0 && t.termMax[i]! < Infinity)) corrupt(`invalid scale or maximum of term ${i}`);
  }
  for (let i = 0; i < numDocs; i++) if (t.docOrdinal[i]! >= numDocs) corrupt(`document position ${i} maps to ordinal ${t.docOrdinal[i]}, beyond ${numDocs} documents`);
  return longSlot;
}

/** Views the sections of an opened file and checks that their sizes agree with each other. */
export function fromFile(f: OpenedFile, path: string): IndexData {
  const L = headerLayout(f.header, path);
  const { dim, numDocs: n, numLong, numRanges, numSuper, weightType: wType } = L;
  const shortStart = f.section('short_start', 'u32', dim + 1) as Uint32Array;
  const numShort = shortStart[dim]!;
  const longRangeStart = f.section('long_range_start', 'u32', numLong * (numRanges + 1)) as Uint32Array;
  const numLongPostings = numLong > 0 ? longRangeStart[numLong * (numRanges + 1) - 1]! : 0;
  const idOffsets = f.section('id_offsets', 'u32', n + 1) as Uint32Array;
  const idBytes = f.section('id_bytes', 'u8', idOffsets[n]) as Uint8Array;
  const hasFields = f.has('field_offsets');
  const fieldOffsets = hasFields ? (f.section('field_offsets', 'u32', n + 1) as Uint32Array) : null;
  const fieldBytes = fieldOffsets ? (f.section('field_bytes', 'u8', fieldOffsets[n]) as Uint8Array) : null;
  const longTerms = f.section('long_terms', 'u32', numLong) as Uint32Array;
  const docOrdinal = f.section('doc_ordinal', 'u32', n) as Uint32Array;
  const termScale = f.section('term_scale', 'f32', dim) as Float32Array;
  const termMax = f.section('term_max', 'f32', dim) as Float32Array;
  const longSlot = checkTables(L, { shortStart, longTerms, docOrdinal, termScale, termMax }, path);
  return memoryData(
    {
      ...layoutFields(L),
      docOrdinal,
      deleted: f.section('deleted', 'u8', n) as Uint8Array,
      termScale,
      termMax,
      shortStart,
      longTerms,
      longSlot,
    },
    {
      shortDocs: f.section('short_docs', 'u32', numShort) as Uint32Array,
      shortWeights: f.section('short_weights', wType, numShort) as StoredWeights,
      longRangeStart,
      longRangeMax: f.section('long_range_max', 'u8', numLong * numRanges) as Uint8Array,
      longSuperMax: f.section('long_super_max', 'u8', numLong * numSuper) as Uint8Array,
      longLow: f.section('long_low', 'u8', numLongPostings) as Uint8Array,
      longWeights: f.section('long_weights', wType, numLongPostings) as StoredWeights,
      idOffsets,
      idBytes,
      fieldOffsets,
      fieldBytes,
    },
    f.header.settings.blocks !== undefined ? readBlocks(f.header.settings.blocks, (name, dtype, length) => f.section(name, dtype, length), L, path) : null,
  );
}

/**
 * Rebuilds every document's stored (dequantized) vector, by ordinal: used by `add`, `compact`
 * and segment merges. Reads each posting list once, in term order (so vectors come out sorted).
 */
export function extractVectors(d: IndexData, postings: PostingStore = d.postings): { starts: Float64Array; terms: Uint32Array; values: Float32Array } {
  const n = d.numDocs;
  const counts = new Float64Array(n + 1);
  const posOf = d.docOrdinal;
  const visit = (t: number, fn: (pos: number, w: number) => void): void => {
    const s = d.longSlot[t]!;
    const scale = d.quantize === 'u8' ? d.termScale[t]! : 1;
    if (s < 0) {
      const l = postings.short(t);
      for (let i = l.begin; i < l.end; i++) fn(l.docs[i]!, l.weights[i]! * scale);
      return;
    }
    const l = postings.long(s);
    for (let r = 0; r < d.numRanges; r++) {
      const base = r << d.rangeShift;
      for (let i = l.starts[r]! - l.base, e = l.starts[r + 1]! - l.base; i < e; i++) fn(base + l.low[i]!, l.weights[i]! * scale);
    }
  };
  for (let t = 0; t < d.dim; t++) if (d.termMax[t] !== 0) visit(t, (pos) => counts[posOf[pos]! + 1]!++);
  for (let i = 0; i < n; i++) counts[i + 1] = counts[i + 1]! + counts[i]!;
  const total = counts[n]!;
  const terms = new Uint32Array(total);
  const values = new Float32Array(total);
  const cursor = counts.slice(0, n);
  for (let t = 0; t < d.dim; t++) {
    if (d.termMax[t] === 0) continue;
    visit(t, (pos, w) => {
      const at = cursor[posOf[pos]!]!++;
      terms[at] = t;
      values[at] = w;
    });
  }
  return { starts: counts, terms, values };
}
