import { halfTable } from './half.js';
import type { IndexData } from './index-data.js';
import { TopK } from './top-k.js';

/** A query reduced to the terms the index knows: ascending term ids, weights as given. */
export interface PreparedQuery {
  terms: number[];
  weights: number[];
  hasNegative: boolean;
}

export interface PrunedSettings {
  k: number;
  /** Visit a range when heapFactor × bound ≥ k-th score; 1 = exact. */
  heapFactor: number;
  /** Heap size during candidate generation (≥ k). */
  candidates: number;
}

/** Counts the last query's work, for benchmarks and tuning. */
export interface SearchStats {
  postings: number;
  rangesVisited: number;
}

type Weights = Uint8Array | Float32Array;

/**
 * Query kernels over an IndexData. Holds per-index scratch memory (an accumulator per document,
 * a bound per range), so one Searcher serves one query at a time (JavaScript is single-threaded).
 * Weights are read as `mul × stored`, where mul = q × scale for u8 and q for floats; f16 weights
 * are widened to f32 once, so the hot loops only ever see two array types.
 */
export class Searcher {
  private readonly acc: Float64Array;
  private touched: Uint32Array;
  private readonly ub: Float64Array;
  private readonly visited: Uint8Array;
  private readonly keys: Float64Array;
  private readonly shortW: Weights;
  private readonly longW: Weights;
  private readonly u8: boolean;
  readonly stats: SearchStats = { postings: 0, rangesVisited: 0 };

  constructor(private readonly d: IndexData) {
    this.acc = new Float64Array(d.numDocs);
    this.touched = new Uint32Array(1024);
    this.ub = new Float64Array(d.numRanges);
    this.visited = new Uint8Array(d.numRanges);
    this.keys = new Float64Array(d.numRanges);
    this.u8 = d.quantize === 'u8';
    this.shortW = this.widen(d.shortWeights);
    this.longW = this.widen(d.longWeights);
  }

