import { readFile, writeFile } from 'node:fs/promises';
import { SparseEncoderError } from '../errors.js';
import type { SparseVector } from '../sparse/vector.js';
import { EnglishAnalyzer, type Analyzer } from './analyzer.js';

/**
 * How document lengths enter the BM25 length normalisation.
 * - `lucene`: as Lucene stores them, one byte per document (SmallFloat.intToByte4: exact below 24,
 *   then 4 significant bits, rounding down). Anserini's published numbers include this.
 * - `exact`: the true number of terms.
 */
export type LengthEncoding = 'lucene' | 'exact';

export interface Bm25Options {
  /** Term-frequency saturation. Default 0.9 (Anserini). */
  k1?: number;
  /** Length normalisation. Default 0.4 (Anserini). */
  b?: number;
  /** Default 'lucene'. */
  lengthEncoding?: LengthEncoding;
  /** Text → terms. Default `new EnglishAnalyzer()`. A custom analyzer must be passed again to `load`. */
  analyzer?: Analyzer;
}

export type Bm25FitProgress = { phase: 'fit'; done: number };

export interface Bm25FitOptions extends Bm25Options {
  /** Called every 1000 documents and at the end. */
  onProgress?: (event: Bm25FitProgress) => void;
}

/** The saved form of a fitted model (vocabulary and collection statistics); file keys are snake_case. */
export interface Bm25State {
  format: 'sparse-encoder-bm25';
  version: 1;
  analyzer: string;
  k1: number;
  b: number;
  length_encoding: LengthEncoding;
  doc_count: number;
  sum_doc_length: number;
  /** Term of each vector dimension. */
  terms: string[];
  /** Number of documents containing each term. */
  doc_freqs: number[];
}

// SmallFloat.intToByte4 / byte4ToInt (Lucene 7+ norms): values below NUM_FREE_VALUES are exact,
// larger ones keep 4 significant bits. NUM_FREE_VALUES = 255 - longToInt4(Integer.MAX_VALUE) = 24.
const NUM_FREE_VALUES = 24;

