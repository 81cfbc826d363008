import { SparseEncoderError } from '../../errors.js';
import { SparseIndex } from '../../index/sparse-index.js';
import type { IndexDocument, WeightStorage } from '../../index/types.js';
import { lineVector, readTextLines, readVectorLines, type VectorLine } from '../../index/vector-lines.js';
import type { SparseVector } from '../../sparse/vector.js';
import { intOption, modelPrecisionHelp, modelPrecisionOptions, parseCommandArgs, requireOption, type ModelPrecisionOptions, type ParsedArgs } from '../args.js';
import type { CliIo } from '../main.js';
import { ProgressBar } from '../progress.js';

/** bert-base-uncased, the vocabulary of every SPLADE model we know of: the default when lines carry no "dim". */
const DEFAULT_DIM = 30522;

const USAGE = `usage:
  sparse-encoder index build --vectors vecs.jsonl --out corpus.idx [options]
  sparse-encoder index build --model <id|path> --texts docs.jsonl --out corpus.idx [options]
      --texts                 JSONL of {"id": ..., "text": ...}, encoded as documents by --model
      --batch-size N          texts per model run (default 32)
${modelPrecisionHelp('model-quantize').replace(/^/gm, '    ').trimEnd()}
      --quantize u8|f16|f32   the index's weight storage (default f32)
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
    texts: { type: 'string' },
    model: { type: 'string' },
    'batch-size': { type: 'string' },
    'model-quantize': { type: 'string' },
    'fp32-vocab': { type: 'boolean' },
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
  const source = inputSource(values, 'model-quantize');
  const out = requireOption(values.out as string | undefined, 'out');
  const quantize = (values.quantize as string | undefined) ?? 'f32';
  if (!['u8', 'f16', 'f32'].includes(quantize)) throw new SparseEncoderError('ERR_USAGE', `--quantize must be u8, f16 or f32, got '${quantize}'`);
  const rangeSize = intOption(values['range-size'] as string | undefined, 'range-size', 64);
  if (![32, 64, 128, 256].includes(rangeSize)) throw new SparseEncoderError('ERR_USAGE', `--range-size must be 32, 64, 128 or 256, got ${rangeSize}`);
  const dimFlag = values.dim === undefined ? undefined : intOption(values.dim as string, 'dim', 0);
  const storeFields = values['store-fields'] === true;

  // Read every line first: the dimension may depend on the largest index.
  const bar = new ProgressBar(io.stderr, source.kind === 'texts' ? 'encoding' : 'reading', undefined);
  const lines: VectorLine[] = [];
  let lineDim: number | undefined;
  let maxIndex = -1;
  const input = source.kind === 'texts' ? encodedLines(source.path, source.model, 'document', source.batchSize, source.precision) : readVectorLines(source.path);
  for await (const l of input) {
    if (l.dim !== undefined) {
      if (lineDim !== undefined && l.dim !== lineDim) {
        throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `${source.path}:${l.line}: "dim" ${l.dim} differs from earlier lines (${lineDim})`);
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
      const doc: IndexDocument = { id: l.id, vector: lineVector(l, dim, source.path) };
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

export type InputSource = { kind: 'vectors'; path: string } | { kind: 'texts'; path: string; model: string; batchSize: number; precision: ModelPrecisionOptions };

/** --vectors, or --texts with --model; exactly one. `precisionFlag` names the model-precision flag of the command. */
export function inputSource(values: ParsedArgs['values'], precisionFlag = 'quantize'): InputSource {
  const vectors = values.vectors as string | undefined;
  const texts = values.texts as string | undefined;
  const model = values.model as string | undefined;
  if (vectors !== undefined && texts !== undefined) throw new SparseEncoderError('ERR_USAGE', '--vectors and --texts exclude each other');
  if (texts !== undefined || model !== undefined) {
    if (texts === undefined || texts === '') throw new SparseEncoderError('ERR_USAGE', '--model needs --texts (JSONL of {"id", "text"})');
    if (model === undefined || model === '') throw new SparseEncoderError('ERR_USAGE', '--texts needs --model');
    return {
      kind: 'texts',
      path: texts,
      model,
      batchSize: intOption(values['batch-size'] as string | undefined, 'batch-size', 32),
      precision: modelPrecisionOptions(values, precisionFlag),
    };
  }
  return { kind: 'vectors', path: requireOption(vectors, 'vectors') };
}

/**
 * Encodes a texts file with the model, as vector lines (text kept in `extra`). The encoder, and so
 * onnxruntime, is imported only here, when --model is given.
 */
export async function* encodedLines(path: string, model: string, task: 'query' | 'document', batchSize: number, precision: ModelPrecisionOptions = {}): AsyncGenerator<VectorLine> {
  const { SparseEncoder } = await import('../../encoder/sparse-encoder.js');
  const encoder = await SparseEncoder.fromPretrained(model, precision);
  try {
    const chunk: Array<{ id: string; text: string; extra?: Record<string, unknown>; line: number }> = [];
    const flush = async function* (): AsyncGenerator<VectorLine> {
      const texts = chunk.map((c) => c.text);
      const vecs: SparseVector[] = task === 'query' ? await encoder.encodeQuery(texts, { batchSize }) : await encoder.encodeDocument(texts, { batchSize });
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!;
        const v = vecs[i]!;
        yield { id: c.id, indices: Array.from(v.indices), values: Array.from(v.values), dim: v.dim, extra: { ...c.extra, text: c.text }, line: c.line };
      }
      chunk.length = 0;
    };
    for await (const l of readTextLines(path)) {
      chunk.push(l);
      if (chunk.length >= 256) yield* flush();
    }
    if (chunk.length > 0) yield* flush();
  } finally {
    await encoder.dispose();
  }
}

async function info(argv: string[], io: CliIo): Promise<void> {
  const { positionals } = parseCommandArgs(argv, {}, true);
  if (positionals.length !== 1) throw new SparseEncoderError('ERR_USAGE', 'usage: sparse-encoder index info <file>');
  const index = await SparseIndex.open(positionals[0]!);
  io.stdout.write(JSON.stringify(index.info(), null, 2) + '\n');
  index.dispose();
}
