import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { clusterOrder } from './cluster.js';
import { DocumentCollector } from './collector.js';
import { BlockCache } from './block-cache.js';
import type { WriteFault } from './file-format.js';
import type { OpenedOnDemand } from './file-postings.js';
import { FORMAT_VERSION, parseIndexBytes } from './index-bytes.js';
// The platform seam (package.json imports): Node's file functions, or ones that refuse where there are no files.
import { openOnDemand, readIndexFile, writeIndexFile } from '#index-files';
import { RANGE_SIZES, buildIndexData, extractVectors, fromFile, headerMeta, storedValue, toSections, type IndexData } from './index-data.js';
import { Searcher, type PreparedQuery, type SearchStats } from './searcher.js';
import { BlockSearcher, blockSettingsFromJson, buildBlocks, resolveBlocks, type BlockSearchStats, type BlockSettings } from './block-index.js';
import { checkApproximate } from './search-settings.js';
import type { IndexBuildOptions, IndexDocument, IndexInfo, IndexOpenOptions, SearchHit, SearchOptions, WeightStorage } from './types.js';

/** Below this many documents exact search scores every posting: measured as fast as pruning there (synthetic corpus, 1,000 SPLADE-v3 queries: equal at 5,000, pruning 1.2× faster at 20,000). */
const EXHAUSTIVE_BELOW = 5_000;
/** Approximate search's default: recall@10 ≈ 0.98 at about 1/25 of exhaustive time on 1M synthetic documents. */
const DEFAULT_HEAP_FACTOR = 0.8;
/**
 * Block search's defaults (see SearchOptions): on 1M synthetic documents and 6,980 SPLADE-v3
 * queries, recall@10 0.979, the ranges default's 0.981, in a fraction of its time (BENCHMARKS.md).
 */
const DEFAULT_BLOCK_TERM_CUT = 4;
const DEFAULT_SUMMARY_FACTOR = 1.2;
/** Block search keeps this many × k candidates by their heaviest entries, then re-scores them exactly. */
const DEFAULT_BLOCK_CANDIDATES = 3;
/**
 * Candidates are ranked by their documents' 48 heaviest entries (stored first): about a third of
 * a SPLADE document's entries and of the memory read per document, which is what block search
 * spends its time on.
 */
const FORWARD_HEAD = 48;

/** A hit before ids are looked up: score, insertion ordinal, storage position. */
export interface RankedHit {
  score: number;
  ord: number;
  pos: number;
}

export interface ResolvedBuild {
  quantize: WeightStorage;
  rangeSize: number;
  reorder: boolean | undefined;
  seed: number;
  blocks: BlockSettings | null;
}

/**
 * An embedded inverted index over sparse vectors with exact and approximate top-k search by
 * dot product. Built in memory (`build`), saved atomically to one file (`save`), opened by
 * reading the file and viewing its sections in place (`open`).
 *
 * Documents have an external string id and an internal ordinal (insertion order); ties in
 * score are broken by ordinal, lower first. Immutable once built: an index that grows (adds,
 * deletes, merges, durable commits) is a `SegmentedIndex`, whose segments are SparseIndex files.
 * Opened with `cacheBytes`, posting lists are read from the file on demand.
 */
export class SparseIndex {
  private searcher: Searcher | undefined;
  private blockSearcher: BlockSearcher | undefined;
  /** Whether the last search ran on blocks (for lastSearchStats). */
  private lastUsedBlocks = false;
  private idMap: Map<string, number> | undefined;
  private disposed = false;
  private live: number | undefined;

  private constructor(
    private data: IndexData,
    private settings: ResolvedBuild,
    private fileBytes?: number,
    private onDemand?: OpenedOnDemand & { path: string },
  ) {}

  /** Builds an index from documents (any iterable or async iterable). */
  static async build(docs: Iterable<IndexDocument> | AsyncIterable<IndexDocument>, options: IndexBuildOptions = {}): Promise<SparseIndex> {
    const settings = resolveBuild(options);
    const c = new DocumentCollector(options.dim);
    let n = 0;
    for await (const doc of docs as AsyncIterable<IndexDocument>) {
      c.add(doc);
      if (++n % 10_000 === 0) options.onProgress?.({ type: 'read', documents: n });
    }
    options.onProgress?.({ type: 'read', documents: n });
    return new SparseIndex(SparseIndex.fromCollector(c, settings, options), settings);
  }

