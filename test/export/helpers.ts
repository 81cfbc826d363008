import type { ExportBatch, ExportRecord } from '../../src/export/types.js';

/** A sparse vector from plain arrays (BERT's vocabulary size unless `dim` is given). */
export function vec(indices: number[], values: number[], dim = 30522): ExportRecord['vector'] {
  return { indices: Uint32Array.from(indices), values: Float32Array.from(values), dim };
}

/** Every batch an exporter yields. */
export async function collect(gen: AsyncGenerator<ExportBatch>): Promise<ExportBatch[]> {
  const out: ExportBatch[] = [];
  for await (const b of gen) out.push(b);
  return out;
}
