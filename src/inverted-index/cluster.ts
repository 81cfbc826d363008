import type { DocumentCollector } from './collector.js';

/** Deterministic PRNG (mulberry32), so the clustering is reproducible for a given seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DOC_TERMS = 16;

/**
 * The `count` heaviest terms of each of the first `n` vectors of a compressed-sparse-row buffer
 * (threshold: the count-th largest weight; ties: the first ones), in the vectors' own order.
 */
function heaviestTerms(
  starts: Float64Array | Uint32Array,
  terms: Uint16Array | Uint32Array,
  values: Float32Array,
  count: number,
  n: number,
): { start: Uint32Array; terms: Uint32Array; values: Float32Array } {
  const start = new Uint32Array(n + 1);
  const outTerms = new Uint32Array(n * count);
  const outValues = new Float32Array(n * count);
  const scratch = new Float32Array(4096);
  let w = 0;
  for (let d = 0; d < n; d++) {
    const s = starts[d]!, e = starts[d + 1]!;
    const len = e - s;
    let threshold = 0;
    if (len > count) {
      const buf = len <= scratch.length ? scratch.subarray(0, len) : new Float32Array(len);
      buf.set(values.subarray(s, e));
      buf.sort();
      threshold = buf[len - count]!;
    }
    let taken = 0;
    for (let i = s; i < e && taken < count; i++) {
      if (values[i]! >= threshold) {
        outTerms[w] = terms[i]!;
        outValues[w++] = values[i]!;
        taken++;
      }
    }
    start[d + 1] = w;
  }
  return { start, terms: outTerms, values: outValues };
}

const CENTROID_TERMS = 32;

/**
 * Storage order for block-max pruning: documents that share their heaviest terms should share
 * ranges, so that a range's upper bound is close to its documents' real scores. One pass of
 * spherical k-means, seeded by sampled documents, on each document's 16 heaviest terms
 * (one cluster per range on average), then a refinement pass with centroids recomputed from
 * their members (heaviest 32 terms). Returns position → ordinal, clusters in order, insertion
 * order inside a cluster. Terms heavy in more than 2% of the centroids are ignored when assigning.
 * Costs about two passes over the heaviest terms of every document.
 */
export function clusterOrder(c: DocumentCollector, rangeSize: number, seed: number): Uint32Array {
  const n = c.count;
  const dim = c.dim ?? 0;
  const k = Math.max(1, Math.ceil(n / rangeSize));
  const rand = mulberry32(seed);
  const { start: topStart, terms: topTerms, values: topValues } = heaviestTerms(c.starts, c.terms, c.values, DOC_TERMS, n);
  // Initial centroids: distinct sampled documents.
  let cStart = new Uint32Array(k + 1);
  let cTerms = new Uint32Array(k * CENTROID_TERMS);
  let cValues = new Float32Array(k * CENTROID_TERMS);
  let cw = 0;
  for (let j = 0; j < k; j++) {
    const d = Math.floor(rand() * n);
    for (let i = topStart[d]!; i < topStart[d + 1]!; i++) {
      cTerms[cw] = topTerms[i]!;
      cValues[cw++] = topValues[i]!;
    }
    cStart[j + 1] = cw;
  }
  let assign = assignAll(n, dim, k, topStart, topTerms, topValues, cStart, cTerms.subarray(0, cw), cValues.subarray(0, cw));
  // Refinement: centroid = sum of members' heavy terms, keep its heaviest CENTROID_TERMS.
  {
    const members = countingSortBy(assign, k + 1);
    const acc = new Float64Array(dim);
    const touched: number[] = [];
    cStart = new Uint32Array(k + 1);
    cTerms = new Uint32Array(k * CENTROID_TERMS);
    cValues = new Float32Array(k * CENTROID_TERMS);
    cw = 0;
    for (let j = 0; j < k; j++) {
      touched.length = 0;
      for (let m = members.start[j]!; m < members.start[j + 1]!; m++) {
        const d = members.items[m]!;
        for (let i = topStart[d]!; i < topStart[d + 1]!; i++) {
          const t = topTerms[i]!;
          if (acc[t] === 0) touched.push(t);
          acc[t] = acc[t]! + topValues[i]!;
        }
      }
      touched.sort((a, b) => acc[b]! - acc[a]! || a - b);
      const keep = touched.slice(0, CENTROID_TERMS).sort((a, b) => a - b);
      for (const t of keep) {
        cTerms[cw] = t;
        cValues[cw++] = acc[t]!;
      }
      for (const t of touched) acc[t] = 0;
      cStart[j + 1] = cw;
    }
    assign = assignAll(n, dim, k, topStart, topTerms, topValues, cStart, cTerms.subarray(0, cw), cValues.subarray(0, cw));
  }
  return countingSortBy(assign, k + 1).items;
}

