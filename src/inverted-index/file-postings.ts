import { SparseEncoderError } from '../errors.js';
import { BlockCache } from './block-cache.js';
import { IndexFileReader } from './file-format.js';
import type { SectionArray, SectionDtype } from './index-bytes.js';
import { checkTables, headerLayout, layoutFields, makeIndexData, type HeaderLayout, type IndexData } from './index-data.js';
import { MemoryStrings, widen, type LongList, type PostingStore, type ShortList, type StoredWeights, type StringStore } from './postings.js';

/** Largest vocabulary a cache key can address (two key spaces of 2^22 terms per file). */
const MAX_DIM = 2 ** 22;

/**
 * Posting lists read from an index file on demand (positional reads), checked as they are read
 * (a corrupt file is refused with ERR_INDEX_CORRUPT, never read out of bounds or turned into NaN),
 * kept in a shared size-bounded cache.
 */
export class FilePostings implements PostingStore {
  private readonly owner: number;
  private readonly keyBase: number;

  constructor(
    private readonly file: IndexFileReader,
    private readonly layout: HeaderLayout,
    private readonly shortStart: Uint32Array,
    private readonly numLongPostings: number,
    readonly cache: BlockCache,
  ) {
    this.owner = cache.owner();
    this.keyBase = this.owner * 2 ** 23;
  }

  private corrupt(msg: string): never {
    throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${this.file.path}: ${msg}`, { details: { path: this.file.path } });
  }

  private checkWeights(w: StoredWeights, what: string): void {
    if (w instanceof Uint8Array) return;
    if (w instanceof Uint16Array) {
      // Half precision: sign bit set, or exponent all ones (infinity / NaN).
      for (let i = 0; i < w.length; i++) if ((w[i]! & 0x8000) !== 0 || (w[i]! & 0x7c00) === 0x7c00) this.corrupt(`${what}: invalid weight`);
      return;
    }
    for (let i = 0; i < w.length; i++) if (!(w[i]! >= 0 && w[i]! < Infinity)) this.corrupt(`${what}: invalid weight ${w[i]}`);
  }

  /** A positional read of entries [from, from + count) of a section, counted in the cache's readBytes. */
  private read(name: string, dtype: SectionDtype, from: number, count: number): SectionArray {
    const a = this.file.read(name, dtype, undefined, from, count);
    this.cache.readBytes += a.byteLength;
    return a;
  }

  short(t: number): ShortList {
    const key = this.keyBase + t;
    const hit = this.cache.get<ShortList>(key);
    if (hit) return hit;
    const begin = this.shortStart[t]!, count = this.shortStart[t + 1]! - begin;
    const docs = this.read('short_docs', 'u32', begin, count) as Uint32Array;
    const stored = this.read('short_weights', this.layout.weightType, begin, count) as StoredWeights;
    const n = this.layout.numDocs;
    for (let i = 0; i < count; i++) {
      if (docs[i]! >= n || (i > 0 && docs[i]! <= docs[i - 1]!)) this.corrupt(`postings of term ${t} are not ascending positions below ${n}`);
    }
    this.checkWeights(stored, `postings of term ${t}`);
    const weights = widen(stored);
    const list: ShortList = { docs, weights, begin: 0, end: count };
    this.cache.set(key, list, docs.byteLength + weights.byteLength);
    return list;
  }

  long(slot: number): LongList {
    const key = this.keyBase + this.layout.dim + slot;
    const hit = this.cache.get<LongList>(key);
    if (hit) return hit;
    const { numRanges: nr, numSuper: ns, rangeSize, numDocs } = this.layout;
    const starts = this.read('long_range_start', 'u32', slot * (nr + 1), nr + 1) as Uint32Array;
    for (let r = 0; r < nr; r++) if (starts[r + 1]! < starts[r]!) this.corrupt(`range table of long term #${slot} decreases at range ${r}`);
    if (starts[nr]! > this.numLongPostings) this.corrupt(`range table of long term #${slot} points past the postings`);
    const base = starts[0]!;
    const count = starts[nr]! - base;
    const low = this.read('long_low', 'u8', base, count) as Uint8Array;
    const stored = this.read('long_weights', this.layout.weightType, base, count) as StoredWeights;
    const lastRange = (nr - 1) * rangeSize;
    for (let i = 0; i < count; i++) if (low[i]! >= rangeSize) this.corrupt(`long term #${slot}: offset ${low[i]} outside its range`);
    for (let i = starts[nr - 1]! - base; i < count; i++) if (lastRange + low[i]! >= numDocs) this.corrupt(`long term #${slot}: position beyond the last document`);
    this.checkWeights(stored, `postings of long term #${slot}`);
    const weights = widen(stored);
    const list: LongList = {
      starts,
      base,
      rangeMax: this.read('long_range_max', 'u8', slot * nr, nr) as Uint8Array,
      superMax: this.read('long_super_max', 'u8', slot * ns, ns) as Uint8Array,
      low,
      weights,
    };
    this.cache.set(key, list, starts.byteLength + low.byteLength + weights.byteLength + list.rangeMax.byteLength + list.superMax.byteLength);
    return list;
  }

