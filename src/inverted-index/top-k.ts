/**
 * Bounded min-heap of the best k (score, ordinal) pairs. "Better" = higher score, then lower
 * ordinal (insertion order), which is the documented tie-break.
 */
export class TopK {
  readonly scores: Float64Array;
  readonly ords: Uint32Array;
  readonly pos: Uint32Array;
  size = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.ords = new Uint32Array(k);
    this.pos = new Uint32Array(k);
  }

  get full(): boolean {
    return this.size === this.k;
  }

  /** Empties the heap (for reuse). */
  clear(): void {
    this.size = 0;
  }

  /** The k-th best score so far, or -Infinity while fewer than k. */
  get threshold(): number {
    return this.size === this.k ? this.scores[0]! : -Infinity;
  }

  /** True when (a, oa) ranks below (b, ob). */
  private static worse(a: number, oa: number, b: number, ob: number): boolean {
    return a < b || (a === b && oa > ob);
  }

  push(score: number, ord: number, pos: number): void {
    const { scores, ords } = this;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopK.worse(score, ord, scores[p]!, ords[p]!)) break;
        scores[i] = scores[p]!;
        ords[i] = ords[p]!;
        this.pos[i] = this.pos[p]!;
        i = p;
      }
      scores[i] = score;
      ords[i] = ord;
      this.pos[i] = pos;
      return;
    }
    if (this.k === 0 || !TopK.worse(scores[0]!, ords[0]!, score, ord)) return;
    // Replace the root and sift down.
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && TopK.worse(scores[r]!, ords[r]!, scores[l]!, ords[l]!)) c = r;
      if (!TopK.worse(scores[c]!, ords[c]!, score, ord)) break;
      scores[i] = scores[c]!;
      ords[i] = ords[c]!;
      this.pos[i] = this.pos[c]!;
      i = c;
    }
    scores[i] = score;
    ords[i] = ord;
    this.pos[i] = pos;
  }

  /** Entries best first. */
  sorted(): Array<{ score: number; ord: number; pos: number }> {
    const out = [];
    for (let i = 0; i < this.size; i++) out.push({ score: this.scores[i]!, ord: this.ords[i]!, pos: this.pos[i]! });
    out.sort((a, b) => b.score - a.score || a.ord - b.ord);
    return out;
  }
}
