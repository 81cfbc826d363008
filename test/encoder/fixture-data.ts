import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { FIXTURES, fixture } from '../helpers/paths.js';
import type { SparseVector } from '../../src/sparse/vector.js';

/** The fixture folders whose expected.json has per-text encoding results (all but eval/). */
export const ENCODER_FIXTURES = [
  'splade-bert', 'splade-bert-sum', 'splade-bert-log1p', 'splade-bert-prompts', 'splade-bert-v6',
  'splade-distilbert', 'splade-distilbert-bin', 'splade-roberta', 'splade-roberta-bf16',
  'inference-free', 'inference-free-root', 'inference-free-v6', 'csr',
  'splade-gte', 'inference-free-gte',
  // Saved and computed by the genuine sentence-transformers 6.0.1.
  'splade-modernbert', 'inference-free-multilingual', 'splade-bert-st6', 'inference-free-st6',
] as const;

export interface FixtureText {
  id: number;
  name: string;
  text: string;
}

export interface ResultRecord {
  text_id: number;
  tokenizer_input: string;
  input_ids: number[];
  token_type_ids?: number[];
  nnz: number;
  indices: number[];
  values: number[];
  error?: string;
}

export interface MaxActiveDimsRecord {
  text_id: number;
  indices: number[];
  values: number[];
  differs_from_topk_of_unrestricted?: boolean;
  topk_of_unrestricted?: { indices: number[]; values: number[] };
}

export interface DecodeRecord {
  text_id: number;
  tokens: string[];
  weights: number[];
}

/** The parts of expected.json the tests read (see ../shared/fixtures/ORACLE.md). */
export interface Expected {
  fixture: string;
  versions: { sentence_transformers: string };
  model_info: {
    similarity_fn_name: string;
    prompts: Record<string, string>;
    default_prompt_name: string | null;
    max_active_dims_default: number | null;
    max_seq_length: number;
    embedding_dimension: number;
  };
  results: Record<string, ResultRecord[]>;
  similarity: {
    text_ids: number[];
    model_similarity: number[][];
    dot: number[][];
    cosine: number[][];
    pairwise_model_similarity_on_dense: number[];
  };
  decode: { top_k: number; query: DecodeRecord[]; document: DecodeRecord[]; document_text0_all: { tokens: string[]; weights: number[] } };
  max_active_dims: Record<string, Record<string, MaxActiveDimsRecord[] | number>>;
  batching: Record<string, { max_abs_diff_vs_single: number; nonzero_pattern_equal: boolean }>;
  explicit_prompt_name?: Record<string, { call: string; results: ResultRecord[] }>;
  idf_json?: Record<string, unknown>;
}

export function loadTexts(): FixtureText[] {
  return (JSON.parse(readFileSync(join(FIXTURES, 'texts.json'), 'utf8')) as { texts: FixtureText[] }).texts;
}

/** The behaviour of the sentence-transformers version that computed a fixture (`versions` in its expected.json). */
export function compatOf(expected: Expected): '5' | '6' {
  const major = expected.versions.sentence_transformers.split('.')[0];
  if (major !== '5' && major !== '6') throw new Error(`${expected.fixture}: unexpected sentence-transformers ${expected.versions.sentence_transformers}`);
  return major;
}

export function loadExpected(name: string): Expected {
  return JSON.parse(readFileSync(join(fixture(name), 'expected.json'), 'utf8')) as Expected;
}

/** ORACLE.md's recommended tolerance: |a - b| <= 1e-4 + 1e-4 |b|. */
export function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-4 + 1e-4 * Math.abs(b);
}

/** Asserts identical indices and values within tolerance. */
export function assertVector(actual: SparseVector, expected: { indices: readonly number[]; values: readonly number[] }, label: string): void {
  assert.deepEqual(Array.from(actual.indices), expected.indices, `${label}: indices`);
  for (let i = 0; i < expected.values.length; i++) {
    const a = actual.values[i]!;
    const b = expected.values[i]!;
    if (!close(a, b)) assert.fail(`${label}: value at index ${expected.indices[i]} is ${a}, expected ${b}`);
  }
}

export function assertMatrix(actual: readonly (readonly number[])[], expected: readonly (readonly number[])[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: rows`);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(actual[i]!.length, expected[i]!.length, `${label}: columns of row ${i}`);
    for (let j = 0; j < expected[i]!.length; j++) {
      if (!close(actual[i]![j]!, expected[i]![j]!)) assert.fail(`${label}[${i}][${j}] is ${actual[i]![j]}, expected ${expected[i]![j]}`);
    }
  }
}
