/**
 * Seismic-style approximate search (Bruch, Nardini, Rulli, Venturini: "Efficient Inverted Indexes
 * for Approximate Retrieval over Learned Sparse Representations", SIGIR 2024), built beside the
 * exact index from the same stored weights:
 *
 * - static pruning: each term keeps only its `postingsPerTerm` heaviest postings;
 * - blocks: a term's kept postings are grouped into blocks of similar documents (a shallow
 *   clustering around sampled members, about `blockSize` documents per block), each with a
 *   summary: the coordinate-wise maximum of its documents' vectors, cut to the heaviest
 *   coordinates that hold `summaryEnergy` of its mass, in 8-bit codes;
 * - a forward index: every document's whole stored vector, heaviest entry first, so a visited
 *   document is scored at once, with no posting-list lookups: one read of one place (its entry
 *   count, then each entry's term and stored weight in one 32-bit word).
 *
 * A query visits the blocks of its `queryTermCut` heaviest terms, best summary first, and scores
 * a block's documents while the block's summary score reaches `summaryFactor` × the current k-th
 * candidate score; candidates are ranked by their heaviest entries and re-scored in full.
 * Everything is indexed by storage position, as the rest of the index. Ours, not Seismic's: the
 * blocks come from a shallow clustering on documents' 8 heaviest terms, summaries from their 32
 * heaviest, the candidates' partial scores, and summaries stored per term and coordinate (a query
 * reads only its own coordinates' entries, not whole summaries).
 */
import { SparseEncoderError } from '../errors.js';
import { mulberry32 } from './cluster.js';
import type { DocumentCollector } from './collector.js';
import { halfTable } from './half.js';
import type { SectionArray } from './index-bytes.js';
import type { IndexData } from './index-data.js';
import type { StoredWeights } from './postings.js';
import { TopK } from './top-k.js';
import type { BlockBuildOptions } from './types.js';

/** Build settings of the block structure, stored in the file header. */
export interface BlockSettings {
  postingsPerTerm: number;
  blockSize: number;
  summaryEnergy: number;
}

export const DEFAULT_BLOCKS: BlockSettings = { postingsPerTerm: 1500, blockSize: 16, summaryEnergy: 0.4 };

export interface BlockData {
  settings: BlockSettings;
  /**
   * Forward index by position: document p is the words `fwdStart[p] .. fwdStart[p + 1]` of `fwd`:
   * its entry count, then its entries heaviest first (ties: lower term first), each one word
   * `term | stored weight << 16` (u8 and f16 weights, vocabularies up to 65,536: see `wideEntries`)
   * or two words (term, then the stored weight: a code, half bits or f32 bits).
   */
  fwdStart: Uint32Array;
  fwd: Uint32Array;
  /** The forward offset of each of `blockDocs` (`fwdStart` of it): computed, not stored. */
  blockFwd: Uint32Array;
  /** term → its blocks `termBlockStart[t] .. termBlockStart[t + 1]`. */
  termBlockStart: Uint32Array;
  /** block → its documents' positions `blockDocs[blockDocStart[b] .. blockDocStart[b + 1]]`. */
  blockDocStart: Uint32Array;
  blockDocs: Uint32Array;
  /**
   * The summaries of term t's blocks, list-major: entries `sumListStart[t] .. sumListStart[t + 1]`
   * of `sumTerms`, `sumBlocks` (the block's index among t's blocks) and `sumCodes` (8 bits), in
   * ascending (term, block) order, so a query reads only the entries of its own terms (a galloping
   * search each) instead of every entry of every summary. Value = code × summaryScale[block]
   * (rounded up, so never below the maximum it summarizes).
   */
  sumListStart: Uint32Array;
  sumTerms: Uint16Array | Uint32Array;
  sumBlocks: Uint8Array | Uint16Array | Uint32Array;
  sumCodes: Uint8Array;
  summaryScale: Float32Array;
}

export function resolveBlocks(o: boolean | BlockBuildOptions | undefined): BlockSettings | null {
  if (o === undefined || o === false) return null;
  const s = { ...DEFAULT_BLOCKS, ...(o === true ? {} : o) };
  if (!(Number.isInteger(s.postingsPerTerm) && s.postingsPerTerm >= 1)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `blocks.postingsPerTerm must be a positive integer, got ${s.postingsPerTerm}`);
  if (!(Number.isInteger(s.blockSize) && s.blockSize >= 1 && s.blockSize <= 4096)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `blocks.blockSize must be an integer in 1..4096, got ${s.blockSize}`);
  // A term has at most about 2 × postingsPerTerm / blockSize blocks; the query kernel's sort keys hold 2^21.
  if (s.postingsPerTerm / s.blockSize > 2 ** 19) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `blocks.postingsPerTerm / blocks.blockSize must be at most 2^19, got ${s.postingsPerTerm} / ${s.blockSize}`);
  if (!(s.summaryEnergy > 0 && s.summaryEnergy <= 1)) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `blocks.summaryEnergy must be in (0, 1], got ${s.summaryEnergy}`);
  return { postingsPerTerm: s.postingsPerTerm, blockSize: s.blockSize, summaryEnergy: s.summaryEnergy };
}

/** Terms of the forward index and of summaries fit 16 bits for vocabularies up to 65,536 (BERT's 30,522). */
function termArray(dim: number, n: number): Uint16Array | Uint32Array {
  return dim <= 65536 ? new Uint16Array(n) : new Uint32Array(n);
}

/** Forward entries take two words (term, weight) unless term and stored weight fit 16 bits each. */
export function wideEntries(d: { dim: number; quantize: string }): boolean {
  return d.dim > 65536 || d.quantize === 'f32';
}

/** Each of `blockDocs`' forward offsets. */
function blockForwardOffsets(fwdStart: Uint32Array, blockDocs: Uint32Array): Uint32Array {
  const out = new Uint32Array(blockDocs.length);
  for (let i = 0; i < blockDocs.length; i++) out[i] = fwdStart[blockDocs[i]!]!;
  return out;
}