  private widen(w: Uint8Array | Uint16Array | Float32Array): Weights {
    if (!(w instanceof Uint16Array)) return w;
    const h = halfTable();
    const out = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) out[i] = h[w[i]!]!;
    return out;
  }

  private mul(t: number, q: number): number {
    return this.u8 ? q * this.d.termScale[t]! : q;
  }

  private growTouched(need: number): void {
    if (need <= this.touched.length) return;
    let cap = this.touched.length;
    while (cap < need) cap *= 2;
    const t = new Uint32Array(cap);
    t.set(this.touched);
    this.touched = t;
  }

  /** Term-at-a-time over every posting of the query terms. Exact. */
  exhaustive(q: PreparedQuery, k: number): TopK {
    const d = this.d;
    const { acc, stats } = this;
    const heap = new TopK(k);
    stats.postings = 0;
    stats.rangesVisited = d.numRanges;
    if (q.hasNegative) return this.exhaustiveSigned(q, heap);
    let bound = 0;
    for (const t of q.terms) bound += this.termPostings(t);
    this.growTouched(Math.min(bound, d.numDocs));
    const touched = this.touched;
    let nt = 0;
    const shift = d.rangeShift;
    const stride = d.numRanges + 1;
    for (let j = 0; j < q.terms.length; j++) {
      const t = q.terms[j]!;
      const m = this.mul(t, q.weights[j]!);
      const s = d.longSlot[t]!;
      if (s < 0) {
        const docs = d.shortDocs, w = this.shortW;
        const e = d.shortStart[t + 1]!;
        stats.postings += e - d.shortStart[t]!;
        for (let i = d.shortStart[t]!; i < e; i++) {
          const doc = docs[i]!;
          const a = acc[doc]!;
          if (a === 0) touched[nt++] = doc;
          acc[doc] = a + m * w[i]!;
        }
      } else {
        const low = d.longLow, w = this.longW, starts = d.longRangeStart;
        const row = s * stride;
        stats.postings += starts[row + d.numRanges]! - starts[row]!;
        for (let r = 0; r < d.numRanges; r++) {
          const base = r << shift;
          for (let i = starts[row + r]!, e = starts[row + r + 1]!; i < e; i++) {
            const doc = base + low[i]!;
            const a = acc[doc]!;
            if (a === 0) touched[nt++] = doc;
            acc[doc] = a + m * w[i]!;
          }
        }
      }
    }
    const deleted = d.deleted, ordOf = d.docOrdinal;
    for (let i = 0; i < nt; i++) {
      const doc = touched[i]!;
      const score = acc[doc]!;
      acc[doc] = 0;
      const ord = ordOf[doc]!;
      if (deleted[ord] === 0) heap.push(score, ord, doc);
    }
    return heap;
  }

  /** Exhaustive search for queries with negative weights, where a zero sum does not mean "untouched". */
  private exhaustiveSigned(q: PreparedQuery, heap: TopK): TopK {
    const d = this.d;
    const seen = new Uint8Array(d.numDocs);
    const docs: number[] = [];
    for (let j = 0; j < q.terms.length; j++) {
      const t = q.terms[j]!;
      const qw = q.weights[j]!;
      this.forEachPosting(t, (doc, w) => {
        if (seen[doc] === 0) {
          seen[doc] = 1;
          docs.push(doc);
        }
        this.acc[doc] = this.acc[doc]! + qw * w;
      });
    }
    for (const doc of docs) {
      const score = this.acc[doc]!;
      this.acc[doc] = 0;
      const ord = d.docOrdinal[doc]!;
      if (d.deleted[ord] === 0) heap.push(score, ord, doc);
    }
    return heap;
  }

  private termPostings(t: number): number {
    const d = this.d;
    const s = d.longSlot[t]!;
    if (s < 0) return d.shortStart[t + 1]! - d.shortStart[t]!;
    const stride = d.numRanges + 1;
    return d.longRangeStart[s * stride + d.numRanges]! - d.longRangeStart[s * stride]!;
  }

  /** Calls fn(position, weight) for every posting of term t (slow path: tests, extraction, signed queries). */
  forEachPosting(t: number, fn: (doc: number, weight: number) => void): void {
    const d = this.d;
    const s = d.longSlot[t]!;
    const scale = this.u8 ? d.termScale[t]! : 1;
    if (s < 0) {
      for (let i = d.shortStart[t]!; i < d.shortStart[t + 1]!; i++) fn(d.shortDocs[i]!, this.shortW[i]! * scale);
      return;
    }
    const stride = d.numRanges + 1;
    for (let r = 0; r < d.numRanges; r++) {
      const base = r << d.rangeShift;
      for (let i = d.longRangeStart[s * stride + r]!; i < d.longRangeStart[s * stride + r + 1]!; i++) {
        fn(base + d.longLow[i]!, this.longW[i]! * scale);
      }
    }
  }

  /** The stored weight of term t in the document at position `doc` (0 if absent), by binary search. */
  weightAt(t: number, doc: number): number {
    const d = this.d;
    const s = d.longSlot[t]!;
    const scale = this.u8 ? d.termScale[t]! : 1;
    if (s < 0) {
      let lo = d.shortStart[t]!, hi = d.shortStart[t + 1]!;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (d.shortDocs[mid]! < doc) lo = mid + 1;
        else hi = mid;
      }
      return lo < d.shortStart[t + 1]! && d.shortDocs[lo] === doc ? this.shortW[lo]! * scale : 0;
    }
    const r = doc >>> d.rangeShift;
    const low = doc & (d.rangeSize - 1);
    const row = s * (d.numRanges + 1);
    let lo = d.longRangeStart[row + r]!, hi = d.longRangeStart[row + r + 1]!;
    const end = hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (d.longLow[mid]! < low) lo = mid + 1;
      else hi = mid;
    }
    return lo < end && d.longLow[lo] === low ? this.longW[lo]! * scale : 0;
  }

  /** Adds every long query term's postings in range r, then offers the range's documents to the heap. */
  private scoreRange(r: number, slots: Int32Array, muls: Float64Array, heap: TopK): void {
    const d = this.d;
    const acc = this.acc;
    this.visited[r] = 1;
    this.stats.rangesVisited++;
    const base = r << d.rangeShift;
    const low = d.longLow, w = this.longW, starts = d.longRangeStart;
    const stride = d.numRanges + 1;
    let postings = 0;
    for (let j = 0; j < slots.length; j++) {
      const row = slots[j]! * stride + r;
      const m = muls[j]!;
      const b = starts[row]!, e = starts[row + 1]!;
      postings += e - b;
      for (let i = b; i < e; i++) {
        const doc = base + low[i]!;
        acc[doc] = acc[doc]! + m * w[i]!;
      }
    }
    this.stats.postings += postings;
    const end = Math.min(base + d.rangeSize, d.numDocs);
    const deleted = d.deleted, ordOf = d.docOrdinal;
    for (let doc = base; doc < end; doc++) {
      const score = acc[doc]!;
      if (score === 0) continue;
      acc[doc] = 0;
      const ord = ordOf[doc]!;
      if (deleted[ord] === 0) heap.push(score, ord, doc);
    }
  }

  /**
   * Block-max pruning over ranges. Short terms are scored in full first (they are cheap) and give
   * each range the best partial score of its documents; each long term adds q × its 8-bit range
   * bound. Ranges are then scored whole (all long terms) only while their bound can reach the
   * current k-th score: first the few most promising ranges, to set a good threshold early,
   * then every other range in position order. With heapFactor = 1 the result is exact.
   */
  pruned(q: PreparedQuery, settings: PrunedSettings): TopK {
    const d = this.d;
    const { acc, ub, visited, stats } = this;
    const heap = new TopK(settings.candidates);
    const nr = d.numRanges;
    const shift = d.rangeShift;
    const stride = nr + 1;
    const hf = settings.heapFactor;
    stats.postings = 0;
    stats.rangesVisited = 0;
    ub.fill(0);
    visited.fill(0);
    const longSlots: number[] = [];
    const longMul: number[] = [];
    // Short terms in full.
    let shortTotal = 0;
    for (const t of q.terms) if (d.longSlot[t]! < 0) shortTotal += d.shortStart[t + 1]! - d.shortStart[t]!;
    this.growTouched(Math.min(shortTotal, d.numDocs) + 1);
    const touched = this.touched;
    let nt = 0;
    for (let j = 0; j < q.terms.length; j++) {
      const t = q.terms[j]!;
      const s = d.longSlot[t]!;
      if (s >= 0) {
        longSlots.push(s);
        longMul.push(this.mul(t, q.weights[j]!));
        // Bound: q × code × scale, in the term's bound unit.
        const bm = q.weights[j]! * d.termScale[t]!;
        const rmax = d.longRangeMax;
        const row = s * nr;
        for (let r = 0; r < nr; r++) ub[r] = ub[r]! + bm * rmax[row + r]!;
        continue;
      }
      const m = this.mul(t, q.weights[j]!);
      const docs = d.shortDocs, w = this.shortW;
      const e = d.shortStart[t + 1]!;
      stats.postings += e - d.shortStart[t]!;
      for (let i = d.shortStart[t]!; i < e; i++) {
        const doc = docs[i]!;
        const a = acc[doc]!;
        if (a === 0) touched[nt++] = doc;
        acc[doc] = a + m * w[i]!;
      }
    }
    // Ranges: add the best short-term partial score of their documents.
    const shortMax = new Float64Array(nr);
    for (let i = 0; i < nt; i++) {
      const doc = touched[i]!;
      const r = doc >>> shift;
      if (acc[doc]! > shortMax[r]!) shortMax[r] = acc[doc]!;
    }
    for (let r = 0; r < nr; r++) ub[r] = ub[r]! + shortMax[r]!;

    const slots = Int32Array.from(longSlots);
    const muls = Float64Array.from(longMul);
    const scoreRange = (r: number): void => this.scoreRange(r, slots, muls, heap);
    // A range can matter while bound ≥ threshold; the small relative slack absorbs rounding.
    const canReach = (r: number): boolean => {
      const b = ub[r]!;
      if (b <= 0) return false;
      if (!heap.full) return true;
      return hf * b * (1 + 1e-9) >= heap.threshold;
    };
    // The most promising ranges first.
    const m = Math.min(nr, 4 + Math.ceil(settings.candidates / 16));
    const best = new Int32Array(m).fill(-1);
    for (let r = 0; r < nr; r++) {
      const b = ub[r]!;
      if (b <= 0 || (best[m - 1]! >= 0 && b <= ub[best[m - 1]!]!)) continue;
      let i = m - 1;
      while (i > 0 && (best[i - 1]! < 0 || ub[best[i - 1]!]! < b)) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = r;
    }
    for (let i = 0; i < m; i++) if (best[i]! >= 0) scoreRange(best[i]!);
    // Then the ranges that can still reach the threshold, by decreasing bound, so the threshold
    // rises as fast as possible. Keys pack a 31-bit quantized bound over the range number for a
    // native numeric sort; the order is only a heuristic, every range is still tested exactly.
    let maxUb = 0;
    for (let r = 0; r < nr; r++) if (ub[r]! > maxUb) maxUb = ub[r]!;
    let nk = 0;
    const keys = this.keys;
    for (let r = 0; r < nr; r++) {
      if (visited[r] === 0 && canReach(r)) keys[nk++] = Math.floor((ub[r]! / maxUb) * 2147483647) * 4194304 + r;
    }
    const sorted = keys.subarray(0, nk).sort();
    for (let i = nk - 1; i >= 0; i--) {
      const r = sorted[i]! % 4194304;
      if (canReach(r)) scoreRange(r);
    }
    // Short-only documents of skipped ranges still hold partial sums.
    for (let i = 0; i < nt; i++) acc[touched[i]!] = 0;
    return heap;
  }
}
