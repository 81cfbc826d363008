import { mkdir, stat, copyFile, open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { BlockCache } from './block-cache.js';
import { blockSettingsFromJson, blockSettingsJson } from './block-index.js';
import { DocumentCollector } from './collector.js';
import {
  MANIFEST,
  acquireLock,
  manifestBytes,
  readManifest,
  readTombstones,
  removeUnreferenced,
  segmentName,
  tombstoneBytes,
  tombstoneName,
  writeDurably,
  type Manifest,
  type StepHook,
} from './index-directory.js';
import { SparseIndex, resolveBuild, type RankedHit, type ResolvedBuild } from './sparse-index.js';
import { syncDirectory } from './file-format.js';
import { FORMAT_VERSION } from './index-bytes.js';
import type { BlockBuildOptions, IndexDocument, IndexInfo, SearchHit, SearchOptions, WeightStorage } from './types.js';

/** Options of `SegmentedIndex.open`. Build settings apply when the directory is new; an existing one keeps its own. */
export interface SegmentedIndexOptions {
  /** Weight storage of new segments (default `'f32'`; see IndexBuildOptions.quantize). */
  quantize?: WeightStorage;
  /** Documents per pruning range (default 64). */
  rangeSize?: number;
  /** Cluster documents inside each segment (default: above 4 × rangeSize documents). */
  reorder?: boolean;
  seed?: number;
  /** Vocabulary size, when the first document does not tell it. */
  dim?: number;
  /** Build each segment's block structure for approximate search (default false; see IndexBuildOptions.blocks). */
  blocks?: boolean | BlockBuildOptions;
  /** Buffered documents that trigger writing a segment (default 100,000). */
  flushDocuments?: number;
  /**
   * Automatic merges (default 10): when the newest `mergeFactor` segments have the same size
   * class (⌊log_mergeFactor(live documents)⌋) they are merged into one, which keeps the segment
   * count logarithmic in the corpus. 0 turns automatic merging off (`merge()` still works).
   */
  mergeFactor?: number;
  /** Read posting lists on demand through one cache of this many bytes shared by all segments (default: segments are read whole). */
  cacheBytes?: number;
  /** Verify each segment file's CRC-32 when opening it (default: true when read whole, false with `cacheBytes`). */
  verifyChecksum?: boolean;
  /** Open for searching only: no write lock, no `add`, `delete`, `merge` or `commit` (default false). */
  readOnly?: boolean;
  /** @internal Test hook, called at named points of flushes, merges and commits. */
  onStep?: StepHook;
}

interface Segment {
  /** File name; null until the segment is written. */
  name: string | null;
  index: SparseIndex;
  /** Tombstone file of the last commit, or null when the segment file's own are current. */
  tombstones: string | null;
  /** Deletes since the last commit. */
  dirty: boolean;
  deleted: number;
}

export interface SegmentInfo {
  name: string | null;
  documents: number;
  liveDocuments: number;
}

const DEFAULT_FLUSH = 100_000;
const DEFAULT_MERGE_FACTOR = 10;

/**
 * A growing index: a directory of immutable segments (each one a single-file index) named by a
 * manifest. `add` buffers documents and writes a new segment every `flushDocuments`; deletes are
 * per-segment tombstones; segments are merged (automatically, by size class, or by `merge()`);
 * `commit()` makes everything durable with one atomic manifest rename, so a crash at any point
 * leaves the last commit. Search runs over every segment and merges their top k; ties are broken
 * by insertion order across segments, so results equal those of one index built from the same
 * documents. Changes not committed are dropped by `dispose()` (and by a crash).
 */
export class SegmentedIndex {
  private segments: Segment[] = [];
  private buffer: DocumentCollector;
  private bufferDeleted = new Set<number>();
  private idMap: Map<string, number> | undefined;
  private disposed = false;
  private readonly settings: ResolvedBuild;
  private readonly cache: BlockCache | undefined;

  private constructor(
    readonly path: string,
    private manifest: Manifest,
    private readonly options: SegmentedIndexOptions,
    private readonly release: (() => Promise<void>) | undefined,
  ) {
    const s = manifest.settings;
    this.settings = {
      quantize: s.quantize as WeightStorage,
      rangeSize: s.range_size,
      reorder: s.reorder ?? undefined,
      seed: s.seed,
      blocks: s.blocks ? blockSettingsFromJson(s.blocks, join(path, MANIFEST)) : null,
    };
    this.buffer = new DocumentCollector(s.dim ?? undefined);
    this.cache = options.cacheBytes !== undefined ? new BlockCache(options.cacheBytes) : undefined;
  }

  /** Opens (or creates) the index directory `path`. */
  static async open(path: string, options: SegmentedIndexOptions = {}): Promise<SegmentedIndex> {
    const readOnly = options.readOnly ?? false;
    if (options.cacheBytes !== undefined && !(Number.isSafeInteger(options.cacheBytes) && options.cacheBytes >= 0)) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `cacheBytes must be a non-negative integer, got ${options.cacheBytes}`);
    }
    for (const [name, v, min] of [['flushDocuments', options.flushDocuments, 1], ['mergeFactor', options.mergeFactor, 0]] as const) {
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= min && v !== 1)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${name} must be an integer ≥ ${min === 0 ? '2 (or 0)' : min}, got ${v}`);
    }
    const st = await stat(path).catch(() => undefined);
    if (st && !st.isDirectory()) {
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${path} is not a directory (a single-file index opens with SparseIndex.open; \`sparse-encoder index migrate\` turns it into a directory)`, { details: { path } });
    }
    if (!st) {
      if (readOnly) throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `index directory ${path} does not exist`, { details: { path } });
      await mkdir(path, { recursive: true });
    }
    const release = readOnly ? undefined : await acquireLock(path);
    try {
      let manifest = await readManifest(path);
      if (!manifest) {
        if (readOnly) throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `${path} holds no index (no ${MANIFEST})`, { details: { path } });
        const b = resolveBuild(options);
        manifest = {
          format: 'sparse-encoder-index-directory',
          format_version: 1,
          created_by: 'sparse-encoder',
          generation: 0,
          next_segment: 1,
          settings: { quantize: b.quantize, range_size: b.rangeSize, reorder: b.reorder ?? null, seed: b.seed, dim: options.dim ?? null, blocks: b.blocks ? blockSettingsJson(b.blocks) : null },
          segments: [],
        };
      } else {
        resolveBuild({ quantize: manifest.settings.quantize as WeightStorage, rangeSize: manifest.settings.range_size });
        if (options.quantize !== undefined && options.quantize !== manifest.settings.quantize) {
          throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${path} stores '${manifest.settings.quantize}' weights; it cannot take quantize '${options.quantize}'`);
        }
      }
      const index = new SegmentedIndex(path, manifest, options, release);
      try {
        await index.load();
        // The writer holds the lock, so a file the manifest does not name was left by a writer
        // that died (mid-commit, even after its manifest's rename): remove it now, not only at
        // this writer's first commit, which may never come.
        if (!readOnly) await removeUnreferenced(path, namedFiles(manifest));
      } catch (err) {
        for (const s of index.segments) s.index.dispose();
        throw err;
      }
      return index;
    } catch (err) {
      await release?.();
      throw err;
    }
  }

  /**
   * Turns a single-file index into a new index directory (the file becomes its first segment,
   * copied unchanged) and commits it.
   */
  static async fromFile(file: string, path: string, options: Omit<SegmentedIndexOptions, 'quantize' | 'rangeSize' | 'readOnly'> = {}): Promise<SegmentedIndex> {
    // Only its header and tables: the file is copied, not read into memory.
    const source = await SparseIndex.open(file, { cacheBytes: 0 });
    const st = await stat(path).catch(() => undefined);
    if (st && (await readManifest(path).catch(() => undefined))) {
      source.dispose();
      throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${path} already holds an index`, { details: { path } });
    }
    const info = source.info();
    const index = await SegmentedIndex.open(path, { ...options, quantize: info.quantize, rangeSize: info.rangeSize, dim: info.dim });
    try {
      const name = segmentName(index.manifest.next_segment++);
      await copyFile(file, join(path, name));
      const fh = await openFile(join(path, name), 'r+');
      await fh.sync();
      await fh.close();
      index.segments.push({ name, index: await index.openSegment(name), tombstones: null, dirty: false, deleted: info.documents - source.size });
      index.setDim(info.dim);
      source.dispose();
      await index.commit();
      return index;
    } catch (err) {
      source.dispose();
      await index.dispose();
      throw err;
    }
  }

  private setDim(dim: number): void {
    if (this.manifest.settings.dim === null) this.manifest.settings.dim = dim;
    if (this.buffer.dim === undefined) this.buffer.dim = dim;
  }

  private async openSegment(name: string): Promise<SparseIndex> {
    const p = join(this.path, name);
    if (this.cache) return SparseIndex.openWithCache(p, this.cache, this.options.verifyChecksum ?? false);
    return SparseIndex.open(p, { verifyChecksum: this.options.verifyChecksum ?? true });
  }

  private async load(): Promise<void> {
    const m = this.manifest;
    for (const s of m.segments) {
      const index = await this.openSegment(s.name).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'ERR_FILE_NOT_FOUND') {
          throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${this.path}: segment ${s.name} named by the manifest is missing`, { cause: err, details: { path: this.path } });
        }
        throw err;
      });
      this.segments.push({ name: s.name, index, tombstones: s.tombstones, dirty: false, deleted: s.deleted });
      const corrupt = (msg: string): never => {
        throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${join(this.path, s.name)}: ${msg}`, { details: { path: join(this.path, s.name) } });
      };
      if (index.documentCount !== s.documents) corrupt(`holds ${index.documentCount} documents, the manifest says ${s.documents}`);
      if (m.settings.dim !== null && index.dim !== m.settings.dim) corrupt(`has dim ${index.dim}, the index ${m.settings.dim}`);
      if (index.info().quantize !== m.settings.quantize) corrupt(`stores ${index.info().quantize} weights, the index ${m.settings.quantize}`);
      if (s.tombstones) await index.updateTombstones((t) => readTombstones(join(this.path, s.tombstones!), t, s.deleted));
      else if (index.documentCount - index.size !== s.deleted) corrupt(`has ${index.documentCount - index.size} deletes, the manifest says ${s.deleted}`);
    }
  }

  private check(write = false): void {
    if (this.disposed) throw new SparseEncoderError('ERR_DISPOSED', 'this SegmentedIndex has been disposed');
    if (write && this.options.readOnly) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${this.path} is open read-only`);
  }

  private step(name: string): void {
    this.options.onStep?.(name);
  }

  /** Live documents, buffered ones included. */
  get size(): number {
    this.check();
    let n = this.buffer.count - this.bufferDeleted.size;
    for (const s of this.segments) n += s.index.documentCount - s.deleted;
    return n;
  }

  /** The vocabulary size (0 while no document or `dim` option has fixed it). */
  get dim(): number {
    return this.manifest.settings.dim ?? this.buffer.dim ?? 0;
  }

  /** Totals over the segments (buffered documents not included), as `SparseIndex.info()` reports them. */
  info(): IndexInfo {
    this.check();
    const infos = this.segments.map((s) => s.index.info());
    const sum = (f: (i: IndexInfo) => number): number => infos.reduce((n, i) => n + f(i), 0);
    return {
      formatVersion: FORMAT_VERSION,
      dim: this.dim,
      documents: sum((i) => i.documents),
      liveDocuments: this.segments.reduce((n, s) => n + s.index.documentCount - s.deleted, 0),
      postings: sum((i) => i.postings),
      quantize: this.settings.quantize,
      rangeSize: this.settings.rangeSize,
      reordered: infos.some((i) => i.reordered),
      longTerms: Math.max(0, ...infos.map((i) => i.longTerms)),
      hasFields: infos.some((i) => i.hasFields),
      ...(this.settings.blocks ? { blocks: { ...this.settings.blocks } } : {}),
      fileBytes: sum((i) => i.fileBytes ?? 0),
      segments: this.segments.length,
      generation: this.manifest.generation,
    };
  }

  /** The last commit's generation (0: nothing committed yet). */
  get generation(): number {
    return this.manifest.generation;
  }

  segmentInfo(): SegmentInfo[] {
    this.check();
    const out: SegmentInfo[] = this.segments.map((s) => ({ name: s.name, documents: s.index.documentCount, liveDocuments: s.index.documentCount - s.deleted }));
    if (this.buffer.count > 0) out.push({ name: null, documents: this.buffer.count, liveDocuments: this.buffer.count - this.bufferDeleted.size });
    return out;
  }

  /** id → segment number × 2^32 + ordinal, over live documents of the segments (built on first use). */
  private ids(): Map<string, number> {
    if (this.idMap) return this.idMap;
    const m = new Map<string, number>();
    this.segments.forEach((s, i) => this.indexSegment(m, s, i));
    this.idMap = m;
    return m;
  }

  private indexSegment(m: Map<string, number>, s: Segment, i: number): void {
    const del = s.index.tombstones;
    s.index.eachId((ord, id) => {
      if (del[ord] === 0) m.set(id, i * 2 ** 32 + ord);
    });
  }

  /**
   * Adds documents (ids must not be live already). They are buffered and written as a new
   * segment every `flushDocuments`; they are durable after `commit()`.
   */
  async add(docs: Iterable<IndexDocument> | AsyncIterable<IndexDocument>): Promise<void> {
    this.check(true);
    const ids = this.ids();
    const live = (id: string): boolean => ids.has(id);
    const flushAt = this.options.flushDocuments ?? DEFAULT_FLUSH;
    for await (const doc of docs as AsyncIterable<IndexDocument>) {
      // A buffered id deleted earlier may come back: the collector still knows it, so flush first.
      const buffered = typeof doc?.id === 'string' ? this.buffer.ordinalOf(doc.id) : undefined;
      if (buffered !== undefined && this.bufferDeleted.has(buffered)) await this.flush();
      this.buffer.add(doc, live);
      if (this.buffer.count >= flushAt) await this.flush();
    }
    if (this.buffer.dim !== undefined) this.setDim(this.buffer.dim);
  }

  /** Marks a document deleted; returns false when the id is unknown or already deleted. Durable after `commit()`. */
  delete(id: string): boolean {
    this.check(true);
    const b = this.buffer.ordinalOf(id);
    if (b !== undefined) {
      if (this.bufferDeleted.has(b)) return false;
      this.bufferDeleted.add(b);
      return true;
    }
    const at = this.ids().get(id);
    if (at === undefined) return false;
    const s = this.segments[Math.floor(at / 2 ** 32)]!;
    s.index.markDeleted(at % 2 ** 32);
    s.deleted++;
    s.dirty = true;
    this.ids().delete(id);
    return true;
  }

  has(id: string): boolean {
    this.check();
    const b = this.buffer.ordinalOf(id);
    if (b !== undefined) return !this.bufferDeleted.has(b);
    return this.ids().has(id);
  }

  /** A live document with its stored vector and fields; throws ERR_UNKNOWN_ID. */
  get(id: string): IndexDocument {
    this.check();
    this.refresh();
    const at = this.ids().get(id);
    if (at === undefined) throw new SparseEncoderError('ERR_UNKNOWN_ID', `no document with id '${id}'`, { details: { id } });
    return this.segments[Math.floor(at / 2 ** 32)]!.index.get(id);
  }

  /** Buffered documents become an in-memory segment (searchable; written by the next flush or commit). */
  private refresh(): void {
    if (this.buffer.count === 0) return;
    const index = SparseIndex.fromDocuments(this.buffer, this.settings);
    for (const ord of this.bufferDeleted) index.markDeleted(ord);
    const seg: Segment = { name: null, index, tombstones: null, dirty: false, deleted: this.bufferDeleted.size };
    this.segments.push(seg);
    if (this.idMap) this.indexSegment(this.idMap, seg, this.segments.length - 1);
    if (this.buffer.dim !== undefined) this.setDim(this.buffer.dim);
    this.buffer = new DocumentCollector(this.buffer.dim);
    this.bufferDeleted = new Set();
  }

  /** Writes buffered documents as a segment (not yet committed), then merges by the automatic policy. */
  async flush(): Promise<void> {
    this.check(true);
    this.refresh();
    await this.writePending();
    await this.autoMerge();
  }

  /** Writes the segments that live only in memory (refreshed buffers). */
  private async writePending(): Promise<void> {
    for (const s of this.segments) if (s.name === null) await this.writeSegment(s, 'flush');
  }

  private async writeSegment(s: Segment, step: 'flush' | 'merge'): Promise<void> {
    const name = segmentName(this.manifest.next_segment++);
    await s.index.save(join(this.path, name), { fault: { onPartial: () => this.step(`${step}-partial`) } });
    this.step(`${step}-written`);
    s.name = name;
    // Deletes so far are in the file's own tombstone section.
    s.dirty = false;
    if (this.cache) {
      // Bounded memory: keep the written segment on disk, not in memory.
      const deleted = s.index.tombstones;
      s.index.dispose();
      s.index = await this.openSegment(name);
      await s.index.updateTombstones((t) => t.set(deleted));
    }
  }

  private async autoMerge(): Promise<void> {
    const f = this.options.mergeFactor ?? DEFAULT_MERGE_FACTOR;
    if (f < 2) return;
    const level = (s: Segment): number => Math.floor(Math.log(Math.max(1, s.index.documentCount - s.deleted)) / Math.log(f) + 1e-9);
    for (;;) {
      const n = this.segments.length;
      if (n < f) return;
      const last = level(this.segments[n - 1]!);
      let i = n - 1;
      while (i > 0 && level(this.segments[i - 1]!) === last) i--;
      if (n - i < f) return;
      await this.mergeRange(n - f, n);
    }
  }

  /**
   * Merges segments (adjacent ones, so insertion order is kept) until at most `maxSegments`
   * remain (default 1), dropping deleted documents for good. Durable after `commit()`.
   */
  async merge(options: { maxSegments?: number } = {}): Promise<void> {
    this.check(true);
    const max = options.maxSegments ?? 1;
    if (!(Number.isInteger(max) && max >= 1)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `maxSegments must be a positive integer, got ${max}`);
    this.refresh();
    while (this.segments.length > max) {
      // Merge the adjacent run of (count - max + 1) segments with the fewest live documents.
      const run = this.segments.length - max + 1;
      let best = 0, bestCost = Infinity;
      for (let i = 0; i + run <= this.segments.length; i++) {
        let cost = 0;
        for (let j = i; j < i + run; j++) cost += this.segments[j]!.index.documentCount - this.segments[j]!.deleted;
        if (cost < bestCost) [best, bestCost] = [i, cost];
      }
      await this.mergeRange(best, best + run);
    }
    // Tombstones alone (no merge needed) still shrink by rewriting a segment with deletes.
    if (max === 1 && this.segments.length === 1 && this.segments[0]!.deleted > 0) await this.mergeRange(0, 1);
    await this.writePending();
  }

  private async mergeRange(from: number, to: number): Promise<void> {
    const c = new DocumentCollector(this.dim || undefined);
    for (let i = from; i < to; i++) this.segments[i]!.index.appendLiveTo(c);
    const merged: Segment[] = [];
    if (c.count > 0) {
      const seg: Segment = { name: null, index: SparseIndex.fromDocuments(c, this.settings), tombstones: null, dirty: false, deleted: 0 };
      await this.writeSegment(seg, 'merge');
      merged.push(seg);
    }
    // The old files stay until the next commit no longer names them.
    for (const s of this.segments.splice(from, to - from, ...merged)) s.index.dispose();
    this.idMap = undefined;
  }

  /**
   * Makes every change durable: writes buffered documents and changed tombstones, then the new
   * manifest (temporary file, fsync, rename, directory fsync) — the commit point. Files no
   * longer named (merged segments, older tombstones, leftovers of a crash) are removed after.
   */
  async commit(): Promise<void> {
    this.check(true);
    await this.flush();
    const generation = this.manifest.generation + 1;
    const pending = new Map<Segment, string>();
    for (const s of this.segments) {
      if (!s.dirty) continue;
      const name = tombstoneName(s.name!, generation);
      await writeDurably(this.path, name, tombstoneBytes(s.index.tombstones), (x) => this.step(x), 'tombstones');
      pending.set(s, name);
    }
    const next: Manifest = {
      ...this.manifest,
      generation,
      segments: this.segments.map((s) => ({ name: s.name!, documents: s.index.documentCount, deleted: s.deleted, tombstones: pending.get(s) ?? s.tombstones })),
    };
    // Segment and tombstone renames reach the disk before a manifest names them.
    await syncDirectory(this.path);
    await writeDurably(this.path, MANIFEST, manifestBytes(next), (x) => this.step(x), 'manifest');
    await syncDirectory(this.path);
    this.step('manifest-renamed');
    this.manifest = next;
    for (const [s, name] of pending) {
      s.tombstones = name;
      s.dirty = false;
    }
    await removeUnreferenced(this.path, namedFiles(next), (x) => this.step(x));
    this.step('commit-done');
  }

  /**
   * Top-k documents by dot product over every segment (buffered documents included), best first.
   * Options as `SparseIndex.search`; exact search returns the same hits, scores and order as one
   * index built from the live documents.
   */
  search(query: SparseVector, options: SearchOptions = {}): SearchHit[] {
    this.check();
    this.refresh();
    const k = options.k ?? 10;
    const dim = this.dim;
    if (dim !== 0 && query?.dim !== undefined && query.dim !== dim) throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `query has dim ${query.dim}, the index has ${dim}`);
    const all: Array<RankedHit & { seg: number }> = [];
    this.segments.forEach((s, seg) => {
      for (const h of s.index.rank(query, options)) all.push({ ...h, seg });
    });
    all.sort((a, b) => b.score - a.score || a.seg - b.seg || a.ord - b.ord);
    const withFields = options.fields ?? true;
    return all.slice(0, k).map((h) => this.segments[h.seg]!.index.hits([h], withFields)[0]!);
  }

  /** Cache use when opened with `cacheBytes`. */
  cacheStats(): { bytes: number; maxBytes: number; entries: number; hits: number; misses: number; readBytes: number } | undefined {
    const c = this.cache;
    return c ? { bytes: c.bytes, maxBytes: c.maxBytes, entries: c.size, hits: c.hits, misses: c.misses, readBytes: c.readBytes } : undefined;
  }

  /** Closes the segments and releases the write lock; changes not committed are dropped. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.segments) s.index.dispose();
    this.segments = [];
    this.idMap = undefined;
    await this.release?.();
  }
}

/** The files a manifest names (itself included): everything else of ours in the directory is stray. */
function namedFiles(m: Manifest): Set<string> {
  const keep = new Set<string>([MANIFEST]);
  for (const s of m.segments) {
    keep.add(s.name);
    if (s.tombstones) keep.add(s.tombstones);
  }
  return keep;
}
