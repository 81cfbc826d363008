import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { SparseEncoderError } from '../errors.js';
import { parseError, readLines } from './lines.js';
import type { EvalQuery, Qrels, RankedHit, Run } from './types.js';

const WS = /\s+/;

/**
 * Reads TREC qrels: `qid iter docno rel` per line, whitespace-separated, graded integer `rel`.
 * A repeated (qid, docno) pair keeps the last grade, as trec_eval does when it overwrites.
 */
export async function readTrecQrels(path: string): Promise<Qrels> {
  const qrels: Qrels = new Map();
  for await (const { text, line } of readLines(path)) {
    const t = text.trim();
    if (t === '') continue;
    const f = t.split(WS);
    if (f.length !== 4) throw parseError(path, line, `expected 4 fields 'qid iter docno rel', got ${f.length}`);
    const grade = Number(f[3]);
    if (!Number.isInteger(grade)) throw parseError(path, line, `relevance '${f[3]}' is not an integer`);
    let judged = qrels.get(f[0]!);
    if (!judged) qrels.set(f[0]!, (judged = new Map()));
    judged.set(f[2]!, grade);
  }
  return qrels;
}

/**
 * Reads a TREC run: `qid Q0 docno rank score tag` per line. Hits are returned in file order
 * (the metrics sort them); the rank column is checked to be an integer but otherwise ignored,
 * as trec_eval ignores it. A document listed twice for one query is an error (trec_eval refuses it too).
 */
export async function readTrecRun(path: string): Promise<Run> {
  const run: Run = new Map();
  const seen = new Map<string, Set<string>>();
  for await (const { text, line } of readLines(path)) {
    const t = text.trim();
    if (t === '') continue;
    const f = t.split(WS);
    if (f.length !== 6) throw parseError(path, line, `expected 6 fields 'qid Q0 docno rank score tag', got ${f.length}`);
    const [qid, , docno, rank, scoreText] = f as [string, string, string, string, string, string];
    if (!/^-?\d+$/.test(rank)) throw parseError(path, line, `rank '${rank}' is not an integer`);
    const score = Number(scoreText);
    if (scoreText === '' || !Number.isFinite(score)) throw parseError(path, line, `score '${scoreText}' is not a finite number`);
    let ids = seen.get(qid);
    if (!ids) seen.set(qid, (ids = new Set()));
    if (ids.has(docno)) throw parseError(path, line, `document '${docno}' is listed twice for query '${qid}'`);
    ids.add(docno);
    let hits = run.get(qid);
    if (!hits) run.set(qid, (hits = []));
    hits.push({ id: docno, score });
  }
  return run;
}

/**
 * Reads TREC topics, in either of the two common layouts: Anserini's TSV (`qid<TAB>text` per line)
 * or the classic SGML (`<top> <num> Number: 301 <title> ... </top>`, the title is the query text).
 */
export async function readTrecTopics(path: string): Promise<EvalQuery[]> {
  const lines: Array<{ text: string; line: number }> = [];
  for await (const l of readLines(path)) lines.push(l);
  const first = lines.find((l) => l.text.trim() !== '');
  if (first === undefined) return [];
  return first.text.trim().startsWith('<') ? parseSgmlTopics(path, lines) : parseTsvTopics(path, lines);
}

function parseTsvTopics(path: string, lines: Array<{ text: string; line: number }>): EvalQuery[] {
  const out: EvalQuery[] = [];
  for (const { text, line } of lines) {
    if (text.trim() === '') continue;
    const tab = text.indexOf('\t');
    if (tab <= 0) throw parseError(path, line, "expected 'qid<TAB>text'");
    out.push({ id: text.slice(0, tab).trim(), text: text.slice(tab + 1).trim() });
  }
  return out;
}

function parseSgmlTopics(path: string, lines: Array<{ text: string; line: number }>): EvalQuery[] {
  const out: EvalQuery[] = [];
  let id: string | undefined;
  let title: string[] | undefined;
  let inTitle = false;
  let openedAt = 0;
  for (const { text, line } of lines) {
    const t = text.trim();
    if (t.startsWith('<top>')) {
      id = undefined;
      title = undefined;
      openedAt = line;
    } else if (t.startsWith('<num>')) {
      id = t.replace(/^<num>\s*(Number:)?\s*/i, '').trim();
    } else if (t.startsWith('<title>')) {
      title = [t.replace(/^<title>\s*(Topic:)?\s*/i, '')];
      inTitle = true;
      continue;
    } else if (t.startsWith('</top>')) {
      if (id === undefined || id === '') throw parseError(path, openedAt, 'topic without a <num>');
      if (title === undefined) throw parseError(path, openedAt, `topic ${id} has no <title>`);
      out.push({ id, text: title.join(' ').replace(/\s+/g, ' ').trim() });
      id = undefined;
      title = undefined;
    } else if (inTitle && !t.startsWith('<')) {
      // The title may continue on the next lines until the next tag (<desc>, <narr>, ...).
      title?.push(t);
      continue;
    }
    inTitle = false;
  }
  return out;
}

export interface WriteTrecRunOptions {
  /** The run tag in the sixth column. Default 'sparse-encoder'. */
  tag?: string;
}

/**
 * Writes a run in TREC format, ranks 1-based in list order. Scores are printed with 9 significant
 * digits, enough to round-trip a float32, so trec_eval sees the same order we ranked.
 */
export async function writeTrecRun(path: string, run: Run, options: WriteTrecRunOptions = {}): Promise<void> {
  const tag = options.tag ?? 'sparse-encoder';
  if (/\s/.test(tag) || tag === '') throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `run tag '${tag}' must be one word`);
  const out = createWriteStream(path, { encoding: 'utf8' });
  const failed = once(out, 'error').then(([err]) => {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  });
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await Promise.race([once(out, 'drain'), failed]);
  };
  for (const [qid, hits] of run) {
    let chunk = '';
    hits.forEach((h: RankedHit, i: number) => {
      chunk += `${qid} Q0 ${h.id} ${i + 1} ${formatScore(h.score)} ${tag}\n`;
    });
    await write(chunk);
  }
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
}

function formatScore(score: number): string {
  return Number(score.toPrecision(9)).toString();
}
