import { SparseEncoderError } from '../../errors.js';
import { SparseIndex } from '../../inverted-index/sparse-index.js';
import type { SearchOptions } from '../../inverted-index/types.js';
import { intOption, modelPrecisionHelp, parseCommandArgs, requireOption, type Options } from '../args.js';
import { OutputWriter, openInput, type CliIo } from '../io.js';
import { lineVector, readVectorLines } from '../lines.js';
import { ProgressBar, stdinHint } from '../progress.js';
import { encodedLines, inputSource } from './index-cmd.js';

/** Approximate settings with --approximate: recall@10 ≈ 0.98 on the benchmark corpus (BENCHMARKS.md). */
const DEFAULT_HEAP_FACTOR = 0.8;

const USAGE = `usage: sparse-encoder search --index <file> (--vectors <file|-> | --model <id|path> --texts <file|->) [options]

Searches the index with each query; writes one JSON line per query, in input order:
  {"query_id": "q1", "hits": [{"id": "d7", "score": 12.5}, ...]}   (+ "fields" per hit with --fields)
Search is exact by default (the same hits as scoring every document), as in the library and the server.

  --index <file>            index written by 'sparse-encoder index build' (required)
  --vectors <file|->        query vector lines ("id" optional: the line number otherwise); '-' for stdin
  --model <id|path>         encode --texts as queries with this model
  --texts <file|->          query texts: JSONL {"id","text"}, BEIR {"_id","text"} (queries.jsonl) or plain lines
  --batch-size <n>          texts per model run (default 32)
${modelPrecisionHelp()}  -k, --k <n>               hits per query (default 10)
  --approximate             approximate top-k: faster, recall@10 ~0.98 at the default --heap-factor
  --heap-factor <x>         with --approximate: visit a range when x times its bound reaches the k-th
                            score, 0 < x <= 1 (default ${DEFAULT_HEAP_FACTOR})
  --query-term-cut <n>      with --approximate: use only the n heaviest query terms to find candidates
                            (default: all)
  --exact                   exact top-k (the default; kept for scripts that say it)
  --fields                  add each hit's stored fields (index build --store-fields) (default off)
  --output <file|->         write results there (default: stdout)
  -h, --help                this help`;

export const OPTIONS: Options = {
  index: { type: 'string' },
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
  fields: { type: 'boolean' },
  output: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};


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
  } else if (values['heap-factor'] !== undefined || values['query-term-cut'] !== undefined) {
    throw new SparseEncoderError('ERR_USAGE', '--heap-factor and --query-term-cut are approximate settings: add --approximate');
  }
  const input = await openInput(source.path, io);
  const out = await OutputWriter.open((values.output as string | undefined) ?? '-', io);
  const index = await SparseIndex.open(indexPath);
  const bar = new ProgressBar(io.stderr, 'searching', undefined, input.size);
  let n = 0;
  try {
    if (source.kind === 'texts') bar.status(`loading ${source.model}`);
    stdinHint(input, io, source.kind === 'texts' ? 'query texts' : 'query vector lines');
    const onBytes = (b: number): void => bar.addBytes(b);
    const queries = source.kind === 'texts' ? encodedLines(input, source.model, 'query', source.batchSize, source.precision, onBytes) : readVectorLines(input, { requireId: false, onBytes });
    for await (const l of queries) {
      if (l.dim !== undefined && l.dim !== index.dim) throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `${l.where}: query "dim" ${l.dim} differs from the index's ${index.dim}`);
      const hits = index.search(lineVector(l, index.dim), options);
      const shown = hits.map((h) => (withFields && h.fields !== undefined ? { id: h.id, score: h.score, fields: h.fields } : { id: h.id, score: h.score }));
      await out.write(JSON.stringify({ query_id: l.id === undefined ? String(l.line) : String(l.id), hits: shown }) + '\n');
      bar.update(++n);
    }
    bar.finish(n);
    await out.close();
  } catch (err) {
    bar.clear();
    throw err;
  } finally {
    index.dispose();
  }
}
