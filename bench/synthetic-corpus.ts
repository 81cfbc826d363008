/**
 * A synthetic corpus of SPLADE-like document vectors, for benchmarks only: there are no real
 * SPLADE document vectors at scale in ../shared. Deterministic for a given seed.
 *
 * What is estimated from real vectors (../shared/data/splade-samples):
 * - Weights: each document draws its weights from the pooled weights of the 20 real SPLADE++
 *   toy passages (2,900 values: median 0.28, 90th percentile 1.08, max 2.63), ×U(0.9, 1.1)
 *   jitter, and gives the largest ones to its most important terms.
 * - Non-zeros per document: log-normal, median 150, σ = 0.22, clipped to [60, 320] (the toy
 *   passages have 102–215, mean 145).
 * - Topics: every document is about one "topic", a real query vector taken from the SPLADE++ ED
 *   MS MARCO dev queries, the SciFact queries (both encoders) and the toy passages (14,580
 *   topics). It keeps each topic term with probability 0.8, adds the terms of two "related" topics
 *   (topics that share the main topic's heaviest term; random topics when there are none) with
 *   probability 0.35, and fills the rest (about 55% of its terms) from background popularity.
 * - Background popularity: p(t) ∝ (number of real vectors containing t + 0.1) over the 29,523
 *   real word pieces (ids ≥ 999: no [unused]/special tokens).
 *
 * Assumptions (not measured, stated): topic terms are the document's heaviest terms, with a
 * log-normal (σ = 0.5) shuffle of importance; background terms are independent of the topic;
 * documents are emitted in random topic order (no locality in insertion order).
 * Queries for the benchmark are the real SPLADE-v3 MS MARCO dev vectors, so the test queries
 * share their texts (not their encoder) with the pool of topics, as MS MARCO dev queries have
 * relevant passages in the corpus.
 */
import { mulberry32 } from '../src/inverted-index/cluster.js';
import type { IndexDocument } from '../src/inverted-index/types.js';
import { loadTokenVectors, loadVocab, type NamedVector } from './lib-splade-data.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLES } from './lib-splade-data.js';

export interface SyntheticCorpusOptions {
  documents: number;
  /** PRNG seed (default 42). */
  seed?: number;
}