/** The forward words of documents given as (terms, stored weights) heaviest first, by `fwdStart` entry offsets. */
function packForward(entryStart: Uint32Array, terms: Uint16Array | Uint32Array, weights: StoredWeights, wide: boolean): { fwdStart: Uint32Array; fwd: Uint32Array } {
  const n = entryStart.length - 1;
  const stride = wide ? 2 : 1;
  const words = entryStart[n]! * stride + n;
  if (words > 2 ** 32 - 1) throw new SparseEncoderError('ERR_INVALID_INPUT', 'corpus too large for the block structure (a forward index of more than 2^32 words)');
  const fwdStart = new Uint32Array(n + 1);
  const fwd = new Uint32Array(words);
  // f32 weights go in as their bits.
  const bits = weights instanceof Float32Array ? new Uint32Array(weights.buffer, weights.byteOffset, weights.length) : weights;
  let w = 0;
  for (let p = 0; p < n; p++) {
    fwdStart[p] = w;
    const e0 = entryStart[p]!, e1 = entryStart[p + 1]!;
    fwd[w++] = e1 - e0;
    if (wide) {
      for (let i = e0; i < e1; i++) {
        fwd[w++] = terms[i]!;
        fwd[w++] = bits[i]!;
      }
    } else {
      for (let i = e0; i < e1; i++) fwd[w++] = (terms[i]! | (bits[i]! << 16)) >>> 0;
    }
  }
  fwdStart[n] = w;
  return { fwdStart, fwd };
}

const HIST = 1024;
/** Blocks one term may have: the query kernel's sort keys hold a block index in 21 bits. */
const MAX_TERM_BLOCKS = 2 ** 21 - 1;
/** Vocabulary sizes the block structure supports (the build's sort keys, the query's slot table). */
const MAX_BLOCK_DIM = 2 ** 21;

/** Number of documents' heaviest terms the per-term clustering compares. */
const SIGNATURE_TERMS = 8;
/**
 * Number of each document's heaviest terms its blocks' summaries take the maximum over: the
 * summary keeps only the heaviest coordinates anyway, and the cost of building it is then this
 * many entries per document of a block, not the document's whole vector.
 */
const SUMMARY_TERMS = 32;

/**
 * Builds the block structure. `stored(value, term)` is a weight's stored form (the function the
 * postings use), so forward scores equal exact scores.
 */
