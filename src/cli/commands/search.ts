import { SparseEncoderError } from '../../errors.js';
import { openIndex } from '../../inverted-index/open-index.js';
import { approximateSettings } from '../../inverted-index/search-settings.js';
import type { SearchHit, SearchOptions } from '../../inverted-index/types.js';
import { SearchPool } from '../../server/search-pool.js';
import type { SparseVector } from '../../sparse/vector.js';
import { intOption, modelPrecisionHelp, parseCommandArgs, requireOption, type Options } from '../args.js';
import { OutputWriter, openInput, type CliIo } from '../io.js';
import { lineVector, readVectorLines } from '../lines.js';
import { ProgressBar, stdinHint } from '../progress.js';
import { encodedLines, inputSource } from './index-cmd.js';

/** Approximate settings with --approximate: recall@10 ≈ 0.98 on the benchmark corpus (BENCHMARKS.md). */
const DEFAULT_HEAP_FACTOR = 0.8;

const USAGE = `usage: sparse-encoder search --index <file|dir> (--vectors <file|-> | --model <id|path> --texts <file|->) [options]

Searches the index with each query; writes one JSON line per query, in input order:
  {"query_id": "q1", "hits": [{"id": "d7", "score": 12.5}, ...]}   (+ "fields" per hit with --fields)
Search is exact by default (the same hits as scoring every document), as in the library and the server.

  --index <file|dir>        index file ('sparse-encoder index build') or index directory ('index add');
                            a directory is searched as of its last commit (required)
  --cache-mb <n>            read posting lists on demand, keeping at most n MiB of them in memory
                            (default: the index is read into memory whole)
  --vectors <file|->        query vector lines ("id" optional: the line number otherwise); '-' for stdin
  --model <id|path>         encode --texts as queries with this model
  --texts <file|->          query texts: JSONL {"id","text"}, BEIR {"_id","text"} (queries.jsonl) or plain lines
  --batch-size <n>          texts per model run (default 32)
${modelPrecisionHelp()}  -k, --k <n>               hits per query (default 10)
  --approximate             approximate top-k: faster; with the index's blocks (index build --blocks)
                            when it has them and is in memory, else block-max pruning over ranges
                            (recall@10 ~0.98 at the default --heap-factor)
  --algorithm blocks|ranges with --approximate: force one (default: blocks when the index has them)
  --summary-factor <x>      with --approximate on blocks: score a block's documents when its summary
                            score reaches x times the k-th candidate score, x >= 0 (default 1.2;
                            lower: slower, higher recall); --query-term-cut is then the number of
                            query terms whose blocks are visited (default 4)
  --heap-factor <x>         with --approximate: visit a range when x times its bound reaches the k-th
                            score, 0 < x <= 1 (default ${DEFAULT_HEAP_FACTOR})
  --query-term-cut <n>      with --approximate: find candidates with only the n frequent and n rare query
                            terms of largest possible contribution; hits are scored with every term
                            (default: all; --query-term-cut 8 --heap-factor 1 is about twice as fast at
                            the default's recall on the benchmark)
  --exact                   exact top-k (the default; kept for scripts that say it)
  --fields                  add each hit's stored fields (index build --store-fields) (default off)
  --threads <n>             search with n worker threads, each with its own copy of the index in
                            memory (default 1: this thread)
  --output <file|->         write results there (default: stdout)
  -h, --help                this help`;