/** Assigns each document to the centroid of largest dot product (k = no overlap with any). */
function assignAll(
  n: number,
  dim: number,
  k: number,
  topStart: Uint32Array,
  topTerms: Uint32Array,
  topValues: Float32Array,
  cStart: Uint32Array,
  cTerms: Uint32Array,
  cValues: Float32Array,
): Uint32Array {
  // Inverted index over the centroids.
  const invStart = new Uint32Array(dim + 1);
  for (let i = 0; i < cTerms.length; i++) invStart[cTerms[i]! + 1]!++;
  for (let t = 0; t < dim; t++) invStart[t + 1] = invStart[t + 1]! + invStart[t]!;
  const invC = new Uint32Array(cTerms.length);
  const invV = new Float32Array(cTerms.length);
  const cur = invStart.slice(0, dim);
  for (let j = 0; j < k; j++) {
    // Normalise centroids so large clusters do not absorb everything.
    let norm = 0;
    for (let i = cStart[j]!; i < cStart[j + 1]!; i++) norm += cValues[i]! * cValues[i]!;
    norm = Math.sqrt(norm) || 1;
    for (let i = cStart[j]!; i < cStart[j + 1]!; i++) {
      const at = cur[cTerms[i]!]!++;
      invC[at] = j;
      invV[at] = cValues[i]! / norm;
    }
  }
  const maxList = Math.max(64, Math.ceil(k / 50));
  const scores = new Float64Array(k);
  const touched = new Uint32Array(k);
  const assign = new Uint32Array(n);
  for (let d = 0; d < n; d++) {
    let nt = 0;
    for (let i = topStart[d]!; i < topStart[d + 1]!; i++) {
      const t = topTerms[i]!;
      const v = topValues[i]!;
      // Terms heavy in many centroids hardly discriminate and would make this pass quadratic.
      if (invStart[t + 1]! - invStart[t]! > maxList) continue;
      for (let p = invStart[t]!, e = invStart[t + 1]!; p < e; p++) {
        const j = invC[p]!;
        if (scores[j] === 0) touched[nt++] = j;
        scores[j] = scores[j]! + v * invV[p]!;
      }
    }
    let best = k;
    let bestScore = 0;
    for (let i = 0; i < nt; i++) {
      const j = touched[i]!;
      const s = scores[j]!;
      if (s > bestScore || (s === bestScore && j < best)) {
        bestScore = s;
        best = j;
      }
      scores[j] = 0;
    }
    assign[d] = best;
  }
  return assign;
}

/** Stable counting sort of 0..n-1 by key. */
function countingSortBy(keys: Uint32Array, numKeys: number): { start: Uint32Array; items: Uint32Array } {
  const start = new Uint32Array(numKeys + 1);
  for (let i = 0; i < keys.length; i++) start[keys[i]! + 1]!++;
  for (let j = 0; j < numKeys; j++) start[j + 1] = start[j + 1]! + start[j]!;
  const cur = start.slice(0, numKeys);
  const items = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) items[cur[keys[i]!]!++] = i;
  return { start, items };
}