export function buildBlocks(
  c: DocumentCollector,
  d: IndexData,
  settings: BlockSettings,
  stored: (value: number, term: number) => number,
  seed: number,
): BlockData {
  const n = d.numDocs;
  const dim = d.dim;
  if (dim > MAX_BLOCK_DIM) throw new SparseEncoderError('ERR_INVALID_INPUT', `the block structure supports vocabularies up to 2^21 terms, not ${dim}`);
  const order = d.docOrdinal;
  // Forward index, by position.
  const entryStart = new Uint32Array(n + 1);
  for (let p = 0; p < n; p++) {
    const o = order[p]!;
    entryStart[p + 1] = entryStart[p]! + (c.starts[o + 1]! - c.starts[o]!);
  }
  const nnz = entryStart[n]!;
  const fwdTerms = termArray(dim, nnz);
  const fwdWeights: StoredWeights = d.quantize === 'u8' ? new Uint8Array(nnz) : d.quantize === 'f16' ? new Uint16Array(nnz) : new Float32Array(nnz);
  // Dequantized forward weights, for the build only (clustering and summaries).
  const fwdValues = new Float32Array(nnz);
  const half = d.quantize === 'f16' ? halfTable() : null;
  for (let p = 0; p < n; p++) {
    const o = order[p]!;
    let w = entryStart[p]!;
    for (let i = c.starts[o]!, e = c.starts[o + 1]!; i < e; i++, w++) {
      const t = c.terms[i]!;
      const v = stored(c.values[i]!, t);
      fwdTerms[w] = t;
      fwdWeights[w] = v;
      fwdValues[w] = half ? half[v]! : d.quantize === 'u8' ? v * d.termScale[t]! : v;
    }
  }
  // Each document's entries heaviest first (ties: lower term first): candidates are scored with
  // a document's heaviest entries only (see BlockSearcher), which are then its first cache lines.
  {
    const valueBits = new Uint32Array(fwdValues.buffer, fwdValues.byteOffset, fwdValues.length);
    let keys = new Float64Array(1024);
    let tmpT = new Uint32Array(1024);
    let tmpW = new Float64Array(1024);
    let tmpV = new Float32Array(1024);
    for (let p = 0; p < n; p++) {
      const s0 = entryStart[p]!, len = entryStart[p + 1]! - s0;
      if (len < 2) continue;
      if (len > keys.length) {
        keys = new Float64Array(len);
        tmpT = new Uint32Array(len);
        tmpW = new Float64Array(len);
        tmpV = new Float32Array(len);
      }
      // Keys pack the value's f32 bits (ordered as the values, which are finite and non-negative)
      // over the entry's index (below 2^21: the vocabulary is), negated: one exact native sort.
      for (let i = 0; i < len; i++) keys[i] = -(valueBits[s0 + i]! * 2097152 + (2097151 - i));
      const sorted = keys.subarray(0, len).sort();
      for (let r = 0; r < len; r++) {
        const i = 2097151 - (-sorted[r]! % 2097152);
        tmpT[r] = fwdTerms[s0 + i]!;
        tmpW[r] = fwdWeights[s0 + i]!;
        tmpV[r] = fwdValues[s0 + i]!;
      }
      for (let r = 0; r < len; r++) {
        fwdTerms[s0 + r] = tmpT[r]!;
        fwdWeights[s0 + r] = tmpW[r]!;
        fwdValues[s0 + r] = tmpV[r]!;
      }
    }
  }
  // A document's heaviest terms (its signature for the clustering, what summaries are made of)
  // are now the first entries of its forward vector.
  // Postings per term (position, value), from the forward index: counting sort by term.
  const df = new Uint32Array(dim + 1);
  for (let i = 0; i < nnz; i++) df[fwdTerms[i]! + 1]!++;
  for (let t = 0; t < dim; t++) df[t + 1] = df[t + 1]! + df[t]!;
  const invStart = df;
  let maxDf = 0;
  for (let t = 0; t < dim; t++) maxDf = Math.max(maxDf, invStart[t + 1]! - invStart[t]!);

  const { postingsPerTerm: lambda, blockSize, summaryEnergy } = settings;
  const termBlockStart = new Uint32Array(dim + 1);
  const blockDocStart = new Growable(Uint32Array);
  blockDocStart.push(0);
  const blockDocsOut = new Growable(Uint32Array);
  const summaryStartOut = new Growable(Uint32Array);
  summaryStartOut.push(0);
  const summaryTermsOut = new Growable(Uint32Array);
  const summaryCodesOut = new Growable(Uint8Array);
  const summaryScaleOut = new Growable(Float32Array);

  const listPos = new Uint32Array(maxDf);
  const select = new Float32Array(maxDf);
  const fill = new Uint32Array(dim); // cursor per term while gathering
  fill.set(invStart.subarray(0, dim));
  // Gather every term's postings in one pass over the forward index (positions ascending).
  const invPos = new Uint32Array(nnz);
  const invVal = new Float32Array(nnz);
  for (let p = 0; p < n; p++) {
    for (let i = entryStart[p]!, e = entryStart[p + 1]!; i < e; i++) {
      const at = fill[fwdTerms[i]!]!++;
      invPos[at] = p;
      invVal[at] = fwdValues[i]!;
    }
  }
  // Scratch for the clustering and the summaries.
  const head = new Int32Array(dim).fill(-1);
  const seedScore = new Float32Array(Math.ceil(lambda / blockSize) + 1);
  const dense = new Float32Array(dim);
  const touched = new Uint32Array(dim);
  const histogram = new Float64Array(HIST);
  const bucketOf = new Uint16Array(dim);
  const keptBuf = new Uint32Array(dim);
  const rand = mulberry32(seed ^ 0x5eed);

  for (let t = 0; t < dim; t++) {
    termBlockStart[t] = summaryScaleOut.length;
    const s0 = invStart[t]!, df_t = invStart[t + 1]! - s0;
    if (df_t === 0) continue;
    // Static pruning: the lambda heaviest postings (ties: lower position first).
    let m = 0;
    if (df_t <= lambda) {
      for (let i = 0; i < df_t; i++) listPos[m++] = invPos[s0 + i]!;
    } else {
      const sel = select.subarray(0, df_t);
      sel.set(invVal.subarray(s0, s0 + df_t));
      const thr = kthLargest(sel, lambda);
      let above = 0;
      for (let i = 0; i < df_t; i++) if (invVal[s0 + i]! > thr) above++;
      let ties = lambda - above;
      for (let i = 0; i < df_t; i++) {
        const v = invVal[s0 + i]!;
        if (v > thr || (v === thr && ties-- > 0)) {
          listPos[m++] = invPos[s0 + i]!;
        }
      }
    }
    // Blocks: members assigned to the sampled seed whose signature they overlap most (term t
    // itself excluded: every member has it); members that overlap none form blocks of their own.
    const groups = clusterList(listPos, m, t, blockSize, rand, entryStart, fwdTerms, fwdValues, head, seedScore);
    for (const g of groups) {
      for (const p of g) blockDocsOut.push(p);
      blockDocStart.push(blockDocsOut.length);
      // Summary: coordinate-wise maximum, heaviest coordinates up to summaryEnergy of the mass.
      let nt = 0;
      for (const p of g) {
        for (let i = entryStart[p]!, e = Math.min(entryStart[p + 1]!, i + SUMMARY_TERMS); i < e; i++) {
          const term = fwdTerms[i]!;
          const v = fwdValues[i]!;
          if (dense[term] === 0) touched[nt++] = term;
          if (v > dense[term]!) dense[term] = v;
        }
      }
      let total = 0;
      let max = 0;
      for (let i = 0; i < nt; i++) {
        const v = dense[touched[i]!]!;
        total += v;
        if (v > max) max = v;
      }
      // Heaviest coordinates up to the target mass, by a 1024-bucket histogram of value / max
      // (one pass, no sort): whole buckets from the top, so slightly more than the target is kept.
      const hist = histogram;
      for (let i = 0; i < nt; i++) {
        const v = dense[touched[i]!]!;
        const at = Math.min(HIST - 1, Math.floor((v / max) * HIST));
        bucketOf[i] = at;
        hist[at] += v;
      }
      const target = summaryEnergy * total;
      let mass = 0;
      let cutBucket = HIST - 1;
      for (; cutBucket > 0; cutBucket--) {
        mass += hist[cutBucket]!;
        if (mass >= target) break;
      }
      let kept = 0;
      for (let i = 0; i < nt; i++) {
        if (bucketOf[i]! >= cutBucket) keptBuf[kept++] = touched[i]!;
        hist[bucketOf[i]!] = 0;
      }
      const scale = Math.fround((max / 255) * (1 + 1e-6));
      const keptTerms = keptBuf.subarray(0, kept).sort();
      for (let i = 0; i < kept; i++) {
        const v = dense[keptTerms[i]!]!;
        // Rounded up: the code never stands for less than the maximum it summarizes.
        let code = Math.ceil(v / scale);
        while (code < 255 && code * scale < v) code++;
        summaryTermsOut.push(keptTerms[i]!);
        summaryCodesOut.push(Math.min(255, Math.max(1, code)));
      }
      summaryStartOut.push(summaryTermsOut.length);
      summaryScaleOut.push(scale);
      for (let i = 0; i < nt; i++) dense[touched[i]!] = 0;
    }
  }
  termBlockStart[dim] = summaryScaleOut.length;
  const { fwdStart, fwd } = packForward(entryStart, fwdTerms, fwdWeights, wideEntries(d));
  const blockDocs = blockDocsOut.finish();
  return {
    settings,
    fwdStart,
    fwd,
    blockFwd: blockForwardOffsets(fwdStart, blockDocs),
    termBlockStart,
    blockDocStart: blockDocStart.finish(),
    blockDocs,
    ...listMajorSummaries(dim, termBlockStart, summaryStartOut.view(), summaryTermsOut.view(), summaryCodesOut.view()),
    summaryScale: summaryScaleOut.finish(),
  };
}

