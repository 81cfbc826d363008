import { createWriteStream } from 'node:fs';
import { SparseEncoderError } from '../../errors.js';
import { SparseIndex } from '../../index/sparse-index.js';
import type { SearchOptions } from '../../index/types.js';
import { lineVector, readVectorLines } from '../../index/vector-lines.js';
import { intOption, modelPrecisionHelp, parseCommandArgs, requireOption } from '../args.js';
import { encodedLines, inputSource } from './index-cmd.js';
import type { CliIo } from '../main.js';
import { ProgressBar } from '../progress.js';

/** Approximate settings used unless --exact: recall@10 ≈ 0.98 on the benchmark corpus (BENCHMARKS.md). */
const DEFAULT_HEAP_FACTOR = 0.8;

const USAGE = `usage: sparse-encoder search --index corpus.idx --vectors queries.jsonl [options]
       sparse-encoder search --index corpus.idx --model <id|path> --texts queries.jsonl [options]
  --texts queries.jsonl     JSONL of {"id": ..., "text": ...}, encoded as queries by --model
${modelPrecisionHelp()}  -k N                      hits per query (default 10)
  --exact                   exact top-k (default: approximate, --heap-factor ${DEFAULT_HEAP_FACTOR})
  --heap-factor F           approximate: visit a range when F x its bound reaches the k-th score (0 < F <= 1)
  --query-term-cut N        approximate: use only the N heaviest query terms to find candidates
  --output results.jsonl    write results there instead of stdout`;

export async function run(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, {
    index: { type: 'string' },
    vectors: { type: 'string' },
    texts: { type: 'string' },
    model: { type: 'string' },
    'batch-size': { type: 'string' },
    quantize: { type: 'string' },
    'fp32-vocab': { type: 'boolean' },
    k: { type: 'string', short: 'k' },
    exact: { type: 'boolean' },
    'heap-factor': { type: 'string' },
    'query-term-cut': { type: 'string' },
    output: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return;
  }
  const indexPath = requireOption(values.index as string | undefined, 'index');
  const source = inputSource(values);
  const k = intOption(values.k as string | undefined, 'k', 10);
  const options: SearchOptions = { k, exact: values.exact === true, fields: false };
  if (!options.exact) {
    const hf = values['heap-factor'] === undefined ? DEFAULT_HEAP_FACTOR : Number(values['heap-factor']);
    if (!(hf > 0 && hf <= 1)) throw new SparseEncoderError('ERR_USAGE', `--heap-factor must be in (0, 1], got '${String(values['heap-factor'])}'`);
    options.heapFactor = hf;
    if (values['query-term-cut'] !== undefined) options.queryTermCut = intOption(values['query-term-cut'] as string, 'query-term-cut', 0, 1);
  } else if (values['heap-factor'] !== undefined || values['query-term-cut'] !== undefined) {
    throw new SparseEncoderError('ERR_USAGE', '--heap-factor and --query-term-cut are approximate settings; drop them or --exact');
  }
  const index = await SparseIndex.open(indexPath);
  const out: NodeJS.WritableStream = values.output === undefined ? io.stdout : createWriteStream(values.output as string);
  const failed = new Promise<never>((_, reject) => {
    if (out !== io.stdout) {
      out.on('error', (err: NodeJS.ErrnoException) =>
        reject(new SparseEncoderError('ERR_INVALID_ARGUMENT', `cannot write ${String(values.output)}: ${err.message}`, { cause: err })),
      );
    }
  });
  failed.catch(() => undefined);
  const bar = new ProgressBar(io.stderr, 'searching', undefined);
  let n = 0;
  try {
    const input = source.kind === 'texts' ? encodedLines(source.path, source.model, 'query', source.batchSize, source.precision) : readVectorLines(source.path);
    for await (const l of input) {
      if (l.dim !== undefined && l.dim !== index.dim) {
        throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `${source.path}:${l.line}: query "dim" ${l.dim} differs from the index's ${index.dim}`);
      }
      const hits = index.search(lineVector(l, index.dim, source.path), options);
      const line = JSON.stringify({ query_id: l.id, hits: hits.map((h) => ({ id: h.id, score: h.score })) }) + '\n';
      if (!out.write(line)) await Promise.race([new Promise((r) => out.once('drain', r)), failed]);
      bar.update(++n);
    }
    bar.finish(n);
  } finally {
    index.dispose();
    if (out !== io.stdout) await Promise.race([new Promise<void>((r) => out.end(r)), failed]);
  }
}
