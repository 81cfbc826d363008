import { stat } from 'node:fs/promises';
import { SegmentedIndex } from './segmented-index.js';
import { SparseIndex } from './sparse-index.js';
import type { IndexDocument, IndexInfo, SearchHit, SearchOptions } from './types.js';
import type { SparseVector } from '../sparse/vector.js';

/** What searching needs, from a single-file index or an index directory. */
export interface SearchableIndex {
  readonly dim: number;
  readonly size: number;
  info(): IndexInfo;
  search(query: SparseVector, options?: SearchOptions): SearchHit[];
  /** A live document with its stored vector (ERR_UNKNOWN_ID otherwise). */
  get(id: string): IndexDocument;
  dispose(): void | Promise<void>;
}

/**
 * Opens an index for searching: a directory as a read-only `SegmentedIndex` (its last commit;
 * no lock, so a writer may keep working on it), a file as a `SparseIndex`. With `cacheBytes`,
 * posting lists are read on demand through a cache of that size.
 */
export async function openIndex(path: string, options: { cacheBytes?: number } = {}): Promise<SearchableIndex> {
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory()) return SegmentedIndex.open(path, { readOnly: true, ...options });
  return SparseIndex.open(path, options);
}
