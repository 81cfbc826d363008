import { SparseEncoderError } from '../errors.js';
import type { TensorData } from './session.js';

/**
 * Token id rows as the tokenizer produced them: unpadded, already truncated, special tokens
 * included. `typeIds`, when given, has the same shape as `ids` (BERT segment ids).
 */
export interface TokenBatch {
  ids: number[][];
  typeIds?: number[][];
}

export interface TokenLimits {
  vocabSize: number;
  /** 0 when the model takes no token types: `typeIds` are then ignored, as transformers does for RoBERTa/DistilBERT. */
  typeVocabSize: number;
  maxSequenceLength: number;
}

/** Rejects ids outside the vocabulary, over-long rows and ragged `typeIds` with ERR_INVALID_INPUT. */
export function validateTokenBatch(batch: TokenBatch, limits: TokenLimits): void {
  if (batch === null || typeof batch !== 'object' || !Array.isArray(batch.ids)) {
    throw new SparseEncoderError('ERR_INVALID_INPUT', 'a token batch needs an `ids` array of token id rows');
  }
  const ids = batch.ids;
  const typeIds = limits.typeVocabSize > 0 ? batch.typeIds : undefined;
  if (typeIds !== undefined && (!Array.isArray(typeIds) || typeIds.length !== ids.length)) {
    throw new SparseEncoderError('ERR_INVALID_INPUT', `typeIds must have one row per ids row (${ids.length})`);
  }
  for (let r = 0; r < ids.length; r++) {
    const row = ids[r];
    if (!Array.isArray(row)) throw new SparseEncoderError('ERR_INVALID_INPUT', `token row ${r} is not an array`, { details: { row: r } });
    if (row.length > limits.maxSequenceLength) {
      throw new SparseEncoderError('ERR_INVALID_INPUT', `token row ${r} has ${row.length} tokens; the model takes at most ${limits.maxSequenceLength}`, {
        details: { row: r, length: row.length },
      });
    }
    for (let p = 0; p < row.length; p++) {
      const id = row[p];
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= limits.vocabSize) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `token id ${String(id)} at row ${r}, position ${p} is outside the vocabulary [0, ${limits.vocabSize})`, {
          details: { row: r, position: p },
        });
      }
    }
    if (typeIds !== undefined) {
      const trow = typeIds[r];
      if (!Array.isArray(trow) || trow.length !== row.length) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `typeIds row ${r} must have ${row.length} entries like its ids row`, { details: { row: r } });
      }
      for (let p = 0; p < trow.length; p++) {
        const t = trow[p];
        const max = limits.typeVocabSize;
        if (!Number.isInteger(t) || (t as number) < 0 || (t as number) >= max) {
          throw new SparseEncoderError('ERR_INVALID_INPUT', `token type id ${String(t)} at row ${r}, position ${p} is outside [0, ${max})`, {
            details: { row: r, position: p },
          });
        }
      }
    }
  }
}

/** Rows (indices into the caller's batch) run together, padded to `seqLen` (their longest row). */
export interface SubBatch {
  rows: number[];
  seqLen: number;
}

/**
 * Groups rows longest first so that each run pads little, and so that rows × padded length stays
 * within `maxTokens` (onnxruntime's MatMul is markedly faster on at most ~2048 rows, and the
 * activations stay bounded). A row longer than `maxTokens` runs alone. Empty rows are left out.
 */
export function planSubBatches(lengths: readonly number[], maxTokens: number): SubBatch[] {
  const order = lengths.map((_, i) => i).filter((i) => lengths[i]! > 0);
  order.sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const out: SubBatch[] = [];
  let i = 0;
  while (i < order.length) {
    const seqLen = lengths[order[i]!]!;
    const room = Math.max(1, Math.floor(maxTokens / seqLen));
    const rows = order.slice(i, i + room);
    out.push({ rows, seqLen });
    i += rows.length;
  }
  return out;
}

export interface PaddedFeeds {
  input_ids: TensorData;
  attention_mask: TensorData;
  token_type_ids?: TensorData;
}

/** Right-pads the rows of one sub-batch with `padId` (mask 0, type 0) into int64 [rows, seqLen] tensors. */
export function padSubBatch(batch: TokenBatch, sub: SubBatch, padId: number, withTypeIds: boolean): PaddedFeeds {
  const n = sub.rows.length;
  const S = sub.seqLen;
  const ids = new BigInt64Array(n * S).fill(BigInt(padId));
  const mask = new BigInt64Array(n * S);
  const types = withTypeIds ? new BigInt64Array(n * S) : undefined;
  sub.rows.forEach((r, b) => {
    const row = batch.ids[r]!;
    const trow = batch.typeIds?.[r];
    for (let p = 0; p < row.length; p++) {
      ids[b * S + p] = BigInt(row[p]!);
      mask[b * S + p] = 1n;
      if (types !== undefined && trow !== undefined) types[b * S + p] = BigInt(trow[p]!);
    }
  });
  const dims = [n, S];
  const feeds: PaddedFeeds = { input_ids: { type: 'int64', data: ids, dims }, attention_mask: { type: 'int64', data: mask, dims } };
  if (types !== undefined) feeds.token_type_ids = { type: 'int64', data: types, dims };
  return feeds;
}
