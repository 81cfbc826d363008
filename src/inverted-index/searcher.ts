import { SUPER_SHIFT, type IndexData } from './index-data.js';
import type { LongList, PostingStore, ShortList } from './postings.js';
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
  /**
   * Approximate: only this many query terms, those with the largest q × (term's largest weight),
   * find candidates (long ones bound the ranges, short ones are accumulated); visited ranges are
   * still scored with every long term. Cheaper bounds, and lower ones. Default: all (exact).
   */
  boundTerms?: number;
}

/** Counts the last query's work, for benchmarks and tuning. */
export interface SearchStats {
  postings: number;
  rangesVisited: number;
}

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
  private readonly shortMax: Float64Array;
  private readonly superUb: Float64Array;
  private readonly keys: Float64Array;
  private readonly rangeHeap: Int32Array;
  private readonly u8: boolean;
  private readonly postings: PostingStore;
  readonly stats: SearchStats = { postings: 0, rangesVisited: 0 };

  constructor(private readonly d: IndexData) {
    this.acc = new Float64Array(d.numDocs);
    this.touched = new Uint32Array(1024);
    this.ub = new Float64Array(d.numRanges);
    this.shortMax = new Float64Array(d.numRanges);
    this.superUb = new Float64Array(d.numSuper);
    this.keys = new Float64Array(d.numSuper);
    this.rangeHeap = new Int32Array(d.numRanges);
    this.u8 = d.quantize === 'u8';
    this.postings = d.postings;
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

  /**
   * Adds `m ×` every posting of short term `t` to the accumulators, appending newly touched
   * documents to `touched` from `nt` on (its capacity is grown by the caller). Returns the new count.
   */
  private accumulateShort(t: number, m: number, nt: number): number {
    const acc = this.acc, touched = this.touched;
    const { docs, weights: w, begin, end: e } = this.postings.short(t);
    this.stats.postings += e - begin;
    for (let i = begin; i < e; i++) {
      const doc = docs[i]!;
      const a = acc[doc]!;
      if (a === 0) touched[nt++] = doc;
      acc[doc] = a + m * w[i]!;
    }
    return nt;
  }

  /**
   * Term-at-a-time over every posting of the query terms. Exact, and summed as `rescore` sums
   * (ascending terms, from 0), so its scores need no re-scoring. Its products are the same too:
   * q and the u8 scale are f32, so q × scale is exact in a double, and (q × scale) × code rounds
   * the same exact product once, as q × (code × scale) does.
   */
  exhaustive(q: PreparedQuery, k: number): TopK {
    const d = this.d;
    const { acc, stats } = this;
    const heap = new TopK(k);
    stats.postings = 0;
    stats.rangesVisited = d.numRanges;
    if (q.hasNegative) return this.exhaustiveSigned(q, heap);
    // Long lists fetched once (a list read from the file is then not read twice).
    const lists = q.terms.map((t) => (d.longSlot[t]! >= 0 ? this.postings.long(d.longSlot[t]!) : null));
    let bound = 0;
    for (let j = 0; j < q.terms.length; j++) {
      const l = lists[j];
      const t = q.terms[j]!;
      bound += l ? l.starts[d.numRanges]! - l.starts[0]! : d.shortStart[t + 1]! - d.shortStart[t]!;
    }
    this.growTouched(Math.min(bound, d.numDocs));
    const touched = this.touched;
    let nt = 0;
    const shift = d.rangeShift;
    for (let j = 0; j < q.terms.length; j++) {
      const t = q.terms[j]!;
      const m = this.mul(t, q.weights[j]!);
      const l = lists[j];
      if (!l) {
        nt = this.accumulateShort(t, m, nt);
      } else {
        const { low, weights: w, starts, base: b0 } = l;
        stats.postings += starts[d.numRanges]! - starts[0]!;
        for (let r = 0; r < d.numRanges; r++) {
          const base = r << shift;
          for (let i = starts[r]! - b0, e = starts[r + 1]! - b0; i < e; i++) {
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

  /** Calls fn(position, weight) for every posting of term t (slow path: tests, extraction, signed queries). */
  forEachPosting(t: number, fn: (doc: number, weight: number) => void): void {
    const d = this.d;
    const s = d.longSlot[t]!;
    const scale = this.u8 ? d.termScale[t]! : 1;
    if (s < 0) {
      const l = this.postings.short(t);
      for (let i = l.begin; i < l.end; i++) fn(l.docs[i]!, l.weights[i]! * scale);
      return;
    }
    const l = this.postings.long(s);
    for (let r = 0; r < d.numRanges; r++) {
      const base = r << d.rangeShift;
      for (let i = l.starts[r]! - l.base, e = l.starts[r + 1]! - l.base; i < e; i++) fn(base + l.low[i]!, l.weights[i]! * scale);
    }
  }

  /** The stored weight of term t in the document at position `doc` (0 if absent), by binary search. */
  weightAt(t: number, doc: number): number {
    const s = this.d.longSlot[t]!;
    return this.weightIn(t, s < 0 ? this.postings.short(t) : this.postings.long(s), doc);
  }

  private weightIn(t: number, l: ShortList | LongList, doc: number): number {
    const d = this.d;
    const scale = this.u8 ? d.termScale[t]! : 1;
    if ('docs' in l) {
      let lo = l.begin, hi = l.end;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (l.docs[mid]! < doc) lo = mid + 1;
        else hi = mid;
      }
      return lo < l.end && l.docs[lo] === doc ? l.weights[lo]! * scale : 0;
    }
    const r = doc >>> d.rangeShift;
    const low = doc & (d.rangeSize - 1);
    let lo = l.starts[r]! - l.base, hi = l.starts[r + 1]! - l.base;
    const end = hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (l.low[mid]! < low) lo = mid + 1;
      else hi = mid;
    }
    return lo < end && l.low[lo] === low ? l.weights[lo]! * scale : 0;
  }

  /**
   * Re-scores candidates with the full query (ascending term order, as brute force sums) and
   * keeps the best k: approximate hits then carry exact scores. Each list is fetched once.
   */
  rescore(cands: Array<{ ord: number; pos: number }>, q: PreparedQuery, k: number): TopK {
    const d = this.d;
    const lists = q.terms.map((t) => (d.longSlot[t]! >= 0 ? this.postings.long(d.longSlot[t]!) : this.postings.short(t)));
    const out = new TopK(k);
    for (const c of cands) {
      let score = 0;
      for (let j = 0; j < q.terms.length; j++) {
        const w = this.weightIn(q.terms[j]!, lists[j]!, c.pos);
        if (w !== 0) score += q.weights[j]! * w;
      }
      out.push(score, c.ord, c.pos);
    }
    return out;
  }

  /** Adds every long query term's postings in range r, then offers the range's documents to the heap. */
  private scoreRange(r: number, lists: LongList[], muls: Float64Array, heap: TopK): void {
    const d = this.d;
    const acc = this.acc;
    this.stats.rangesVisited++;
    const base = r << d.rangeShift;
    let postings = 0;
    for (let j = 0; j < lists.length; j++) {
      const l = lists[j]!;
      // A zero bound means no posting of this term in the range: skip reading its offsets.
      if (l.rangeMax[r] === 0) continue;
      const m = muls[j]!;
      const low = l.low, w = l.weights;
      const b = l.starts[r]! - l.base, e = l.starts[r + 1]! - l.base;
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
   * Block-max pruning, two levels. Short terms are scored in full first (they are cheap); they
   * give each range the best partial score of its documents. Each long term adds q × its 8-bit
   * bound per super-range (SUPER_RANGE ranges), and super-ranges are visited by decreasing bound;
   * inside one, per-range bounds are computed and a range is scored whole (every long term) only
   * while heapFactor × its bound can reach the current k-th score. heapFactor = 1 is exact.
   */
  pruned(q: PreparedQuery, settings: PrunedSettings): TopK {
    const d = this.d;
    const { acc, ub, stats } = this;
    const heap = new TopK(settings.candidates);
    const nr = d.numRanges;
    const ns = d.numSuper;
    const shift = d.rangeShift;
    const hf = settings.heapFactor;
    stats.postings = 0;
    stats.rangesVisited = 0;
    const lists: LongList[] = [];
    const mulList: number[] = [];
    // Short terms in full.
    let shortTotal = 0;
    for (const t of q.terms) if (d.longSlot[t]! < 0) shortTotal += d.shortStart[t + 1]! - d.shortStart[t]!;
    this.growTouched(Math.min(shortTotal, d.numDocs) + 1);
    const touched = this.touched;
    let nt = 0;
    // With a cut, only the `boundTerms` query terms of largest possible contribution (q × the
    // term's largest weight) take part in finding candidates: the long ones bound the ranges, the
    // short ones are accumulated. Visited ranges are still scored with every long term, and the
    // caller re-scores the final hits with every term.
    const cut = settings.boundTerms;
    let selected: Uint8Array | undefined;
    if (cut !== undefined && cut < q.terms.length) {
      selected = new Uint8Array(q.terms.length);
      const order = q.terms.map((_, j) => j).sort((a, b) => q.weights[b]! * d.termMax[q.terms[b]!]! - q.weights[a]! * d.termMax[q.terms[a]!]! || a - b);
      // The cut applies to long and to short terms separately (each kind keeps its `cut` best).
      let long = 0, short = 0;
      for (const j of order) {
        if (d.longSlot[q.terms[j]!]! >= 0 ? long++ < cut : short++ < cut) selected[j] = 1;
      }
    }
    const boundLists: LongList[] = [];
    const boundList: number[] = [];
    for (let j = 0; j < q.terms.length; j++) {
      const t = q.terms[j]!;
      const s = d.longSlot[t]!;
      const use = selected === undefined || selected[j] === 1;
      if (s >= 0) {
        const l = this.postings.long(s);
        lists.push(l);
        mulList.push(this.mul(t, q.weights[j]!));
        if (use) {
          boundLists.push(l);
          boundList.push(q.weights[j]! * d.termScale[t]!); // bound = q × code × scale
        }
        continue;
      }
      if (use) nt = this.accumulateShort(t, this.mul(t, q.weights[j]!), nt);
    }
    const muls = Float64Array.from(mulList);
    const bounds = Float64Array.from(boundList);
    // Best short-term partial score per range and per super-range.
    const shortMax = this.shortMax;
    const superUb = this.superUb;
    shortMax.fill(0);
    superUb.fill(0);
    for (let i = 0; i < nt; i++) {
      const doc = touched[i]!;
      const a = acc[doc]!;
      const r = doc >>> shift;
      if (a > shortMax[r]!) shortMax[r] = a;
      const sr = r >>> SUPER_SHIFT;
      if (a > superUb[sr]!) superUb[sr] = a;
    }
    for (let j = 0; j < boundLists.length; j++) {
      const smax = boundLists[j]!.superMax;
      const bm = bounds[j]!;
      for (let sr = 0; sr < ns; sr++) superUb[sr] = superUb[sr]! + bm * smax[sr]!;
    }
    // Super-ranges by decreasing bound. Keys pack a 31-bit quantized bound over the index for a
    // native numeric sort; the order is a heuristic only, every bound is still tested exactly.
    let maxUb = 0;
    for (let sr = 0; sr < ns; sr++) if (superUb[sr]! > maxUb) maxUb = superUb[sr]!;
    const keys = this.keys;
    let nk = 0;
    for (let sr = 0; sr < ns; sr++) {
      if (superUb[sr]! > 0) keys[nk++] = Math.floor((superUb[sr]! / maxUb) * 2147483647) * 4194304 + sr;
    }
    const sorted = keys.subarray(0, nk).sort();
    // The small relative slack absorbs rounding in the bound sums.
    const reach = (b: number): boolean => b > 0 && (!heap.full || hf * b * (1 + 1e-9) >= heap.threshold);
    // Best-first: a max-heap of expanded ranges by bound, fed by super-ranges in bound order, so
    // ranges are scored in (nearly) decreasing bound order and the threshold rises fast.
    const rh = this.rangeHeap;
    let hs = 0;
    let p = nk - 1;

    for (;;) {
      const nextSuper = p >= 0 ? superUb[sorted[p]! % 4194304]! : -1;
      if (hs > 0 && ub[rh[0]!]! >= nextSuper) {
        const r = rh[0]!;
        // Pop: move the last entry to the root and sift down.
        const last = rh[--hs]!;
        let at = 0;
        for (;;) {
          let c = 2 * at + 1;
          if (c >= hs) break;
          if (c + 1 < hs && ub[rh[c + 1]!]! > ub[rh[c]!]!) c++;
          if (ub[rh[c]!]! <= ub[last]!) break;
          rh[at] = rh[c]!;
          at = c;
        }
        rh[at] = last;
        if (reach(ub[r]!)) this.scoreRange(r, lists, muls, heap);
        else hs = 0; // the largest bound left fails, so do all others in the heap
        continue;
      }
      if (p < 0) break;
      const sr = sorted[p--]! % 4194304;
      if (!reach(superUb[sr]!)) continue;
      const r0 = sr << SUPER_SHIFT;
      const r1 = Math.min(r0 + (1 << SUPER_SHIFT), nr);
      for (let r = r0; r < r1; r++) ub[r] = shortMax[r]!;
      for (let j = 0; j < boundLists.length; j++) {
        const rmax = boundLists[j]!.rangeMax;
        const bm = bounds[j]!;
        for (let r = r0; r < r1; r++) ub[r] = ub[r]! + bm * rmax[r]!;
      }
      for (let r = r0; r < r1; r++) {
        if (!reach(ub[r]!)) continue;
        // Push and sift up.
        let at = hs++;
        const b = ub[r]!;
        while (at > 0) {
          const parent = (at - 1) >> 1;
          if (ub[rh[parent]!]! >= b) break;
          rh[at] = rh[parent]!;
          at = parent;
        }
        rh[at] = r;
      }
    }
    // Short-only documents of skipped ranges still hold partial sums.
    for (let i = 0; i < nt; i++) acc[touched[i]!] = 0;
    return heap;
  }
}