  /** @internal An index over collected documents (segments are built this way). */
  static fromDocuments(c: DocumentCollector, settings: ResolvedBuild): SparseIndex {
    return new SparseIndex(SparseIndex.fromCollector(c, settings), settings);
  }

  private static fromCollector(c: DocumentCollector, s: ResolvedBuild, options: IndexBuildOptions = {}): IndexData {
    const reorder = s.reorder ?? c.count > 4 * s.rangeSize;
    let order: Uint32Array | null = null;
    if (reorder && c.count > 0) {
      options.onProgress?.({ type: 'stage', stage: 'cluster' });
      order = clusterOrder(c, s.rangeSize, s.seed);
    }
    options.onProgress?.({ type: 'stage', stage: 'postings' });
    const data = buildIndexData(c, { quantize: s.quantize, rangeSize: s.rangeSize, order });
    if (s.blocks && c.count > 0) {
      options.onProgress?.({ type: 'stage', stage: 'blocks' });
      const { quantize, termScale } = data;
      data.blocks = buildBlocks(c, data, s.blocks, (v, t) => storedValue(quantize, v, termScale[t]!), s.seed);
    }
    options.onProgress?.({ type: 'stage', stage: 'done' });
    return data;
  }

  /**
   * Opens an index file. Refuses, with a typed error, a file that is truncated
   * (ERR_INDEX_TRUNCATED), corrupt (ERR_INDEX_CORRUPT), not an index (ERR_INDEX_FORMAT) or of a
   * newer format version (ERR_INDEX_VERSION). `verifyChecksum` (default true) checks the CRC-32 of
   * the whole file; turning it off saves one pass over the bytes.
   */
  static async open(path: string, options: IndexOpenOptions = {}): Promise<SparseIndex> {
    if (options.cacheBytes !== undefined) {
      const c = options.cacheBytes;
      if (!(Number.isSafeInteger(c) && c >= 0)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `cacheBytes must be a non-negative integer, got ${c}`);
      return SparseIndex.openWithCache(path, new BlockCache(c), options.verifyChecksum ?? false);
    }
    const f = await readIndexFile(path, options);
    const data = fromFile(f, path);
    return new SparseIndex(data, settingsOf(data, data.blocks?.settings ?? null), f.bytes.byteLength);
  }

  /**
   * An index from the bytes of an index file (an `ArrayBuffer` fetched in a page, a file bundled into
   * a worker), with every check `open` makes; no file system involved. The bytes are viewed in
   * place (an unaligned view is copied once) and must not change while the index is in use.
   * `name` labels errors.
   */
  static fromBytes(bytes: Uint8Array | ArrayBuffer, options: { verifyChecksum?: boolean; name?: string } = {}): SparseIndex {
    let view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    if (view.byteOffset % 8 !== 0) view = view.slice();
    const data = fromFile(parseIndexBytes(view, options.name ?? '<bytes>', options.verifyChecksum ?? true), options.name ?? '<bytes>');
    return new SparseIndex(data, settingsOf(data, data.blocks?.settings ?? null), view.byteLength);
  }

  /** @internal Opens on demand with a cache shared by several files (the segments of one index). */
  static async openWithCache(path: string, cache: BlockCache, verifyChecksum: boolean): Promise<SparseIndex> {
    const o = await openOnDemand(path, cache, { verifyChecksum });
    // The block structure stays in the file (searches use ranges), but a rebuild keeps its settings.
    const raw = o.file.header.settings.blocks;
    let blocks: BlockSettings | null = null;
    try {
      if (raw !== undefined) blocks = blockSettingsFromJson(raw, path);
    } catch (err) {
      await o.file.close();
      throw err;
    }
    return new SparseIndex(o.data, settingsOf(o.data, blocks), o.file.bytes, { ...o, path });
  }

  /** Number of live (not deleted) documents. */
  get size(): number {
    this.check();
    if (this.live === undefined) {
      let live = 0;
      const del = this.data.deleted;
      for (let i = 0; i < del.length; i++) if (del[i] === 0) live++;
      this.live = live;
    }
    return this.live;
  }

  get dim(): number {
    this.check();
    return this.data.dim;
  }

