import type { SparseVector } from '../sparse/vector.js';

/** One document to index: an external string id, its sparse vector, optional stored fields (returned with hits). */
export interface IndexDocument {
  id: string;
  vector: SparseVector;
  fields?: Record<string, unknown>;
}

/** How document weights are stored in the index file. */
export type WeightStorage = 'f32' | 'f16' | 'u8';

/** Build-time settings; they are stored in the index file and apply to every search. */
export interface IndexBuildOptions {
  /**
   * Weight storage (default `'f32'`). `'u8'`: each weight becomes round(w / s_t) in 1..255 with a
   * per-term scale s_t = max_t / 255 (max_t: the term's largest weight); `'f16'`: IEEE half precision.
   * Exact search is exact with respect to the stored (dequantized) weights.
   */
  quantize?: WeightStorage;
  /** Documents per range, the unit of block-max pruning: 32, 64, 128 or 256 (default 64). */
  rangeSize?: number;
  /**
   * Reorder documents so that similar ones share ranges (default `true` above 4 × rangeSize
   * documents): a one-pass clustering around sampled seed documents. Ties are still broken by
   * insertion order, whatever the storage order.
   */
  reorder?: boolean;
  /** Vocabulary size; required only when building from zero documents (default: the first vector's `dim`). */
  dim?: number;
  /** Seed of the clustering's sampling (default 1), so builds are reproducible. */
  seed?: number;
  /**
   * Also build the structure of Seismic-style approximate search (default `false`): statically
   * pruned posting lists grouped into blocks of similar documents with summary vectors, and a
   * forward index (every document's vector): the file is about 2.4× as large (BENCHMARKS.md). Approximate
   * searches then use it (see SearchOptions.approximateAlgorithm); exact search is unchanged.
   * `true` takes the defaults of BlockBuildOptions.
   */
  blocks?: boolean | BlockBuildOptions;
  /** Called as documents are read and as the build proceeds. */
  onProgress?: (event: IndexProgressEvent) => void;
}

/** Settings of the block structure (Seismic's λ, block size and α). */
export interface BlockBuildOptions {
  /** Postings kept per term, its heaviest (default 1500). */
  postingsPerTerm?: number;
  /** Documents per block on average (default 16). */
  blockSize?: number;
  /** Share of a block summary's mass kept, its heaviest coordinates (default 0.4). */
  summaryEnergy?: number;
}

export type IndexProgressEvent =
  | { type: 'read'; documents: number }
  | { type: 'stage'; stage: 'cluster' | 'postings' | 'blocks' | 'done' };

export interface IndexOpenOptions {
  /**
   * Verify the CRC-32 of the whole file (default true when the file is read whole, false with
   * `cacheBytes`, where it costs one extra pass over the file); off saves that pass. Lists read on
   * demand are always bounds-checked.
   */
  verifyChecksum?: boolean;
  /**
   * Read posting lists from the file when queries need them, keeping at most this many bytes of
   * them in a least-recently-used cache (default: none, the file is read whole at open). Opening
   * then reads only the header and the tables sized by the vocabulary or the document count
   * (about 5 bytes per document), so an index larger than memory can be searched.
   */
  cacheBytes?: number;
}

/** Query-time settings. */
export interface SearchOptions {
  /** Number of hits (default 10). */
  k?: number;
  /**
   * Exact search (default `true`): the same hits and order as scoring every document by dot
   * product, ties broken by insertion order (lower first). Only documents that share at least one
   * term with the query are returned. When `false`, the approximate settings below apply.
   */
  exact?: boolean;
  /**
   * Exact algorithm (default `'auto'`): `'exhaustive'` scores every posting of the query terms
   * (term-at-a-time), `'pruned'` skips document ranges whose upper bound cannot reach the top k;
   * `'auto'` picks exhaustive below 5,000 documents, where it was measured to be as fast.
   */
  algorithm?: 'auto' | 'exhaustive' | 'pruned';
  /**
   * Approximate: candidates are found with only the `queryTermCut` frequent query terms and the
   * `queryTermCut` rare ones of largest possible contribution (query weight × the term's largest
   * stored weight): the frequent ones bound which document ranges are visited, the rare ones are
   * accumulated (default: all). Visited ranges are scored with every frequent term and the hits
   * are re-scored with the whole query, so they carry exact scores. `{ queryTermCut: 8,
   * heapFactor: 1 }` matched the default's recall in about half its time on the benchmark
   * (BENCHMARKS.md has the recall-latency curve).
   */
  queryTermCut?: number;
  /**
   * Approximate: a range of documents is scored only if heapFactor × its upper bound reaches the
   * current k-th score (default 0.8). 1 = exact; lower values visit fewer ranges: faster, lower
   * recall (BENCHMARKS.md has the trade-off).
   */
  heapFactor?: number;
  /**
   * Approximate algorithm (default `'auto'`): `'blocks'` visits the summarized blocks of the
   * `queryTermCut` heaviest query terms (the index must have been built with `blocks`, and be in
   * memory); `'ranges'` is block-max pruning over document ranges with `heapFactor`; `'auto'` picks
   * blocks when the index has them and is in memory (not opened with `cacheBytes`), else ranges.
   */
  approximateAlgorithm?: 'auto' | 'blocks' | 'ranges';
  /**
   * Approximate, blocks: a block's documents are scored when its summary score reaches
   * summaryFactor × the current k-th candidate score (default 1.2; Seismic's heap_factor). Lower
   * values score more blocks: slower, higher recall; 0 scores every block of the cut terms. For
   * blocks, `queryTermCut` is the number of query terms (the heaviest) whose blocks are visited
   * (default 4), and `candidates` defaults to 3 × k: candidates are ranked by their 48 heaviest
   * entries, then re-scored in full.
   */
  summaryFactor?: number;
  /** Approximate: candidates re-scored with the full query before the final top k (default `k`; blocks: 3 × `k`). */
  candidates?: number;
  /** Return stored fields with hits (default `true`). */
  fields?: boolean;
}

export interface SearchHit {
  id: string;
  score: number;
  fields?: Record<string, unknown>;
}

/** What `SparseIndex.info()` reports (also `sparse-encoder index info`). */
export interface IndexInfo {
  formatVersion: number;
  dim: number;
  documents: number;
  liveDocuments: number;
  postings: number;
  quantize: WeightStorage;
  rangeSize: number;
  reordered: boolean;
  longTerms: number;
  hasFields: boolean;
  /** Settings of the block structure for approximate search, when the index has one. */
  blocks?: Required<BlockBuildOptions>;
  fileBytes?: number;
  /** Index directories: segments in the last commit, and its generation. */
  segments?: number;
  generation?: number;
}