/** Local block indexes (a block's index among its term's blocks) in 8, 16 or 32 bits, as the term with the most blocks needs. */
function blockIndexType(termBlockStart: Uint32Array): 'u8' | 'u16' | 'u32' {
  let most = 0;
  for (let t = 0; t + 1 < termBlockStart.length; t++) most = Math.max(most, termBlockStart[t + 1]! - termBlockStart[t]!);
  return most <= 256 ? 'u8' : most <= 65536 ? 'u16' : 'u32';
}

/**
 * The block-major summaries (block → ascending terms), list-major: per term's blocks, entries in
 * ascending (term, block) order. A counting sort per list: a term's entries come out in block order.
 */
function listMajorSummaries(
  dim: number,
  termBlockStart: Uint32Array,
  summaryStart: Uint32Array,
  summaryTerms: Uint32Array,
  summaryCodes: Uint8Array,
): Pick<BlockData, 'sumListStart' | 'sumTerms' | 'sumBlocks' | 'sumCodes'> {
  const total = summaryTerms.length;
  const sumListStart = new Uint32Array(dim + 1);
  const sumTerms = termArray(dim, total);
  const type = blockIndexType(termBlockStart);
  const sumBlocks = type === 'u8' ? new Uint8Array(total) : type === 'u16' ? new Uint16Array(total) : new Uint32Array(total);
  const sumCodes = new Uint8Array(total);
  const cursor = new Uint32Array(dim);
  const distinct: number[] = [];
  for (let t = 0; t < dim; t++) {
    const b0 = termBlockStart[t]!, nb = termBlockStart[t + 1]! - b0;
    const e0 = summaryStart[b0]!, e1 = summaryStart[b0 + nb]!;
    sumListStart[t] = e0;
    if (nb === 0) continue;
    for (let i = e0; i < e1; i++) {
      const u = summaryTerms[i]!;
      if (cursor[u] === 0) distinct.push(u);
      cursor[u]!++;
    }
    distinct.sort((a, b) => a - b);
    let at = e0;
    for (const u of distinct) {
      const c = cursor[u]!;
      cursor[u] = at;
      at += c;
    }
    for (let j = 0; j < nb; j++) {
      for (let i = summaryStart[b0 + j]!, e = summaryStart[b0 + j + 1]!; i < e; i++) {
        const w = cursor[summaryTerms[i]!]!++;
        sumTerms[w] = summaryTerms[i]!;
        sumBlocks[w] = j;
        sumCodes[w] = summaryCodes[i]!;
      }
    }
    for (const u of distinct) cursor[u] = 0;
    distinct.length = 0;
  }
  sumListStart[dim] = total;
  return { sumListStart, sumTerms, sumBlocks, sumCodes };
}

type TypedCtor<A> = { new (n: number): A };

