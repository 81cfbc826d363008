import { SparseEncoderError } from '../errors.js';
import { SparseIndex } from '../inverted-index/sparse-index.js';
import type { SparseVector } from '../sparse/vector.js';
import type { EvalQuery, RankedHit, Run } from './types.js';

/** Progress of a retrieval pipeline. `total` is known for every phase. */
export type RetrievalProgress =
  | { phase: 'encode-corpus'; done: number; total: number }
  | { phase: 'index'; done: number; total: number }
  | { phase: 'encode-queries'; done: number; total: number }
  | { phase: 'search'; done: number; total: number };

export interface RetrieverSearchOptions {
  /** Hits per query. */
  k: number;
  onProgress?: (event: RetrievalProgress) => void;
}

/** Anything that ranks documents for queries: a sparse model over an index, BM25, a fusion of two. */
export interface Retriever {
  readonly name: string;
  /** Top-`k` hits per query, best first; every query id is a key of the result. */
  search(queries: readonly EvalQuery[], options: RetrieverSearchOptions): Promise<Run>;
}

/** What an encoder must offer to be evaluated (SparseEncoder and Bm25Model both do). */
export interface SparseTextEncoder {
  encodeQuery(texts: string[]): Promise<SparseVector[]>;
  encodeDocument(texts: string[]): Promise<SparseVector[]>;
}

/** Exact top-k search over document vectors. */
export interface VectorSearcher {
  search(query: SparseVector, k: number): RankedHit[];
  /** Releases what the searcher holds (an index). */
  dispose?(): void;
}

/**
 * The default searcher: a SparseIndex in memory, searched exactly (same hits and order as
 * BruteForceSearcher: documents sharing a dimension with the query, ties in insertion order).
 */
export async function buildIndexSearcher(docs: Array<{ id: string; vector: SparseVector }>): Promise<VectorSearcher> {
  const index = await SparseIndex.build(docs);
  return {
    search: (query, k) => index.search(query, { k, exact: true, fields: false }).map((h) => ({ id: h.id, score: h.score })),
    dispose: () => index.dispose(),
  };
}

/**
 * Exhaustive scoring of every document: the reference the index's exact search must equal, and
 * what tests use. Hits are the documents sharing at least one active dimension with the query,
 * by score descending, ties in insertion order.
 */
export class BruteForceSearcher implements VectorSearcher {
  private readonly ids: string[] = [];
  private readonly vectors: SparseVector[] = [];
  private dim: number | undefined;

  add(id: string, vector: SparseVector): void {
    if (this.dim === undefined) this.dim = vector.dim;
    else if (vector.dim !== this.dim) {
      throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `document '${id}' has dim ${vector.dim}, expected ${this.dim}`);
    }
    this.ids.push(id);
    this.vectors.push(vector);
  }

  get size(): number {
    return this.ids.length;
  }

  search(query: SparseVector, k: number): RankedHit[] {
    if (this.dim !== undefined && query.dim !== this.dim) {
      throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `query has dim ${query.dim}, documents have ${this.dim}`);
    }
    const dense = new Float64Array(query.dim);
    const active = new Uint8Array(query.dim);
    for (let i = 0; i < query.indices.length; i++) {
      dense[query.indices[i]!] = query.values[i]!;
      active[query.indices[i]!] = 1;
    }
    const scores: Array<{ doc: number; score: number }> = [];
    for (let d = 0; d < this.vectors.length; d++) {
      const v = this.vectors[d]!;
      let s = 0;
      let shared = false;
      for (let i = 0; i < v.indices.length; i++) {
        const j = v.indices[i]!;
        if (active[j] === 1) {
          shared = true;
          s += dense[j]! * v.values[i]!;
        }
      }
      if (shared) scores.push({ doc: d, score: s });
    }
    scores.sort((a, b) => b.score - a.score || a.doc - b.doc);
    return scores.slice(0, k).map(({ doc, score }) => ({ id: this.ids[doc]!, score }));
  }
}

export interface SparseRetrieverOptions {
  /** Encodes documents and queries. */
  encoder: SparseTextEncoder;
  /** Documents to index, as (id, text) pairs. */
  documents: Iterable<{ id: string; text: string }>;
  /** Total number of documents, for progress. */
  documentCount?: number;
  /** Texts per encoder call. Default 32 (as the sentence-transformers evaluator). */
  batchSize?: number;
  /** Name shown in reports. Default 'sparse'. */
  name?: string;
  /** Builds the searcher from the encoded corpus. Default: `buildIndexSearcher` (a SparseIndex, exact search). */
  buildSearcher?: (docs: Array<{ id: string; vector: SparseVector }>) => Promise<VectorSearcher>;
  onProgress?: (event: RetrievalProgress) => void;
  /** Sees every encoded vector (sparsity statistics). */
  onVectors?: (kind: 'query' | 'document', vectors: readonly SparseVector[]) => void;
}

/** A sparse encoder over an index of its document vectors. Call `dispose()` when done. */
export class SparseRetriever implements Retriever {
  private constructor(
    readonly name: string,
    private readonly encoder: SparseTextEncoder,
    private readonly searcher: VectorSearcher,
    private readonly batchSize: number,
    private readonly onVectors: SparseRetrieverOptions['onVectors'],
  ) {}

  /** Encodes all documents and builds the searcher. */
  static async create(options: SparseRetrieverOptions): Promise<SparseRetriever> {
    const batchSize = checkBatchSize(options.batchSize ?? 32);
    const docs: Array<{ id: string; vector: SparseVector }> = [];
    const total = options.documentCount ?? 0;
    let batch: Array<{ id: string; text: string }> = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const vectors = await options.encoder.encodeDocument(batch.map((d) => d.text));
      if (vectors.length !== batch.length) {
        throw new SparseEncoderError('ERR_RUNTIME', `encoder returned ${vectors.length} vectors for ${batch.length} documents`);
      }
      options.onVectors?.('document', vectors);
      batch.forEach((d, i) => docs.push({ id: d.id, vector: vectors[i]! }));
      batch = [];
      options.onProgress?.({ phase: 'encode-corpus', done: docs.length, total: Math.max(total, docs.length) });
    };
    for (const doc of options.documents) {
      batch.push(doc);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    options.onProgress?.({ phase: 'index', done: 0, total: docs.length });
    const searcher = await (options.buildSearcher ?? buildIndexSearcher)(docs);
    options.onProgress?.({ phase: 'index', done: docs.length, total: docs.length });
    return new SparseRetriever(options.name ?? 'sparse', options.encoder, searcher, batchSize, options.onVectors);
  }

  async search(queries: readonly EvalQuery[], options: RetrieverSearchOptions): Promise<Run> {
    const k = checkK(options.k);
    const run: Run = new Map();
    for (let start = 0; start < queries.length; start += this.batchSize) {
      const batch = queries.slice(start, start + this.batchSize);
      const vectors = await this.encoder.encodeQuery(batch.map((q) => q.text));
      this.onVectors?.('query', vectors);
      options.onProgress?.({ phase: 'encode-queries', done: start + batch.length, total: queries.length });
      batch.forEach((q, i) => run.set(q.id, this.searcher.search(vectors[i]!, k)));
      options.onProgress?.({ phase: 'search', done: start + batch.length, total: queries.length });
    }
    return run;
  }

  /** Releases the index (the encoder belongs to the caller). */
  dispose(): void {
    this.searcher.dispose?.();
  }
}

export function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `k must be a positive integer, got ${k}`);
  return k;
}

function checkBatchSize(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `batchSize must be a positive integer, got ${n}`);
  return n;
}
