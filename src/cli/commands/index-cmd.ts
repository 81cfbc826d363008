import { SparseEncoderError } from '../../errors.js';
import { SparseIndex } from '../../index/sparse-index.js';
import type { IndexDocument, WeightStorage } from '../../index/types.js';
import { lineVector, readVectorLines, type VectorLine } from '../../index/vector-lines.js';
import { intOption, parseCommandArgs, requireOption } from '../args.js';
import type { CliIo } from '../main.js';
import { ProgressBar } from '../progress.js';

/** bert-base-uncased, the vocabulary of every SPLADE model we know of: the default when lines carry no "dim". */
const DEFAULT_DIM = 30522;

const USAGE = `usage:
  sparse-encoder index build --vectors vecs.jsonl --out corpus.idx [options]
      --quantize u8|f16|f32   weight storage (default f32)
      --dim N                 vocabulary size (default: the lines' "dim", else 30522, else max index + 1)
      --range-size N          documents per pruning range: 32, 64, 128 or 256 (default 64)
      --store-fields          keep each line's other keys (e.g. "text") as stored fields
  sparse-encoder index info corpus.idx`;

export async function run(argv: string[], io: CliIo): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'build') return build(rest, io);
  if (sub === 'info') return info(rest, io);
  if (sub === '--help' || sub === '-h') {
    io.stdout.write(USAGE + '\n');
    return;
  }
  throw new SparseEncoderError('ERR_USAGE', sub === undefined ? 'missing subcommand (build | info)' : `unknown subcommand '${sub}' (build | info)`);
}

async function build(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, {
    vectors: { type: 'string' },
    out: { type: 'string' },
    quantize: { type: 'string' },
    dim: { type: 'string' },
    'range-size': { type: 'string' },
    'store-fields': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return;
  }
  const vectors = requireOption(values.vectors as string | undefined, 'vectors');
  const out = requireOption(values.out as string | undefined, 'out');
  const quantize = (values.quantize as string | undefined) ?? 'f32';
  if (!['u8', 'f16', 'f32'].includes(quantize)) throw new SparseEncoderError('ERR_USAGE', `--quantize must be u8, f16 or f32, got '${quantize}'`);
  const rangeSize = intOption(values['range-size'] as string | undefined, 'range-size', 64);
  if (![32, 64, 128, 256].includes(rangeSize)) throw new SparseEncoderError('ERR_USAGE', `--range-size must be 32, 64, 128 or 256, got ${rangeSize}`);
  const dimFlag = values.dim === undefined ? undefined : intOption(values.dim as string, 'dim', 0);
  const storeFields = values['store-fields'] === true;

  // Read every line first: the dimension may depend on the largest index.
  const bar = new ProgressBar(io.stderr, 'reading', undefined);
  const lines: VectorLine[] = [];
  let lineDim: number | undefined;
  let maxIndex = -1;
  for await (const l of readVectorLines(vectors)) {
    if (l.dim !== undefined) {
      if (lineDim !== undefined && l.dim !== lineDim) {
        throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `${vectors}:${l.line}: "dim" ${l.dim} differs from earlier lines (${lineDim})`);
      }
      lineDim = l.dim;
    }
    for (const i of l.indices) if (typeof i === 'number' && i > maxIndex) maxIndex = i;
    lines.push(l);
    bar.update(lines.length);
  }
  bar.finish(lines.length);
  const dim = dimFlag ?? lineDim ?? (maxIndex < DEFAULT_DIM ? DEFAULT_DIM : maxIndex + 1);
  function* docs(): Generator<IndexDocument> {
    for (const l of lines) {
      const doc: IndexDocument = { id: l.id, vector: lineVector(l, dim, vectors) };
      if (storeFields && l.extra) doc.fields = l.extra;
      yield doc;
    }
  }
  const index = await SparseIndex.build(docs(), { quantize: quantize as WeightStorage, rangeSize, dim });
  await index.save(out);
  const i = index.info();
  io.stdout.write(`wrote ${out}: ${i.documents} documents, ${i.postings} postings, dim ${i.dim}, ${i.quantize} weights, ${i.fileBytes} bytes\n`);
  index.dispose();
}

async function info(argv: string[], io: CliIo): Promise<void> {
  const { positionals } = parseCommandArgs(argv, {}, true);
  if (positionals.length !== 1) throw new SparseEncoderError('ERR_USAGE', 'usage: sparse-encoder index info <file>');
  const index = await SparseIndex.open(positionals[0]!);
  io.stdout.write(JSON.stringify(index.info(), null, 2) + '\n');
  index.dispose();
}
