/**
 * A size-bounded, least-recently-used cache of posting lists read from index files, shared by
 * every segment of an index (one budget for all). Sizes are the typed arrays' byte lengths plus a
 * fixed overhead per entry, so the budget bounds what the cache keeps alive.
 */
export class BlockCache {
  private readonly entries = new Map<number, { value: unknown; bytes: number }>();
  private nextOwner = 1;
  /** Bytes held now. */
  bytes = 0;
  hits = 0;
  misses = 0;
  /** Bytes that searches read from the files: postings and their range tables (merges read past the cache, uncounted). */
  readBytes = 0;
  /** Per-entry bookkeeping counted against the budget (Map slot, objects, array headers). */
  static readonly ENTRY_OVERHEAD = 256;

  constructor(readonly maxBytes: number) {}

  /** A fresh key space for one file; keys are owner × 2^23 + item (item < 2^23). */
  owner(): number {
    return this.nextOwner++;
  }

  get<T>(key: number): T | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert: Map iteration order is insertion order, so the first entry is the least recent.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value as T;
  }

  /** Keeps `value` unless it alone exceeds the budget; evicts the least recent entries to fit. */
  set(key: number, value: unknown, bytes: number): void {
    const size = bytes + BlockCache.ENTRY_OVERHEAD;
    if (size > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    while (this.bytes + size > this.maxBytes) {
      const first = this.entries.keys().next();
      if (first.done) break;
      this.bytes -= this.entries.get(first.value)!.bytes;
      this.entries.delete(first.value);
    }
    this.entries.set(key, { value, bytes: size });
    this.bytes += size;
  }

  /** Drops every entry of one owner (a closed file). */
  dropOwner(owner: number): void {
    const lo = owner * 2 ** 23, hi = lo + 2 ** 23;
    for (const [key, e] of this.entries) {
      if (key >= lo && key < hi) {
        this.entries.delete(key);
        this.bytes -= e.bytes;
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