  info(): IndexInfo {
    this.check();
    const d = this.data;
    const info: IndexInfo = {
      formatVersion: FORMAT_VERSION,
      dim: d.dim,
      documents: d.numDocs,
      liveDocuments: this.size,
      postings: d.numShortPostings + d.numLongPostings,
      quantize: d.quantize,
      rangeSize: d.rangeSize,
      reordered: d.reordered,
      longTerms: d.longTerms.length,
      hasFields: d.fields !== null,
    };
    const b = this.settings.blocks;
    if (b) info.blocks = { ...b };
    if (this.fileBytes !== undefined) info.fileBytes = this.fileBytes;
    return info;
  }

  /** True when a live document has this id. */
  has(id: string): boolean {
    this.check();
    const ord = this.ids().get(id);
    return ord !== undefined && this.data.deleted[ord] === 0;
  }

  /** A live document with its stored (dequantized) vector and fields; throws ERR_UNKNOWN_ID. */
  get(id: string): IndexDocument {
    this.check();
    const ord = this.ids().get(id);
    if (ord === undefined || this.data.deleted[ord] === 1) throw new SparseEncoderError('ERR_UNKNOWN_ID', `no document with id '${id}'`, { details: { id } });
    const pos = this.data.docOrdinal.indexOf(ord);
    const s = this.getSearcher();
    const indices: number[] = [];
    const values: number[] = [];
    for (let t = 0; t < this.data.dim; t++) {
      const w = s.weightAt(t, pos);
      if (w !== 0) {
        indices.push(t);
        values.push(w);
      }
    }
    const doc: IndexDocument = { id, vector: { indices: Uint32Array.from(indices), values: Float32Array.from(values), dim: this.data.dim } };
    const fields = this.fieldsOf(ord);
    if (fields) doc.fields = fields;
    return doc;
  }

  /**
   * Top-k documents by dot product with `query`, best first. Exact by default (see
   * SearchOptions.exact); scores of approximate hits are exact scores of the full query.
   */
  search(query: SparseVector, options: SearchOptions = {}): SearchHit[] {
    return this.hits(this.rank(query, options), options.fields ?? true);
  }

