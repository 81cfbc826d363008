import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSpladeFolder } from './lib-model-folder.js';
import { BERT_BASE, bertConfigJson, gteConfigJson, randomBertWeights, randomGteWeights } from './lib-random-bert.js';

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

/** The first `n` SciFact query texts. */
export function readScifactQueries(n: number): string[] {
  return jsonLines(join(SHARED, 'data', 'scifact', 'queries.jsonl'), n).map((q) => String(q['text']));
}

/**
 * Random-weight BERT-base (or GTE-base-shaped) SPLADE folders under `work`, one per
 * max_seq_length, sharing one weights file (hard links), with the real bert-base-uncased
 * tokenizer of the splade-bert fixture.
 */
export function writeRandomBertBaseSplade(work: string, maxSeqLengths: readonly number[], family: 'bert' | 'gte' = 'bert'): Map<number, string> {
  const tokenizerFrom = join(SHARED, 'fixtures', 'splade-bert');
  const folders = new Map<number, string>();
  let weightsFile: string | undefined;
  for (const s of new Set(maxSeqLengths)) {
    const folder = join(work, `splade-${family}-base-${s}`);
    weightsFile = writeSpladeFolder(folder, {
      config: family === 'bert' ? bertConfigJson(BERT_BASE) : gteConfigJson(BERT_BASE),
      weights: weightsFile === undefined ? { write: family === 'bert' ? randomBertWeights(BERT_BASE) : randomGteWeights(BERT_BASE) } : { linkFrom: weightsFile },
      tokenizerFrom,
      maxSeqLength: s,
    });
    folders.set(s, folder);
  }
  return folders;
}
