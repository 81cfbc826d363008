import { SparseEncoderError } from '../../errors.js';
import { SparseIndex } from '../../inverted-index/sparse-index.js';
import type { IndexDocument, WeightStorage } from '../../inverted-index/types.js';
import type { SparseVector } from '../../sparse/vector.js';
import { intOption, modelPrecisionHelp, modelPrecisionOptions, parseCommandArgs, requireOption, type ModelPrecisionOptions, type Options, type ParsedArgs } from '../args.js';
import { OutputWriter, assertWritablePath, openInput, type CliInput, type CliIo } from '../io.js';
import { lineVector, readTextRecords, readVectorLines, type VectorLine } from '../lines.js';
import { ProgressBar, stdinHint } from '../progress.js';

/** bert-base-uncased, the vocabulary of every SPLADE model we know of: the default when lines carry no "dim". */
const DEFAULT_DIM = 30522;

const USAGE = `usage: sparse-encoder index build (--vectors <file|-> | --model <id|path> --texts <file|->) --out <file> [options]
       sparse-encoder index info <file>

index build: writes a sparse index file from vectors, or from texts encoded as documents.
  --vectors <file|->       vector lines as 'sparse-encoder encode' writes them, with "id" (or BEIR "_id");
                           '-' for stdin
  --model <id|path>        encode --texts with this model (folder or Hub id)
  --texts <file|->         texts: JSONL {"id","text"}, BEIR {"_id","title","text"} (e.g. corpus.jsonl),
                           or plain lines (id = line number); '-' for stdin
  --out <file>             the index file to write (required)
  --batch-size <n>         texts per model run (default 32)
${modelPrecisionHelp('model-quantize').replace(/^/gm, ' ').trimEnd()}
  --quantize u8|f16|f32    the index's weight storage (default f32)
  --dim <n>                vocabulary size (default: the lines' "dim", else 30522, else max index + 1)
  --range-size <n>         documents per pruning range: 32, 64, 128 or 256 (default 64)
  --store-fields           keep each line's other keys (e.g. "text", "title") as stored fields,
                           returned by 'search --fields' (default off)
  -h, --help               this help

index info <file>: prints the index's header as JSON (documents, postings, dim, storage, bytes).
  -h, --help               this help`;

export const BUILD_OPTIONS: Options = {
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
};


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
  const { values } = parseCommandArgs(argv, BUILD_OPTIONS);
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

  const input = await openInput(source.path, io);
  // Fail on an unwritable --out before reading (and maybe encoding) everything.
  await assertWritablePath(out);

  // Read every line first: the dimension may depend on the largest index.
  const bar = new ProgressBar(io.stderr, source.kind === 'texts' ? 'encoding' : 'reading', undefined, input.size);
  const lines: VectorLine[] = [];
  let lineDim: number | undefined;
  let maxIndex = -1;
  try {
    if (source.kind === 'texts') bar.status(`loading ${source.model}`);
    stdinHint(input, io, source.kind === 'texts' ? 'texts' : 'vector lines');
    const onBytes = (n: number): void => bar.addBytes(n);
    const lineSource =
      source.kind === 'texts'
        ? encodedLines(input, source.model, 'document', source.batchSize, source.precision, onBytes, () => bar.status('encoding the first batch'))
        : readVectorLines(input, { requireId: true, onBytes });
    for await (const l of lineSource) {
      if (l.dim !== undefined) {
        if (lineDim !== undefined && l.dim !== lineDim) throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `${l.where}: "dim" ${l.dim} differs from earlier lines (${lineDim})`);
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
        const doc: IndexDocument = { id: String(l.id), vector: lineVector(l, dim) };
        if (storeFields && l.extra) doc.fields = l.extra;
        yield doc;
      }
    }
    bar.phase('building', lines.length);
    bar.status(`${lines.length} documents: postings and ranges`);
    const index = await SparseIndex.build(docs(), {
      quantize: quantize as WeightStorage,
      rangeSize,
      dim,
      onProgress: (e) => {
        if (e.type === 'stage' && e.stage !== 'done') bar.status(e.stage === 'cluster' ? 'ordering documents into ranges' : 'writing postings in memory');
      },
    });
    bar.phase('writing', undefined);
    bar.status(out);
    await index.save(out);
    bar.clear();
    const i = index.info();
    io.stdout.write(`wrote ${out}: ${i.documents} documents, ${i.postings} postings, dim ${i.dim}, ${i.quantize} weights, ${i.fileBytes} bytes\n`);
    index.dispose();
  } catch (err) {
    bar.clear();
    throw err;
  }
}

export type InputSource = { kind: 'vectors'; path: string } | { kind: 'texts'; path: string; model: string; batchSize: number; precision: ModelPrecisionOptions };

/** --vectors, or --texts with --model; exactly one. `precisionFlag` names the model-precision flag of the command. */
export function inputSource(values: ParsedArgs['values'], precisionFlag = 'quantize'): InputSource {
  const vectors = values.vectors as string | undefined;
  const texts = values.texts as string | undefined;
  const model = values.model as string | undefined;
  if (vectors !== undefined && texts !== undefined) throw new SparseEncoderError('ERR_USAGE', '--vectors and --texts exclude each other');
  if (texts !== undefined || model !== undefined) {
    if (texts === undefined || texts === '') throw new SparseEncoderError('ERR_USAGE', '--model needs --texts (JSONL {"id","text"}, BEIR lines or plain text)');
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
 * Encodes text lines with the model, as vector lines (the text kept in `extra`); a plain line's
 * id is its line number. The encoder, and so onnxruntime, is imported only here.
 */
export async function* encodedLines(
  input: CliInput,
  model: string,
  task: 'query' | 'document',
  batchSize: number,
  precision: ModelPrecisionOptions = {},
  onBytes?: (n: number) => void,
  onLoaded?: () => void,
): AsyncGenerator<VectorLine> {
  const { SparseEncoder } = await import('../../encoder/sparse-encoder.js');
  const encoder = await SparseEncoder.fromPretrained(model, precision);
  onLoaded?.();
  try {
    const chunk: Array<{ id: string; text: string; extra?: Record<string, unknown>; line: number }> = [];
    const flush = async function* (): AsyncGenerator<VectorLine> {
      const texts = chunk.map((c) => c.text);
      const vecs: SparseVector[] = task === 'query' ? await encoder.encodeQuery(texts, { batchSize }) : await encoder.encodeDocument(texts, { batchSize });
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!;
        const v = vecs[i]!;
        yield { id: c.id, indices: Array.from(v.indices), values: Array.from(v.values), dim: v.dim, extra: { ...c.extra, text: c.text }, line: c.line, where: `${input.name}:${c.line}` };
      }
      chunk.length = 0;
    };
    for await (const r of readTextRecords(input, onBytes)) {
      chunk.push({ id: r.id ?? String(r.line), text: r.text, ...(r.extra !== undefined ? { extra: r.extra } : {}), line: r.line });
      if (chunk.length >= 256) yield* flush();
    }
    if (chunk.length > 0) yield* flush();
  } finally {
    await encoder.dispose();
  }
}

async function info(argv: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseCommandArgs(argv, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return;
  }
  if (positionals.length !== 1) throw new SparseEncoderError('ERR_USAGE', 'usage: sparse-encoder index info <file>');
  const index = await SparseIndex.open(positionals[0]!);
  const out = await OutputWriter.open('-', io);
  await out.write(JSON.stringify(index.info(), null, 2) + '\n');
  index.dispose();
}