  /** @internal The top k as (score, ordinal, position), best first; `search` without the id lookups. */
  rank(query: SparseVector, options: SearchOptions = {}): RankedHit[] {
    this.check();
    const d = this.data;
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 0) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `k must be a non-negative integer, got ${k}`);
    if (!query || !query.indices || !query.values) throw new SparseEncoderError('ERR_INVALID_INPUT', 'query is not a sparse vector');
    if (query.dim !== d.dim) throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `query has dim ${query.dim}, the index has ${d.dim}`);
    const full = prepare(query, d);
    if (k === 0 || full.terms.length === 0 || d.numDocs === 0) return [];
    const s = this.getSearcher();
    const exact = options.exact ?? true;
    if (!exact) checkApproximate(options);
    this.lastUsedBlocks = false;
    let heap;
    if (exact || full.hasNegative) {
      const algorithm = options.algorithm ?? 'auto';
      const exhaustive = full.hasNegative || algorithm === 'exhaustive' || (algorithm === 'auto' && d.numDocs < EXHAUSTIVE_BELOW);
      // Final scores summed one way (term order), whichever kernel found the hits: an index split
      // into segments, each picking its own kernel, then returns the very same scores. The
      // exhaustive kernel sums that way itself (see Searcher.exhaustive); pruned hits are re-scored.
      heap = exhaustive ? s.exhaustive(full, k) : s.rescore(s.pruned(full, { k, heapFactor: 1, candidates: k }).sorted(), full, k);
    } else if ((this.lastUsedBlocks = this.useBlocks(options))) {
      heap = this.getBlockSearcher().search(full.terms, full.weights, {
        k,
        queryTermCut: options.queryTermCut ?? DEFAULT_BLOCK_TERM_CUT,
        summaryFactor: options.summaryFactor ?? DEFAULT_SUMMARY_FACTOR,
        candidates: Math.max(k, options.candidates ?? DEFAULT_BLOCK_CANDIDATES * k),
        hasDeletes: this.size < d.numDocs,
        forwardHead: FORWARD_HEAD,
      });
    } else {
      const heapFactor = options.heapFactor ?? DEFAULT_HEAP_FACTOR;
      const candidates = Math.max(k, options.candidates ?? k);
      const cut = options.queryTermCut;
      // Visited documents are scored with every query term; the cut only narrows the bounds.
      heap = s.pruned(full, { k, heapFactor, candidates, ...(cut !== undefined ? { boundTerms: cut } : {}) });
      // Every candidate is re-scored with the whole query (a cut leaves their heap scores partial).
      heap = s.rescore(heap.sorted(), full, k);
    }
    return heap.sorted();
  }

  /** @internal Ranked hits with their ids (and stored fields). */
  hits(ranked: RankedHit[], withFields: boolean): SearchHit[] {
    return ranked.map(({ score, ord }) => {
      const hit: SearchHit = { id: this.idOf(ord), score };
      if (withFields) {
        const f = this.fieldsOf(ord);
        if (f) hit.fields = f;
      }
      return hit;
    });
  }

  /** Work done by the last search (postings scored, ranges visited); for benchmarks. */
  lastSearchStats(): SearchStats & Partial<BlockSearchStats> {
    return this.lastUsedBlocks && this.blockSearcher ? { postings: 0, rangesVisited: 0, ...this.blockSearcher.stats } : { ...this.getSearcher().stats };
  }

  /**
   * Writes the index atomically (temporary file, fsync, rename); the previous file survives any
   * failure, which throws ERR_INDEX_WRITE. `fault` is a test hook that simulates a full disk.
   */
  async save(path: string, options: { fault?: WriteFault } = {}): Promise<void> {
    this.check();
    await this.materialize();
    this.fileBytes = await writeIndexFile(path, headerMeta(this.data), toSections(this.data), options.fault);
  }

  /** Releases the index's memory; any later call throws ERR_DISPOSED. */
  dispose(): void {
    this.disposed = true;
    this.searcher = undefined;
    this.blockSearcher = undefined;
    this.idMap = undefined;
    this.closeFile();
  }

  private closeFile(): void {
    if (!this.onDemand) return;
    this.onDemand.postings.drop();
    void this.onDemand.file.close();
    this.onDemand = undefined;
  }

  /** An index opened on demand reads its file whole before it is rebuilt or saved; its tombstones are kept. */
  private async materialize(): Promise<void> {
    if (!this.onDemand) return;
    const f = await readIndexFile(this.onDemand.path, { verifyChecksum: false });
    const data = fromFile(f, this.onDemand.path);
    data.deleted.set(this.data.deleted);
    this.closeFile();
    this.replace(data);
  }

  /** @internal Documents stored, deleted ones included (ordinals run 0 .. count - 1). */
  get documentCount(): number {
    return this.data.numDocs;
  }

  /** @internal Tombstones by ordinal (1 = deleted), to read; segments change them through markDeleted / updateTombstones. */
  get tombstones(): Uint8Array {
    return this.data.deleted;
  }

  /** @internal Tombstones one document (a segment's delete); the live count stays right. */
  markDeleted(ord: number): void {
    if (this.data.deleted[ord] === 1) return;
    this.data.deleted[ord] = 1;
    if (this.live !== undefined) this.live--;
  }

  /**
   * @internal Changes the tombstones in bulk (a segment's tombstone file, a reopened segment); the
   * live count, which tells searches whether to read tombstones at all, is recounted after.
   */
  async updateTombstones(write: (tombstones: Uint8Array) => void | Promise<void>): Promise<void> {
    try {
      await write(this.data.deleted);
    } finally {
      this.live = undefined;
    }
  }

  /** @internal The id of a stored document. */
  idAt(ord: number): string {
    return this.idOf(ord);
  }

  /** @internal Every stored id (deleted documents included) with its ordinal, read in one pass. */
  eachId(fn: (ord: number, id: string) => void): void {
    this.data.ids.each(fn);
  }

  /** @internal Appends the live documents, in insertion order, to a collector (merges). */
  appendLiveTo(c: DocumentCollector): void {
    this.check();
    const d = this.data;
    const { starts, terms, values } = extractVectors(d, this.onDemand?.postings.direct());
    for (let ord = 0; ord < d.numDocs; ord++) {
      if (d.deleted[ord] === 1) continue;
      const s = starts[ord]!, e = starts[ord + 1]!;
      const doc: IndexDocument = { id: this.idOf(ord), vector: { indices: terms.subarray(s, e), values: values.subarray(s, e), dim: d.dim } };
      const f = this.fieldsOf(ord);
      if (f) doc.fields = f;
      c.add(doc);
    }
  }

  private check(): void {
    if (this.disposed) throw new SparseEncoderError('ERR_DISPOSED', 'this SparseIndex has been disposed');
  }

  private getSearcher(): Searcher {
    return (this.searcher ??= new Searcher(this.data));
  }

  private getBlockSearcher(): BlockSearcher {
    return (this.blockSearcher ??= new BlockSearcher(this.data, this.data.blocks!));
  }

  private useBlocks(options: SearchOptions): boolean {
    const a = options.approximateAlgorithm ?? 'auto';
    if (a === 'ranges') return false;
    if (a === 'blocks') {
      if (!this.data.blocks) {
        throw new SparseEncoderError('ERR_INVALID_ARGUMENT', this.onDemand ? "approximateAlgorithm 'blocks' needs the index in memory (it was opened with cacheBytes)" : "approximateAlgorithm 'blocks' needs an index built with the blocks option");
      }
      return true;
    }
    return this.data.blocks !== null;
  }

  private replace(data: IndexData): void {
    this.data = data;
    this.searcher = undefined;
    this.blockSearcher = undefined;
    this.idMap = undefined;
    this.fileBytes = undefined;
    this.live = undefined;
  }

  private idOf(ord: number): string {
    return this.data.ids.get(ord);
  }

  private fieldsOf(ord: number): Record<string, unknown> | undefined {
    const json = this.data.fields?.get(ord);
    return json ? (JSON.parse(json) as Record<string, unknown>) : undefined;
  }

  /** id → ordinal, built on first use (opening stays cheap). */
  private ids(): Map<string, number> {
    if (this.idMap) return this.idMap;
    const m = new Map<string, number>();
    for (let i = 0; i < this.data.numDocs; i++) m.set(this.idOf(i), i);
    this.idMap = m;
    return m;
  }
}