/** An append-only typed array that doubles its capacity (build output of unknown size, kept off the JS heap). */
class Growable<A extends Uint32Array | Uint8Array | Float32Array> {
  private a: A;
  length = 0;
  constructor(private readonly ctor: TypedCtor<A>) {
    this.a = new ctor(1024);
  }
  push(v: number): void {
    if (this.length === this.a.length) {
      if (this.length >= 2 ** 32 - 1) throw new SparseEncoderError('ERR_INVALID_INPUT', 'corpus too large for the block structure (more than 2^32 entries)');
      const b = new this.ctor(Math.min(2 ** 32 - 1, this.a.length * 2));
      b.set(this.a as ArrayLike<number>);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  view(): A {
    return this.a.subarray(0, this.length) as A;
  }
  /** A right-sized copy. */
  finish(): A {
    return this.a.slice(0, this.length) as A;
  }
}

/** The k-th largest value of `a` (1-based), by quickselect; reorders `a`. */
function kthLargest(a: Float32Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const x = a[i]!;
        a[i] = a[j]!;
        a[j] = x;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!;
  }
  return a[target]!;
}

/**
 * Groups the m members (positions) of term t's pruned list: ⌈m / blockSize⌉ seeds sampled among
 * them, each member joins the seed with the largest dot product of their signatures. Members in
 * a group keep position order.
 */
function clusterList(
  listPos: Uint32Array,
  m: number,
  t: number,
  blockSize: number,
  rand: () => number,
  fwdStart: Uint32Array,
  fwdTerms: Uint16Array | Uint32Array,
  fwdValues: Float32Array,
  head: Int32Array,
  score: Float32Array,
): number[][] {
  const members = Array.from(listPos.subarray(0, m)).sort((a, b) => a - b);
  if (m <= blockSize) return [members];
  const numSeeds = Math.ceil(m / blockSize);
  // Distinct seeds by a partial Fisher-Yates over member indexes.
  const idx = Uint32Array.from({ length: m }, (_, i) => i);
  const seeds = new Uint32Array(numSeeds);
  for (let j = 0; j < numSeeds; j++) {
    const r = j + Math.floor(rand() * (m - j));
    const x = idx[j]!;
    idx[j] = idx[r]!;
    idx[r] = x;
    seeds[j] = members[idx[j]!]!;
  }
  // A small inverted index of the seeds' signatures: term → (seed, value) chain.
  const nextEntry: number[] = [];
  const entrySeed: number[] = [];
  const entryValue: number[] = [];
  const usedTerms: number[] = [];
  for (let j = 0; j < numSeeds; j++) {
    const p = seeds[j]!;
    for (let i = fwdStart[p]!, end = Math.min(fwdStart[p + 1]!, i + SIGNATURE_TERMS); i < end; i++) {
      const term = fwdTerms[i]!;
      if (term === t) continue;
      if (head[term] === -1) usedTerms.push(term);
      nextEntry.push(head[term]!);
      entrySeed.push(j);
      entryValue.push(fwdValues[i]!);
      head[term] = nextEntry.length - 1;
    }
  }
  const groups: number[][] = Array.from({ length: numSeeds }, () => []);
  const loose: number[] = [];
  const touchedSeeds: number[] = [];
  for (const p of members) {
    for (let i = fwdStart[p]!, end = Math.min(fwdStart[p + 1]!, i + SIGNATURE_TERMS); i < end; i++) {
      const term = fwdTerms[i]!;
      if (term === t) continue;
      const v = fwdValues[i]!;
      for (let e = head[term]!; e !== -1; e = nextEntry[e]!) {
        const j = entrySeed[e]!;
        if (score[j] === 0) touchedSeeds.push(j);
        score[j] = score[j]! + v * entryValue[e]!;
      }
    }
    let best = -1, bestScore = 0;
    for (const j of touchedSeeds) {
      if (score[j]! > bestScore || (score[j] === bestScore && j < best)) {
        best = j;
        bestScore = score[j]!;
      }
      score[j] = 0;
    }
    touchedSeeds.length = 0;
    if (best >= 0) groups[best]!.push(p);
    else loose.push(p);
  }
  for (const term of usedTerms) head[term] = -1;
  const out = groups.filter((g) => g.length > 0);
  for (let i = 0; i < loose.length; i += blockSize) out.push(loose.slice(i, i + blockSize));
  return out;
}

/** The block structure's sections in an index file. */
export function blockSections(b: BlockData): Record<string, SectionArray> {
  return {
    fwd_start: b.fwdStart,
    fwd_words: b.fwd,
    blk_term_start: b.termBlockStart,
    blk_doc_start: b.blockDocStart,
    blk_docs: b.blockDocs,
    sum_list_start: b.sumListStart,
    sum_list_terms: b.sumTerms,
    sum_list_blocks: b.sumBlocks,
    sum_list_codes: b.sumCodes,
    sum_scale: b.summaryScale,
  };
}

/** Block settings as files store them (index headers, directory manifests). */
export interface BlockSettingsJson {
  postings_per_term: number;
  block_size: number;
  summary_energy: number;
}

export function blockSettingsJson(b: BlockSettings): BlockSettingsJson {
  return { postings_per_term: b.postingsPerTerm, block_size: b.blockSize, summary_energy: b.summaryEnergy };
}

/** Block settings read from a file, checked; ERR_INDEX_CORRUPT naming `path` when invalid. */
export function blockSettingsFromJson(raw: unknown, path: string): BlockSettings {
  const r = (raw ?? {}) as Partial<BlockSettingsJson>;
  try {
    return resolveBlocks({ postingsPerTerm: r.postings_per_term!, blockSize: r.block_size!, summaryEnergy: r.summary_energy! })!;
  } catch {
    throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: invalid block structure settings ${JSON.stringify(raw)}`, { details: { path } });
  }
}

/** A section reader: the file's (checked length and dtype) or a test's. */
export type SectionReader = (name: string, dtype: 'u8' | 'u16' | 'u32' | 'f32', length?: number) => SectionArray;

/**
 * Reads and checks the block sections of an opened file: every offset table ascending and within
 * its section, every term inside the vocabulary and ascending per document, every position
 * inside the index, every weight and scale finite and non-negative. O(size of the sections).
 */
export function readBlocks(
  raw: unknown,
  read: SectionReader,
  d: { dim: number; numDocs: number; quantize: string },
  path: string,
): BlockData {
  const corrupt = (msg: string): never => {
    throw new SparseEncoderError('ERR_INDEX_CORRUPT', `${path}: block structure: ${msg}`, { details: { path } });
  };
  const settings = blockSettingsFromJson(raw, path);
  const { dim, numDocs: n } = d;
  if (dim > MAX_BLOCK_DIM) corrupt(`a vocabulary of ${dim} terms, above the 2^21 the block structure supports`);
  const termType = dim <= 65536 ? 'u16' : 'u32';
  const ascending = (a: Uint32Array, end: number, what: string): void => {
    if (a[0] !== 0) corrupt(`${what} does not start at 0`);
    for (let i = 1; i < a.length; i++) if (a[i]! < a[i - 1]!) corrupt(`${what} decreases at ${i}`);
    if (a[a.length - 1] !== end) corrupt(`${what} ends at ${a[a.length - 1]}, its section holds ${end}`);
  };
  const fwdStart = read('fwd_start', 'u32', n + 1) as Uint32Array;
  const fwd = read('fwd_words', 'u32', fwdStart[n]) as Uint32Array;
  ascending(fwdStart, fwd.length, 'forward offsets');
  checkForward(fwdStart, fwd, d, corrupt);
  const termBlockStart = read('blk_term_start', 'u32', dim + 1) as Uint32Array;
  const numBlocks = termBlockStart[dim]!;
  ascending(termBlockStart, numBlocks, 'term block offsets');
  for (let t = 0; t < dim; t++) if (termBlockStart[t + 1]! - termBlockStart[t]! >= MAX_TERM_BLOCKS) corrupt(`term ${t} has more than ${MAX_TERM_BLOCKS} blocks`);
  const blockDocStart = read('blk_doc_start', 'u32', numBlocks + 1) as Uint32Array;
  const blockDocs = read('blk_docs', 'u32', blockDocStart[numBlocks]) as Uint32Array;
  ascending(blockDocStart, blockDocs.length, 'block document offsets');
  for (let i = 0; i < blockDocs.length; i++) if (blockDocs[i]! >= n) corrupt(`block document ${i} is position ${blockDocs[i]}, beyond ${n} documents`);
  const blockFwd = blockForwardOffsets(fwdStart, blockDocs);
  const sumListStart = read('sum_list_start', 'u32', dim + 1) as Uint32Array;
  const entries = sumListStart[dim]!;
  const sumTerms = read('sum_list_terms', termType, entries) as Uint16Array | Uint32Array;
  const sumBlocks = read('sum_list_blocks', blockIndexType(termBlockStart), entries) as Uint8Array | Uint16Array | Uint32Array;
  const sumCodes = read('sum_list_codes', 'u8', entries) as Uint8Array;
  const summaryScale = read('sum_scale', 'f32', numBlocks) as Float32Array;
  ascending(sumListStart, entries, 'summary offsets');
  // Per list: terms inside the vocabulary, block indexes inside the list, (term, block) ascending
  // (the query kernel's binary searches rely on it).
  for (let t = 0; t < dim; t++) {
    const nb = termBlockStart[t + 1]! - termBlockStart[t]!;
    let prevTerm = -1, prevBlock = -1;
    for (let i = sumListStart[t]!, e = sumListStart[t + 1]!; i < e; i++) {
      const u = sumTerms[i]!, j = sumBlocks[i]!;
      if (u >= dim) corrupt(`summary term ${u} is outside the vocabulary`);
      if (j >= nb) corrupt(`summary entry ${i} names block ${j} of term ${t}, which has ${nb}`);
      if (u < prevTerm || (u === prevTerm && j <= prevBlock)) corrupt(`summary entries of term ${t} are not in ascending (term, block) order at ${i}`);
      prevTerm = u;
      prevBlock = j;
    }
  }
  for (let i = 0; i < numBlocks; i++) if (!(summaryScale[i]! >= 0 && summaryScale[i]! < Infinity)) corrupt(`summary scale of block ${i} is not finite`);
  return { settings, fwdStart, fwd, blockFwd, termBlockStart, blockDocStart, blockDocs, sumListStart, sumTerms, sumBlocks, sumCodes, summaryScale };
}

/**
 * Every forward document's words: its count matches its length, its terms are inside the
 * vocabulary, its weights are valid stored weights (codes up to 255, finite non-negative halves
 * and floats).
 */
function checkForward(fwdStart: Uint32Array, fwd: Uint32Array, d: { dim: number; quantize: string }, corrupt: (msg: string) => never): void {
  const wide = wideEntries(d);
  const stride = wide ? 2 : 1;
  const dim = d.dim;
  for (let p = 0; p + 1 < fwdStart.length; p++) {
    const o = fwdStart[p]!, len = fwdStart[p + 1]! - o;
    if (len === 0 || fwd[o]! * stride + 1 !== len) corrupt(`forward document ${p} holds ${len} words, its count says ${len === 0 ? 'nothing' : fwd[o]}`);
  }
  // One loop per layout, over every entry word (count words are skipped by the offsets).
  const bad = (i: number): never => {
    const term = wide ? fwd[i]! : fwd[i]! & 0xffff;
    if (term >= dim) corrupt(`forward word ${i} has term ${term}, outside the vocabulary`);
    return corrupt(`forward weight at word ${wide ? i + 1 : i} is not a valid ${d.quantize} weight (finite, non-negative)`);
  };
  const n = fwdStart.length - 1;
  // The largest valid stored weight of u8 and f16: a code's 255, a finite non-negative half's 0x7bff.
  const maxCode = d.quantize === 'u8' ? 255 : 0x7bff;
  if (!wide) {
    // term | weight << 16.
    for (let p = 0; p < n; p++) {
      for (let i = fwdStart[p]! + 1, e = fwdStart[p + 1]!; i < e; i++) {
        const w = fwd[i]!;
        if ((w & 0xffff) >= dim || w >>> 16 > maxCode) bad(i);
      }
    }
  } else if (d.quantize === 'f32') {
    const asFloat = new Float32Array(fwd.buffer, fwd.byteOffset, fwd.length);
    for (let p = 0; p < n; p++) {
      for (let i = fwdStart[p]! + 1, e = fwdStart[p + 1]!; i < e; i += 2) {
        const v = asFloat[i + 1]!;
        if (fwd[i]! >= dim || !(v >= 0 && v < Infinity)) bad(i);
      }
    }
  } else {
    for (let p = 0; p < n; p++) {
      for (let i = fwdStart[p]! + 1, e = fwdStart[p + 1]!; i < e; i += 2) if (fwd[i]! >= dim || fwd[i + 1]! > maxCode) bad(i);
    }
  }
}

export interface BlockSearchSettings {
  k: number;
  /** Query terms whose blocks are visited: the heaviest by query weight. */
  queryTermCut: number;
  /** A block is evaluated when its summary score ≥ summaryFactor × the current k-th score. */
  summaryFactor: number;
  /** Candidates kept while collecting (≥ k), ranked by their heaviest entries, then re-scored exactly. */
  candidates: number;
  /** Whether any document is deleted (else tombstones are not read). */
  hasDeletes: boolean;
  /** Entries of a document (its heaviest) its candidate score sums. */
  forwardHead: number;
}

/** Counts the last block search's work. */
export interface BlockSearchStats {
  blocksScored: number;
  blocksEvaluated: number;
  documentsScored: number;
}

/**
 * The query as a slot per term (0: not in the query) into small weight tables: a 1-byte slot
 * table stays in the L1 cache where a dense table of weights (8 bytes a term) would not, and the
 * forward index reads one slot per stored term. Queries with more than 255 terms use their 255
 * heaviest for finding candidates (final scores are exact).
 *
 * Shared by every BlockSearcher of the thread: a search runs to its end synchronously and leaves
 * every slot 0 (even when it throws). Module constants, because V8 compiles a constant typed array
 * into the kernel's loops (no loads of its base and length). The slot table's untouched pages are
 * never written, so they cost no memory.
 */
const SLOT = new Uint8Array(MAX_BLOCK_DIM);
/** slot → index of the term in the query's ascending terms. */
const SLOT_TERM = new Int32Array(256);
/** slot → query weight (summaries). */
const SLOT_QS = new Float64Array(256);
/** slot → query weight × the term's dequantization scale (u8) or the query weight (forward codes). */
const SLOT_QF = new Float64Array(256);

/** Restores the max-heap property of keys[0..n) below index i. */
function siftDown(keys: Float64Array, i: number, n: number): void {
  const x = keys[i]!;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && keys[c + 1]! > keys[c]!) c++;
    if (keys[c]! <= x) break;
    keys[i] = keys[c]!;
    i = c;
  }
  keys[i] = x;
}

/**
 * The query kernel over a BlockData. Holds a visited bitset and scratch (the query's slots are
 * the module's, above), so one BlockSearcher serves one query at a time.
 */
export class BlockSearcher {
  /** Scratch of exactScore: a document's weight per query term. */
  private byTerm = new Float64Array(64);
  /** Documents scored by this query: a bitset by position (small enough for the L2 cache), and their list, to clear it. */
  private readonly visited: Uint32Array;
  private seen: Uint32Array = new Uint32Array(4096);
  private readonly half: Float32Array | null;
  /** Forward entries of two words (see wideEntries), and the forward words as floats (f32 weights). */
  private readonly wide: boolean;
  private readonly fwdFloat: Float32Array;
  /** Keeps touch()'s reads from being optimized away. */
  private sink = 0;
  readonly stats: BlockSearchStats = { blocksScored: 0, blocksEvaluated: 0, documentsScored: 0 };

  constructor(
    private readonly d: IndexData,
    private readonly b: BlockData,
  ) {
    this.visited = new Uint32Array((d.numDocs >>> 5) + 1);
    this.half = d.quantize === 'f16' ? halfTable() : null;
    this.wide = wideEntries(d);
    this.fwdFloat = new Float32Array(b.fwd.buffer, b.fwd.byteOffset, b.fwd.length);
  }

  /**
   * The top k of a query with non-negative weights (ascending terms), with exact scores: the
   * `candidates` best by their documents' heaviest entries, re-scored in full.
   */
  search(terms: number[], weights: number[], s: BlockSearchSettings): TopK {
    const d = this.d;
    const order = terms.map((_, j) => j).sort((x, y) => weights[y]! - weights[x]! || x - y);
    const used = Math.min(255, order.length);
    const u8 = d.quantize === 'u8';
    for (let c = 0; c < used; c++) {
      const j = order[c]!;
      const t = terms[j]!;
      SLOT[t] = c + 1;
      SLOT_TERM[c + 1] = j;
      SLOT_QS[c + 1] = weights[j]!;
      SLOT_QF[c + 1] = u8 ? weights[j]! * d.termScale[t]! : weights[j]!;
    }
    let done = false;
    try {
      const heap = this.collect(terms, order, used, s);
      // Candidates were ranked by their heaviest entries: the final k by exact scores (and
      // their ordinals, read only now).
      if (this.byTerm.length < terms.length) this.byTerm = new Float64Array(terms.length);
      const out = new TopK(s.k);
      const ordOf = d.docOrdinal;
      for (let i = 0; i < heap.size; i++) {
        const p = heap.pos[i]!;
        out.push(this.exactScore(p, terms, weights), ordOf[p]!, p);
      }
      done = true;
      return out;
    } finally {
      // The shared slots go back to 0, and so does the visited set if the search stopped half way.
      for (let c = 0; c < used; c++) SLOT[terms[order[c]!]!] = 0;
      if (!done) this.visited.fill(0);
    }
  }

  /**
   * The candidates, by partial scores: the blocks of the query's heaviest terms, best summary
   * first. A candidate's ordinal field holds its position (ties by position), as reading the
   * ordinal of every document that enters the heap costs a cache miss each. Leaves `visited` clear.
   */
  private collect(terms: number[], order: number[], used: number, s: BlockSearchSettings): TopK {
    const { b, stats } = this;
    const slot = SLOT, qs = SLOT_QS;
    const heap = this.candidateHeap(s.candidates);
    stats.blocksScored = stats.blocksEvaluated = stats.documentsScored = 0;
    const visited = this.visited;
    let ns = 0;
    const cut = Math.min(s.queryTermCut, used);
    const { termBlockStart, blockDocStart, sumListStart, sumTerms, sumBlocks, sumCodes, summaryScale } = b;
    const factor = s.summaryFactor;
    for (let c = 0; c < cut; c++) {
      const t = terms[order[c]!]!;
      const b0 = termBlockStart[t]!, nb = termBlockStart[t + 1]! - b0;
      if (nb === 0) continue;
      // Every block's summary score, then the blocks best first (Seismic's first_sorted, for
      // every term): the k-th score rises fastest, and the first block that fails the test
      // ends the term, as every later one scores lower.
      const keys = this.blockKeys(nb);
      const sums = this.blockSums.fill(0, 0, nb);
      // Only the summary entries of the query's terms: each found from the last one's place
      // (both ascending) by a galloping search, then its blocks in order.
      let lo = sumListStart[t]!;
      const hi = sumListStart[t + 1]!;
      for (let q = 0; q < terms.length && lo < hi; q++) {
        const u = terms[q]!;
        const sl = slot[u]!;
        if (sl === 0) continue;
        let step = 1;
        while (lo + step < hi && sumTerms[lo + step - 1]! < u) step *= 2;
        let a = lo + (step >>> 1), z = Math.min(lo + step, hi);
        while (a < z) {
          const mid = (a + z) >>> 1;
          if (sumTerms[mid]! < u) a = mid + 1;
          else z = mid;
        }
        const w = qs[sl]!;
        for (; a < hi && sumTerms[a] === u; a++) sums[sumBlocks[a]!] += w * sumCodes[a]!;
        lo = a;
      }
      let best = 0;
      for (let j = 0; j < nb; j++) {
        const sum = sums[j]! * summaryScale[b0 + j]!;
        sums[j] = sum;
        if (sum > best) best = sum;
      }
      stats.blocksScored += nb;
      // Keys pack a 31-bit score (relative to the best) over the block's index (ties: lower
      // index first), in a max-heap: the first block that fails ends the term, so only the
      // blocks evaluated, and one more, are taken out in order (a full sort took longer).
      const inv = best > 0 ? 2147483647 / best : 0;
      for (let j = 0; j < nb; j++) keys[j] = Math.floor(sums[j]! * inv) * 2097152 + (MAX_TERM_BLOCKS - j);
      for (let j = (nb >>> 1) - 1; j >= 0; j--) siftDown(keys, j, nb);
      for (let left = nb; left > 0; ) {
        const j = MAX_TERM_BLOCKS - (keys[0]! % 2097152);
        if (heap.full && sums[j]! < factor * heap.threshold) break;
        keys[0] = keys[--left]!;
        siftDown(keys, 0, left);
        const blk = b0 + j;
        stats.blocksEvaluated++;
        const i0 = blockDocStart[blk]!, i1 = blockDocStart[blk + 1]!;
        if (ns + (i1 - i0) > this.seen.length) this.growSeen(ns + (i1 - i0));
        ns = this.scanBlock(i0, i1, heap, ns, s);
      }
    }
    stats.documentsScored = ns;
    const seen = this.seen;
    for (let i = 0; i < ns; i++) visited[seen[i]! >>> 5] = 0;
    return heap;
  }

  /**
   * Scores a block's documents not yet visited on their heads, into the heap; `seen[ns..]` lists
   * them. A method of its own: the kernel's few live values then stay in registers.
   */
  private scanBlock(i0: number, i1: number, heap: TopK, ns: number, s: BlockSearchSettings): number {
    const { blockDocs, blockFwd } = this.b;
    const { visited, seen } = this;
    const deleted = this.d.deleted, ordOf = this.d.docOrdinal;
    const checkDeleted = s.hasDeletes, head = s.forwardHead;
    this.touch(i0, i1, head);
    for (let i = i0; i < i1; i++) {
      const p = blockDocs[i]!;
      const word = p >>> 5, bit = 1 << (p & 31);
      if ((visited[word]! & bit) !== 0) continue;
      visited[word] = visited[word]! | bit;
      seen[ns++] = p;
      const score = this.forwardScore(blockFwd[i]!, head);
      if (score < heap.threshold) continue;
      // The ordinal (a cache miss) is read only where tombstones must be checked.
      if (checkDeleted && deleted[ordOf[p]!] !== 0) continue;
      heap.push(score, p, p);
    }
    return ns;
  }

  /**
   * Reads one word of every cache line of the block's documents' heads before scoring them: the
   * loads are independent, so the CPU fetches the lines in parallel instead of one document at a
   * time (JavaScript has no prefetch instruction).
   */
  private touch(i0: number, i1: number, head: number): void {
    const { blockFwd, fwd } = this.b;
    const stride = this.wide ? 2 : 1;
    let x = 0;
    for (let i = i0; i < i1; i++) {
      const o = blockFwd[i]!;
      // The count word is in the first line; the head ends after min(count, head) entries, and its
      // last word may be one line past the last 16-word step.
      const end = o + 1 + Math.min(fwd[o]!, head) * stride;
      for (let j = o + 16; j < end; j += 16) x += fwd[j]!;
      x += fwd[end - 1]!;
    }
    this.sink = x;
  }

  private candidates: TopK | undefined;

  /** The candidate heap, emptied (reused while the size stays: a query allocates less). */
  private candidateHeap(size: number): TopK {
    if (this.candidates?.k !== size) this.candidates = new TopK(size);
    this.candidates.clear();
    return this.candidates;
  }

  private keys = new Float64Array(256);
  private blockSums = new Float64Array(256);

  /** Sort keys for nb blocks (a view of reused scratch); blockSums grows with it. */
  private blockKeys(nb: number): Float64Array {
    if (nb > this.keys.length) {
      let cap = this.keys.length;
      while (cap < nb) cap *= 2;
      this.keys = new Float64Array(cap);
      this.blockSums = new Float64Array(cap);
    }
    return this.keys.subarray(0, nb);
  }

  private growSeen(need: number): void {
    let cap = this.seen.length;
    while (cap < need) cap *= 2;
    const next = new Uint32Array(cap);
    next.set(this.seen);
    this.seen = next;
  }

  /** The score over the heaviest `head` entries (all when head ≥ its count) of the document at forward offset o. */
  private forwardScore(o: number, head: number): number {
    const fwd = this.b.fwd;
    const slot = SLOT, qf = SLOT_QF;
    let s = 0;
    const count = Math.min(fwd[o]!, head);
    if (!this.wide) {
      const half = this.half;
      const e = o + 1 + count;
      if (half) {
        for (let i = o + 1; i < e; i++) {
          const w = fwd[i]!;
          s += qf[slot[w & 0xffff]!]! * half[w >>> 16]!;
        }
      } else {
        for (let i = o + 1; i < e; i++) {
          const w = fwd[i]!;
          s += qf[slot[w & 0xffff]!]! * (w >>> 16);
        }
      }
    } else if (this.d.quantize === 'f32') {
      const f = this.fwdFloat;
      for (let i = o + 1, e = o + 1 + 2 * count; i < e; i += 2) s += qf[slot[fwd[i]!]!]! * f[i + 1]!;
    } else {
      const half = this.half;
      for (let i = o + 1, e = o + 1 + 2 * count; i < e; i += 2) s += qf[slot[fwd[i]!]!]! * (half ? half[fwd[i + 1]!]! : fwd[i + 1]!);
    }
    return s;
  }

  /**
   * The exact score, summed as exact search sums it (ascending query terms, q × dequantized
   * weight), so block hits carry the very scores exact search gives. Runs while the query's slots
   * are set: `slotTerm` maps a slot to its index in the query's ascending terms.
   */
  private exactScore(p: number, terms: number[], weights: number[]): number {
    const { fwdStart, fwd } = this.b;
    const { byTerm, wide, fwdFloat } = this;
    const slot = SLOT, slotTerm = SLOT_TERM;
    const u8 = this.d.quantize === 'u8', f32 = this.d.quantize === 'f32', scale = this.d.termScale;
    const half = this.half;
    let lo = byTerm.length, hi = -1;
    // Queries of more than 255 terms have slots for their 255 heaviest only: others are found by binary search.
    const slotted = terms.length <= 255;
    const stride = wide ? 2 : 1;
    for (let i = fwdStart[p]! + 1, e = fwdStart[p + 1]!; i < e; i += stride) {
      const t = wide ? fwd[i]! : fwd[i]! & 0xffff;
      let j: number;
      if (slotted) {
        const sl = slot[t]!;
        if (sl === 0) continue;
        j = slotTerm[sl]!;
      } else {
        let a = 0, b = terms.length;
        while (a < b) {
          const mid = (a + b) >>> 1;
          if (terms[mid]! < t) a = mid + 1;
          else b = mid;
        }
        if (a === terms.length || terms[a] !== t) continue;
        j = a;
      }
      const raw = wide ? (f32 ? fwdFloat[i + 1]! : fwd[i + 1]!) : fwd[i]! >>> 16;
      byTerm[j] = half ? half[raw]! : u8 ? raw * scale[t]! : raw;
      if (j < lo) lo = j;
      if (j > hi) hi = j;
    }
    let s = 0;
    for (let j = lo; j <= hi; j++) {
      const w = byTerm[j]!;
      if (w !== 0) {
        s += weights[j]! * w;
        byTerm[j] = 0;
      }
    }
    return s;
  }
}
