import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../helpers/paths.js';
import { loadStateDict } from '../../src/weights/load.js';
import type { StateDict } from '../../src/weights/types.js';

/** One recorded encoding in a fixture's expected.json. */
export interface RecordedResult {
  text_id: number;
  input_ids: number[];
  token_type_ids?: number[];
  indices: number[];
  values: number[];
  error?: string;
}

export interface FixtureModel {
  config: Record<string, unknown>;
  weights: StateDict;
  pooling: 'max' | 'sum';
  activation: 'relu' | 'log1p_relu';
  expected: Record<string, unknown> & { results: Record<string, RecordedResult[]> };
}

const readJson = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));

/**
 * Loads a fixture's MLM (in `mlmDir`, relative to the fixture folder) and its SpladePooling
 * settings (in `poolingDir`), plus expected.json.
 */
export async function loadSpladeFixture(name: string, mlmDir = '.', poolingDir = '1_SpladePooling'): Promise<FixtureModel> {
  const root = fixture(name);
  const pool = readJson(join(root, poolingDir, 'config.json'));
  return {
    config: readJson(join(root, mlmDir, 'config.json')),
    weights: await loadStateDict(join(root, mlmDir)),
    pooling: pool.pooling_strategy,
    activation: pool.activation_function,
    expected: readJson(join(root, 'expected.json')),
  };
}

export interface VectorLike {
  indices: ArrayLike<number>;
  values: ArrayLike<number>;
}

/**
 * ORACLE.md's recommended comparison: indices exactly equal, values within 1e-4 + 1e-4·|b|.
 * Returns a description of the first difference, or undefined when they agree.
 */
export function vectorMismatch(actual: VectorLike, expected: VectorLike, atol = 1e-4, rtol = 1e-4): string | undefined {
  if (actual.indices.length !== expected.indices.length) {
    return `nnz ${actual.indices.length} vs expected ${expected.indices.length}`;
  }
  for (let i = 0; i < expected.indices.length; i++) {
    if (actual.indices[i] !== expected.indices[i]) return `index #${i}: ${actual.indices[i]} vs expected ${expected.indices[i]}`;
    const a = actual.values[i]!;
    const b = expected.values[i]!;
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) return `value at ${expected.indices[i]}: ${a} vs expected ${b}`;
  }
  return undefined;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