interface Model {
  dim: number;
  topics: NamedVector[];
  related: Map<number, number[]>;
  weightPool: Float64Array;
  alias: { prob: Float64Array; alias: Uint32Array; terms: Uint32Array };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Walker's alias table over term ids. */
function aliasTable(weights: Map<number, number>): Model['alias'] {
  const terms = Uint32Array.from(weights.keys());
  const n = terms.length;
  let total = 0;
  for (const w of weights.values()) total += w;
  const scaled = Float64Array.from(terms, (t) => (weights.get(t)! * n) / total);
  const prob = new Float64Array(n);
  const alias = new Uint32Array(n);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
  while (small.length && large.length) {
    const s = small.pop()!, l = large.pop()!;
    prob[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    (scaled[l]! < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) prob[i] = 1;
  return { prob, alias, terms };
}

function buildModel(): Model {
  const vocab = loadVocab();
  const dim = vocab.length;
  const topics = [
    ...loadTokenVectors('msmarco-dev/queries.splade-pp-ed.x1000.jsonl', 1000, vocab),
    ...loadTokenVectors('scifact/queries.splade-pp-ed.x100.jsonl', 100, vocab),
    ...loadTokenVectors('scifact/queries.splade-v3.x100.jsonl', 100, vocab),
  ];
  // Toy passages: their vectors are topics too, and their weights are the weight pool.
  const toy = readFileSync(join(SAMPLES, 'seismic-toy/documents.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
  const ids = new Map(vocab.map((t, i) => [t, i]));
  const pool: number[] = [];
  for (const line of toy) {
    const r = JSON.parse(line) as { id: number; vector: Record<string, number> };
    const entries = Object.entries(r.vector);
    for (const [, w] of entries) pool.push(w);
    if (entries.length === 0) continue;
    const sorted = entries.map(([tok, w]) => [ids.get(tok)!, w] as const).sort((a, b) => a[0] - b[0]);
    topics.push({ id: `toy${r.id}`, vector: { indices: Uint32Array.from(sorted, (e) => e[0]), values: Float32Array.from(sorted, (e) => e[1]), dim } });
  }
  const v3 = loadTokenVectors('msmarco-dev/queries.splade-v3.x100.jsonl', 100, vocab);
  const counts = new Map<number, number>();
  for (let t = 999; t < dim; t++) counts.set(t, 0.1);
  for (const v of [...topics, ...v3]) for (const t of v.vector.indices) if (t >= 999) counts.set(t, counts.get(t)! + 1);
  // Related topics: those sharing the heaviest term.
  const byTop = new Map<number, number[]>();
  const topOf = topics.map((tp) => {
    let best = -1, bw = -1;
    tp.vector.indices.forEach((t, i) => {
      if (tp.vector.values[i]! > bw) {
        bw = tp.vector.values[i]!;
        best = t;
      }
    });
    return best;
  });
  topOf.forEach((t, i) => byTop.set(t, [...(byTop.get(t) ?? []), i]));
  const related = new Map<number, number[]>();
  topOf.forEach((t, i) => related.set(i, byTop.get(t)!.filter((j) => j !== i)));
  return { dim, topics, related, weightPool: Float64Array.from(pool).sort().reverse(), alias: aliasTable(counts) };
}

let cached: Model | undefined;

/** Yields `documents` synthetic documents with ids "syn0", "syn1", …. */
export function* syntheticCorpus(options: SyntheticCorpusOptions): Generator<IndexDocument> {
  const model = (cached ??= buildModel());
  const rand = mulberry32(options.seed ?? 42);
  const { dim, topics, related, weightPool, alias } = model;
  const topicMax = topics.map((tp) => tp.vector.values.reduce((a, b) => Math.max(a, b), 0));
  const mark = new Uint32Array(dim);
  const scratch = new Float64Array(dim);
  let epoch = 0;
  const chosen: number[] = [];
  const importance: number[] = [];
  const sampleBackground = (): number => {
    const i = Math.floor(rand() * alias.terms.length);
    return alias.terms[rand() < alias.prob[i]! ? i : alias.alias[i]!]!;
  };
  for (let n = 0; n < options.documents; n++) {
    epoch++;
    chosen.length = 0;
    importance.length = 0;
    const nnz = Math.round(Math.min(320, Math.max(60, 150 * Math.exp(0.22 * gaussian(rand)))));
    const main = Math.floor(rand() * topics.length);
    const rel = related.get(main)!;
    const pick = (): number => (rel.length > 0 && rand() < 0.7 ? rel[Math.floor(rand() * rel.length)]! : Math.floor(rand() * topics.length));
    const sources: Array<[number, number, number]> = [[main, 0.8, 2], [pick(), 0.35, 1], [pick(), 0.35, 1]];
    for (const [ti, keep, base] of sources) {
      const v = topics[ti]!.vector;
      const vmax = topicMax[ti]!;
      for (let i = 0; i < v.indices.length && chosen.length < nnz; i++) {
        const t = v.indices[i]!;
        if (mark[t] === epoch || rand() >= keep) continue;
        mark[t] = epoch;
        chosen.push(t);
        importance.push((base + v.values[i]! / vmax) * Math.exp(0.5 * gaussian(rand)));
      }
    }
    let guard = 0;
    while (chosen.length < nnz && guard++ < nnz * 20) {
      const t = sampleBackground();
      if (mark[t] === epoch) continue;
      mark[t] = epoch;
      chosen.push(t);
      importance.push(rand() * 0.8 * Math.exp(0.5 * gaussian(rand)));
    }
    // Weights: nnz draws from the real pool, largest to the most important terms. Sorting packed
    // (importance, slot) keys in a Float64Array keeps this off the comparator path.
    const m = chosen.length;
    const ws = new Float64Array(m);
    for (let i = 0; i < m; i++) ws[i] = weightPool[Math.floor(rand() * weightPool.length)]! * (0.9 + 0.2 * rand());
    ws.sort();
    const keys = new Float64Array(m);
    for (let i = 0; i < m; i++) keys[i] = Math.floor(Math.min(importance[i]!, 60) * 2 ** 24) * 1024 + i;
    keys.sort();
    for (let r = 0; r < m; r++) scratch[chosen[keys[m - 1 - r]! % 1024]!] = ws[m - 1 - r]!;
    const indices = Uint32Array.from(chosen).sort();
    const values = Float32Array.from(indices, (t) => scratch[t]!);
    yield {
      id: `syn${n}`,
      vector: { indices, values, dim },
    };
  }
}