function settingsOf(d: IndexData, blocks: BlockSettings | null): ResolvedBuild {
  return { quantize: d.quantize, rangeSize: d.rangeSize, reorder: d.reordered, seed: 1, blocks };
}

export function resolveBuild(o: IndexBuildOptions): ResolvedBuild {
  const quantize = o.quantize ?? 'f32';
  if (!['f32', 'f16', 'u8'].includes(quantize)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `quantize must be 'f32', 'f16' or 'u8', got '${String(quantize)}'`);
  const rangeSize = o.rangeSize ?? 64;
  if (!RANGE_SIZES.includes(rangeSize)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `rangeSize must be one of ${RANGE_SIZES.join(', ')}, got ${rangeSize}`);
  if (o.dim !== undefined && !(Number.isInteger(o.dim) && o.dim >= 1)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `dim must be a positive integer, got ${o.dim}`);
  return { quantize, rangeSize, reorder: o.reorder, seed: o.seed ?? 1, blocks: resolveBlocks(o.blocks) };
}

/** Query terms the index can match (in range, non-zero), ascending. */
function prepare(q: SparseVector, d: IndexData): PreparedQuery {
  const terms: number[] = [];
  const weights: number[] = [];
  let hasNegative = false;
  let prev = -1;
  for (let i = 0; i < q.indices.length; i++) {
    const t = q.indices[i]!;
    // f32 as SparseVector declares, even from a plain array: the kernels' products rely on it
    // (and a double beyond f32's range is refused, not turned into Infinity).
    const v = Math.fround(q.values[i]!);
    if (!(t > prev) || t >= d.dim) throw new SparseEncoderError('ERR_INVALID_INPUT', `query index ${t} at position ${i} is out of range or not ascending`);
    if (!Number.isFinite(v)) throw new SparseEncoderError('ERR_INVALID_INPUT', `query weight at index ${t} is not a finite 32-bit float`);
    prev = t;
    if (v === 0 || d.termMax[t] === 0) continue;
    if (v < 0) hasNegative = true;
    terms.push(t);
    weights.push(v);
  }
  return { terms, weights, hasNegative };
}

