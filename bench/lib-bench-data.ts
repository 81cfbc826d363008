import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSpladeFolder } from './lib-model-folder.js';
import { BERT_BASE, MODERNBERT_BASE, bertConfigJson, gteConfigJson, modernBertConfigJson, randomBertWeights, randomGteWeights, randomModernBertWeights, type ModernBertShape } from './lib-random-bert.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const SHARED = join(repoRoot(), '..', 'shared');

function jsonLines(path: string, n: number): Array<Record<string, unknown>> {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.slice(0, n).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The first `n` SciFact documents as `title + ' ' + text`. */
export function readScifactDocs(n: number): string[] {
  return jsonLines(join(SHARED, 'data', 'scifact', 'corpus.jsonl'), n).map((d) => `${String(d['title'])} ${String(d['text'])}`);
}

/** `n` long documents, each SciFact documents joined in corpus order until it has at least `words` words. */
export function readLongScifactDocs(n: number, words: number): string[] {
  const all = readScifactDocs(5183);
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    let count = 0;
    while (count < words) {
      const d = all[at++ % all.length]!;
      parts.push(d);
      count += d.split(/\s+/).length;
    }
    out.push(parts.join('\n\n'));
  }
  return out;
}

/** The first `n` SciFact query texts. */
export function readScifactQueries(n: number): string[] {
  return jsonLines(join(SHARED, 'data', 'scifact', 'queries.jsonl'), n).map((q) => String(q['text']));
}

/**
 * Random-weight BERT-base (or GTE-base-shaped, or ModernBERT-base-shaped) SPLADE folders under
 * `work`, one per max_seq_length, sharing one weights file (hard links), with the real tokenizer of
 * the splade-bert fixture (bert-base-uncased) or, for ModernBERT, of splade-modernbert
 * (ModernBERT-base's). `modernbert` overrides ModernBERT-base's shape or layer types.
 */
export function writeRandomBertBaseSplade(
  work: string,
  maxSeqLengths: readonly number[],
  family: 'bert' | 'gte' | 'modernbert' = 'bert',
  modernbert: { shape?: ModernBertShape; layerTypes?: readonly string[]; name?: string } = {},
): Map<number, string> {
  const tokenizerFrom = join(SHARED, 'fixtures', family === 'modernbert' ? 'splade-modernbert' : 'splade-bert');
  const folders = new Map<number, string>();
  let weightsFile: string | undefined;
  const shape = modernbert.shape ?? MODERNBERT_BASE;
  const config = family === 'bert' ? bertConfigJson(BERT_BASE) : family === 'gte' ? gteConfigJson(BERT_BASE) : modernBertConfigJson(shape, modernbert.layerTypes);
  const weights = (): Parameters<typeof writeSpladeFolder>[1]['weights'] =>
    weightsFile !== undefined
      ? { linkFrom: weightsFile }
      : { write: family === 'bert' ? randomBertWeights(BERT_BASE) : family === 'gte' ? randomGteWeights(BERT_BASE) : randomModernBertWeights(shape) };
  for (const s of new Set(maxSeqLengths)) {
    const folder = join(work, `splade-${modernbert.name ?? family}-base-${s}`);
    weightsFile = writeSpladeFolder(folder, { config, weights: weights(), tokenizerFrom, maxSeqLength: s });
    folders.set(s, folder);
  }
  return folders;
}