function longToInt4(i: number): number {
  const numBits = i === 0 ? 0 : Math.floor(Math.log2(i)) + 1;
  if (numBits < 4) return i;
  const shift = numBits - 4;
  return (Math.floor(i / 2 ** shift) & 0x07) | ((shift + 1) << 3);
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

/** The length Lucene's BM25 sees for a document of `length` terms. */
export function luceneNormLength(length: number): number {
  if (length < NUM_FREE_VALUES) return length;
  return NUM_FREE_VALUES + int4ToLong(longToInt4(length - NUM_FREE_VALUES));
}

const f32 = Math.fround;

/**
 * BM25 as a sparse model: `encodeDocument` gives each term its BM25 weight in that document,
 * `encodeQuery` gives each query term its count, so `dot(query, doc)` is the BM25 score
 * (Lucene's BM25Similarity: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), no (k1 + 1) factor;
 * a repeated query term counts once per occurrence, as Anserini's bag-of-words queries boost it).
 * Dimensions are the corpus vocabulary in first-seen order. Terms unseen at fit time are dropped.
 */
export class Bm25Model {
  readonly k1: number;
  readonly b: number;
  readonly lengthEncoding: LengthEncoding;
  readonly analyzer: Analyzer;
  private readonly termIds: Map<string, number>;
  private readonly terms: string[];
  private readonly docFreqs: number[];
  private readonly docCount: number;
  private readonly sumDocLength: number;
  private readonly idfs: Float32Array;

  private constructor(options: Required<Bm25Options>, terms: string[], docFreqs: number[], docCount: number, sumDocLength: number) {
    this.k1 = options.k1;
    this.b = options.b;
    this.lengthEncoding = options.lengthEncoding;
    this.analyzer = options.analyzer;
    this.terms = terms;
    this.docFreqs = docFreqs;
    this.docCount = docCount;
    this.sumDocLength = sumDocLength;
    this.termIds = new Map(terms.map((t, i) => [t, i]));
    // Lucene computes idf in double and stores it as a float.
    this.idfs = Float32Array.from(docFreqs, (df) => Math.log(1 + (docCount - df + 0.5) / (df + 0.5)));
  }

  /** Builds the vocabulary and document statistics from a corpus (one pass; texts are not kept). */
  static async fit(texts: Iterable<string> | AsyncIterable<string>, options: Bm25FitOptions = {}): Promise<Bm25Model> {
    const resolved = resolveOptions(options);
    const termIds = new Map<string, number>();
    const terms: string[] = [];
    const docFreqs: number[] = [];
    const lastDoc: number[] = [];
    let docCount = 0;
    let sumDocLength = 0;
    for await (const text of texts) {
      if (typeof text !== 'string') throw new SparseEncoderError('ERR_INVALID_INPUT', `document ${docCount} is not a string`);
      const tokens = resolved.analyzer.analyze(text);
      for (const t of tokens) {
        let id = termIds.get(t);
        if (id === undefined) {
          id = terms.length;
          termIds.set(t, id);
          terms.push(t);
          docFreqs.push(0);
          lastDoc.push(-1);
        }
        if (lastDoc[id] !== docCount) {
          lastDoc[id] = docCount;
          docFreqs[id]!++;
        }
      }
      sumDocLength += tokens.length;
      docCount++;
      if (docCount % 1000 === 0) options.onProgress?.({ phase: 'fit', done: docCount });
    }
    options.onProgress?.({ phase: 'fit', done: docCount });
    if (docCount === 0) throw new SparseEncoderError('ERR_INVALID_INPUT', 'cannot fit BM25 on an empty corpus');
    return new Bm25Model(resolved, terms, docFreqs, docCount, sumDocLength);
  }

  /** Restores a model from `toState()` output (validated: the object may come from a file). */
  static fromState(state: unknown, options: { analyzer?: Analyzer } = {}): Bm25Model {
    const s = state as Partial<Bm25State> | null;
    const bad = (what: string): never => {
      throw new SparseEncoderError('ERR_INDEX_FORMAT', `invalid BM25 state: ${what}`);
    };
    if (s === null || typeof s !== 'object' || s.format !== 'sparse-encoder-bm25') bad("format is not 'sparse-encoder-bm25'");
    if (s!.version !== 1) throw new SparseEncoderError('ERR_INDEX_VERSION', `BM25 state version ${String(s!.version)} is not supported (expected 1)`);
    if (!Array.isArray(s!.terms) || !s!.terms.every((t) => typeof t === 'string')) bad('terms must be a list of strings');
    if (!Array.isArray(s!.doc_freqs) || s!.doc_freqs.length !== s!.terms!.length) bad('doc_freqs must have one entry per term');
    if (!Number.isInteger(s!.doc_count) || s!.doc_count! < 1) bad('doc_count must be a positive integer');
    if (!Number.isInteger(s!.sum_doc_length) || s!.sum_doc_length! < 0) bad('sum_doc_length must be a non-negative integer');
    if (!s!.doc_freqs!.every((d) => Number.isInteger(d) && d >= 1 && d <= s!.doc_count!)) bad('doc_freqs must be integers in [1, doc_count]');
    if (new Set(s!.terms).size !== s!.terms!.length) bad('terms must be unique');
    let analyzer = options.analyzer;
    if (analyzer === undefined) {
      if (s!.analyzer !== 'english') {
        throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `BM25 state uses analyzer '${String(s!.analyzer)}': pass it as options.analyzer`);
      }
      analyzer = new EnglishAnalyzer();
    }
    const resolved = resolveOptions({ k1: s!.k1!, b: s!.b!, lengthEncoding: s!.length_encoding!, analyzer });
    return new Bm25Model(resolved, [...s!.terms!], [...s!.doc_freqs!], s!.doc_count!, s!.sum_doc_length!);
  }

  /** Reads a model saved with `save`. */
  static async load(path: string, options: { analyzer?: Analyzer } = {}): Promise<Bm25Model> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `cannot read BM25 model ${path}: ${(err as Error).message}`, { cause: err });
    }
    let state: unknown;
    try {
      state = JSON.parse(text);
    } catch (err) {
      throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: not valid JSON`, { cause: err });
    }
    return Bm25Model.fromState(state, options);
  }

  toState(): Bm25State {
    return {
      format: 'sparse-encoder-bm25',
      version: 1,
      analyzer: this.analyzer.name,
      k1: this.k1,
      b: this.b,
      length_encoding: this.lengthEncoding,
      doc_count: this.docCount,
      sum_doc_length: this.sumDocLength,
      terms: [...this.terms],
      doc_freqs: [...this.docFreqs],
    };
  }

  /** Writes the vocabulary and statistics as JSON (a sidecar next to an index file). */
  async save(path: string): Promise<void> {
    try {
      await writeFile(path, JSON.stringify(this.toState()));
    } catch (err) {
      throw new SparseEncoderError('ERR_INDEX_WRITE', `cannot write BM25 model ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Vector dimension = vocabulary size. */
  get dim(): number {
    return this.terms.length;
  }

  get averageDocLength(): number {
    return this.sumDocLength / this.docCount;
  }

  /** The term of a dimension (for showing what a vector means). */
  term(index: number): string | undefined {
    return this.terms[index];
  }

  idf(term: string): number {
    const id = this.termIds.get(term);
    return id === undefined ? 0 : this.idfs[id]!;
  }

  async encodeDocument(texts: readonly string[]): Promise<SparseVector[]> {
    // Lucene's float arithmetic, step by step, so scores agree with Anserini to float rounding.
    const k1 = f32(this.k1), b = f32(this.b);
    const avgdl = f32(this.sumDocLength / this.docCount);
    const out: SparseVector[] = [];
    for (const text of texts) {
      const counts = this.termCounts(text, true);
      const length = counts.length;
      const normLength = this.lengthEncoding === 'lucene' ? luceneNormLength(length.total) : length.total;
      const normInverse = f32(1 / f32(k1 * f32(f32(1 - b) + f32(f32(b * normLength) / avgdl))));
      const values = new Float32Array(counts.ids.length);
      for (let i = 0; i < counts.ids.length; i++) {
        const w = this.idfs[counts.ids[i]!]!;
        values[i] = f32(w - f32(w / f32(1 + f32(counts.tfs[i]! * normInverse))));
      }
      out.push(dropZeros(counts.ids, values, this.dim));
    }
    return out;
  }

  async encodeQuery(texts: readonly string[]): Promise<SparseVector[]> {
    return texts.map((text) => {
      const counts = this.termCounts(text, false);
      return dropZeros(counts.ids, Float32Array.from(counts.tfs), this.dim);
    });
  }

  /** Nothing native is held; present so BM25 can stand wherever an encoder is disposed. */
  dispose(): void {}

  private termCounts(text: string, countUnknown: boolean): { ids: Uint32Array; tfs: Uint32Array; length: { total: number } } {
    if (typeof text !== 'string') throw new SparseEncoderError('ERR_INVALID_INPUT', 'BM25 input must be a string');
    const tf = new Map<number, number>();
    let total = 0;
    for (const t of this.analyzer.analyze(text)) {
      const id = this.termIds.get(t);
      // Unknown terms still make a document longer; in a query they simply match nothing.
      if (countUnknown || id !== undefined) total++;
      if (id !== undefined) tf.set(id, (tf.get(id) ?? 0) + 1);
    }
    const ids = Uint32Array.from(tf.keys()).sort();
    const tfs = Uint32Array.from(ids, (id) => tf.get(id)!);
    return { ids, tfs, length: { total } };
  }
}