export const OPTIONS: Options = {
  index: { type: 'string' },
  'cache-mb': { type: 'string' },
  vectors: { type: 'string' },
  texts: { type: 'string' },
  model: { type: 'string' },
  'batch-size': { type: 'string' },
  quantize: { type: 'string' },
  'fp32-vocab': { type: 'boolean' },
  k: { type: 'string', short: 'k' },
  approximate: { type: 'boolean' },
  exact: { type: 'boolean' },
  'heap-factor': { type: 'string' },
  'query-term-cut': { type: 'string' },
  algorithm: { type: 'string' },
  'summary-factor': { type: 'string' },
  fields: { type: 'boolean' },
  output: { type: 'string' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** Queries per message to a search thread: large enough that messaging costs little. */
const CHUNK = 64;


export async function run(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return;
  }
  const indexPath = requireOption(values.index as string | undefined, 'index');
  const source = inputSource(values);
  const k = intOption(values.k as string | undefined, 'k', 10);
  const approximate = values.approximate === true;
  if (approximate && values.exact === true) throw new SparseEncoderError('ERR_USAGE', '--approximate and --exact exclude each other');
  const withFields = values.fields === true;
  const options: SearchOptions = { k, exact: !approximate, fields: withFields };
  if (approximate) {
    const hf = values['heap-factor'] === undefined ? DEFAULT_HEAP_FACTOR : Number(values['heap-factor']);
    if (!(hf > 0 && hf <= 1)) throw new SparseEncoderError('ERR_USAGE', `--heap-factor must be in (0, 1], got '${String(values['heap-factor'])}'`);
    options.heapFactor = hf;
    if (values['query-term-cut'] !== undefined) options.queryTermCut = intOption(values['query-term-cut'] as string, 'query-term-cut', 0, 1);
    const algorithm = values.algorithm as string | undefined;
    if (algorithm !== undefined) {
      if (algorithm !== 'blocks' && algorithm !== 'ranges') throw new SparseEncoderError('ERR_USAGE', `--algorithm must be blocks or ranges, got '${algorithm}'`);
      options.approximateAlgorithm = algorithm;
    }
    if (values['summary-factor'] !== undefined) {
      const f = Number(values['summary-factor']);
      if (!(f >= 0 && f < Infinity)) throw new SparseEncoderError('ERR_USAGE', `--summary-factor must be a number >= 0, got '${String(values['summary-factor'])}'`);
      options.summaryFactor = f;
    }
  } else {
    const set = ['heap-factor', 'query-term-cut', 'algorithm', 'summary-factor'].filter((f) => values[f] !== undefined);
    if (set.length > 0) throw new SparseEncoderError('ERR_USAGE', `--${set[0]} is an approximate setting: add --approximate`);
  }
  const threads = intOption(values.threads as string | undefined, 'threads', 1);
  const input = await openInput(source.path, io);
  const out = await OutputWriter.open((values.output as string | undefined) ?? '-', io);
  const cacheMb = values['cache-mb'] === undefined ? undefined : intOption(values['cache-mb'] as string, 'cache-mb', 0, 0);
  const index = await openIndex(indexPath, cacheMb === undefined ? {} : { cacheBytes: cacheMb * 2 ** 20 });
  // With --threads, worker threads search chunks of queries at once (the server's search pool);
  // answers are written in input order.
  const pool = threads > 1 ? await SearchPool.start({ indexPath, ...(cacheMb !== undefined ? { cacheBytes: cacheMb * 2 ** 20 } : {}), workers: threads, maxQueued: threads * 2, onLog: () => undefined }) : undefined;
  const bar = new ProgressBar(io.stderr, 'searching', undefined, input.size);
  let n = 0;
  const write = async (ids: string[], results: SearchHit[][]): Promise<void> => {
    let text = '';
    ids.forEach((id, i) => {
      const shown = results[i]!.map((h) => (withFields && h.fields !== undefined ? { id: h.id, score: h.score, fields: h.fields } : { id: h.id, score: h.score }));
      text += JSON.stringify({ query_id: id, hits: shown }) + '\n';
    });
    await out.write(text);
    n += ids.length;
    bar.update(n);
  };
  try {
    if (source.kind === 'texts') bar.status(`loading ${source.model}`);
    stdinHint(input, io, source.kind === 'texts' ? 'query texts' : 'query vector lines');
    const onBytes = (b: number): void => bar.addBytes(b);
    const queries = source.kind === 'texts' ? encodedLines(input, source.model, 'query', source.encode, source.precision, onBytes) : readVectorLines(input, { requireId: false, onBytes });
    const inFlight: Array<Promise<{ ids: string[]; results: SearchHit[][] }>> = [];
    let ids: string[] = [];
    let vectors: SparseVector[] = [];
    const flush = async (): Promise<void> => {
      if (ids.length === 0) return;
      const chunkIds = ids;
      const chunk = vectors;
      ids = [];
      vectors = [];
      if (pool === undefined) return write(chunkIds, chunk.map((v) => index.search(v, options)));
      const pending = pool
          .run({ vectors: chunk.map((v) => ({ indices: v.indices, values: v.values })), k: options.k!, exact: options.exact !== false, fields: withFields, ...approximateSettings(options) })
          .then((r) => ({ ids: chunkIds, results: r.map((x) => x.hits) }));
      // Handled when its turn to be written comes; until then a failure must not count as unhandled.
      pending.catch(() => undefined);
      inFlight.push(pending);
      while (inFlight.length >= threads) {
        const done = await inFlight.shift()!;
        await write(done.ids, done.results);
      }
    };
    for await (const l of queries) {
      if (l.dim !== undefined && l.dim !== index.dim) throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `${l.where}: query "dim" ${l.dim} differs from the index's ${index.dim}`);
      vectors.push(lineVector(l, index.dim));
      ids.push(l.id === undefined ? String(l.line) : String(l.id));
      if (pool === undefined || ids.length >= CHUNK) await flush();
    }
    await flush();
    for (const p of inFlight.splice(0)) {
      const done = await p;
      await write(done.ids, done.results);
    }
    bar.finish(n);
    await out.close();
  } catch (err) {
    bar.clear();
    throw err;
  } finally {
    await index.dispose();
    await pool?.close();
  }
}