  /** The same lists read without touching the cache (merges read every list once; they should not evict the hot ones). */
  direct(): PostingStore {
    const uncached = new FilePostings(this.file, this.layout, this.shortStart, this.numLongPostings, new BlockCache(0));
    return uncached;
  }

  /** Forgets this file's cached lists (the file is being closed). */
  drop(): void {
    this.cache.dropOwner(this.owner);
  }
}

/** Ids or stored fields read from the file by ordinal (two small positional reads each). */
class FileStrings implements StringStore {
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly file: IndexFileReader,
    private readonly offsets: string,
    private readonly bytes: string,
    private readonly n: number,
    private readonly total: number,
  ) {}

  get(ord: number): string {
    const o = this.file.read(this.offsets, 'u32', this.n + 1, ord, 2) as Uint32Array;
    if (o[1]! < o[0]! || o[1]! > this.total) {
      throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${this.file.path}: '${this.offsets}' is not ascending at ordinal ${ord}`, { details: { path: this.file.path } });
    }
    return this.decoder.decode(this.file.read(this.bytes, 'u8', undefined, o[0]!, o[1]! - o[0]!) as Uint8Array);
  }

  each(fn: (ord: number, s: string) => void): void {
    const offsets = this.file.read(this.offsets, 'u32', this.n + 1) as Uint32Array;
    for (let i = 0; i < this.n; i++) if (offsets[i + 1]! < offsets[i]!) throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${this.file.path}: '${this.offsets}' is not ascending at ordinal ${i}`, { details: { path: this.file.path } });
    new MemoryStrings(offsets, this.file.read(this.bytes, 'u8', this.total) as Uint8Array).each(fn);
  }
}

export interface OpenedOnDemand {
  data: IndexData;
  file: IndexFileReader;
  postings: FilePostings;
}

/**
 * Opens an index file without reading its postings: the header and the tables sized by the
 * vocabulary or the document count (positions, tombstones, per-term offsets and scales) are read
 * and checked; posting lists, ids and stored fields are read when a query needs them.
 */
export async function openOnDemand(path: string, cache: BlockCache, options: { verifyChecksum?: boolean } = {}): Promise<OpenedOnDemand> {
  const file = await IndexFileReader.open(path, options);
  try {
    const L = headerLayout(file.header, path);
    const { dim, numDocs: n, numLong, numRanges, numSuper } = L;
    if (dim >= MAX_DIM) throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: vocabulary of ${dim} is larger than an index opened on demand supports (${MAX_DIM})`, { details: { path } });
    const shortStart = file.read('short_start', 'u32', dim + 1) as Uint32Array;
    const longTerms = file.read('long_terms', 'u32', numLong) as Uint32Array;
    const docOrdinal = file.read('doc_ordinal', 'u32', n) as Uint32Array;
    const termScale = file.read('term_scale', 'f32', dim) as Float32Array;
    const termMax = file.read('term_max', 'f32', dim) as Float32Array;
    const longSlot = checkTables(L, { shortStart, longTerms, docOrdinal, termScale, termMax }, path);
    // Section sizes must agree with the tables before any list is read from them.
    const rangeRows = numLong * (numRanges + 1);
    file.read('long_range_start', 'u32', rangeRows, 0, 0);
    const numLongPostings = numLong > 0 ? (file.read('long_range_start', 'u32', rangeRows, rangeRows - 1, 1) as Uint32Array)[0]! : 0;
    file.read('short_docs', 'u32', shortStart[dim]!, 0, 0);
    file.read('short_weights', L.weightType, shortStart[dim]!, 0, 0);
    file.read('long_low', 'u8', numLongPostings, 0, 0);
    file.read('long_weights', L.weightType, numLongPostings, 0, 0);
    file.read('long_range_max', 'u8', numLong * numRanges, 0, 0);
    file.read('long_super_max', 'u8', numLong * numSuper, 0, 0);
    const strings = (offsets: string, bytes: string): FileStrings => {
      const total = (file.read(offsets, 'u32', n + 1, n, 1) as Uint32Array)[0]!;
      file.read(bytes, 'u8', total, 0, 0);
      return new FileStrings(file, offsets, bytes, n, total);
    };
    const postings = new FilePostings(file, L, shortStart, numLongPostings, cache);
    const data = makeIndexData({
      ...layoutFields(L),
      docOrdinal,
      // A private copy: deletes change it in memory, never the file.
      deleted: file.read('deleted', 'u8', n) as Uint8Array,
      ids: strings('id_offsets', 'id_bytes'),
      fields: file.has('field_offsets') ? strings('field_offsets', 'field_bytes') : null,
      termScale,
      termMax,
      shortStart,
      longTerms,
      longSlot,
      numShortPostings: shortStart[dim]!,
      numLongPostings,
      postings,
      memory: null,
      // Read on demand, searches use ranges: the block structure would need the forward index in memory.
      blocks: null,
    });
    return { data, file, postings };
  } catch (err) {
    await file.close();
    throw err;
  }
}