function dropZeros(ids: Uint32Array, values: Float32Array, dim: number): SparseVector {
  let nnz = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) nnz++;
  if (nnz === values.length) return { indices: ids, values, dim };
  const indices = new Uint32Array(nnz);
  const kept = new Float32Array(nnz);
  for (let i = 0, j = 0; i < values.length; i++) {
    if (values[i] !== 0) {
      indices[j] = ids[i]!;
      kept[j++] = values[i]!;
    }
  }
  return { indices, values: kept, dim };
}

function resolveOptions(options: Bm25Options): Required<Bm25Options> {
  const k1 = options.k1 ?? 0.9;
  const b = options.b ?? 0.4;
  const lengthEncoding = options.lengthEncoding ?? 'lucene';
  if (typeof k1 !== 'number' || !Number.isFinite(k1) || k1 < 0) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `k1 must be a finite number >= 0, got ${k1}`);
  if (typeof b !== 'number' || !(b >= 0 && b <= 1)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `b must be in [0, 1], got ${b}`);
  if (lengthEncoding !== 'lucene' && lengthEncoding !== 'exact') {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `lengthEncoding must be 'lucene' or 'exact', got '${String(lengthEncoding)}'`);
  }
  return { k1, b, lengthEncoding, analyzer: options.analyzer ?? new EnglishAnalyzer() };
}
