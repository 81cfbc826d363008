import { SparseEncoderError } from '../errors.js';
import type { SearchOptions } from './types.js';

/** The approximate settings of SearchOptions: what the CLI's search threads and the server pass on to an index. */
export type ApproximateSettings = Pick<SearchOptions, 'approximateAlgorithm' | 'heapFactor' | 'queryTermCut' | 'summaryFactor'>;

const APPROXIMATE_KEYS = ['approximateAlgorithm', 'heapFactor', 'queryTermCut', 'summaryFactor'] as const;

/** The approximate settings that are set in `o`, as given (unchecked). */
export function approximateSettings(o: object): ApproximateSettings {
  const from = o as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of APPROXIMATE_KEYS) if (from[key] !== undefined) out[key] = from[key];
  return out as ApproximateSettings;
}

/**
 * Checks the approximate settings that are set (and `candidates`), whichever algorithm will run:
 * ERR_INVALID_ARGUMENT naming the field.
 */
export function checkApproximate(o: SearchOptions): void {
  const bad = (field: string, what: string, v: unknown): never => {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `${field} must be ${what}, got ${typeof v === 'string' ? `'${v}'` : String(v)}`, { details: { field } });
  };
  const isNumber = (v: unknown): v is number => typeof v === 'number';
  const a = o.approximateAlgorithm;
  if (a !== undefined && a !== 'auto' && a !== 'blocks' && a !== 'ranges') bad('approximateAlgorithm', "'auto', 'blocks' or 'ranges'", a);
  const { heapFactor: hf, queryTermCut: cut, summaryFactor: sf, candidates } = o;
  if (hf !== undefined && !(isNumber(hf) && hf > 0 && hf <= 1)) bad('heapFactor', 'in (0, 1]', hf);
  if (cut !== undefined && !(isNumber(cut) && Number.isInteger(cut) && cut >= 1)) bad('queryTermCut', 'a positive integer', cut);
  if (sf !== undefined && !(isNumber(sf) && sf >= 0 && sf < Infinity)) bad('summaryFactor', 'a finite number ≥ 0', sf);
  if (candidates !== undefined && !(isNumber(candidates) && Number.isInteger(candidates) && candidates >= 0)) bad('candidates', 'a non-negative integer', candidates);
}
