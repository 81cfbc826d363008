import { SparseEncoderError } from '../../errors.js';
import { openIndex } from '../../inverted-index/open-index.js';
import { SegmentedIndex } from '../../inverted-index/segmented-index.js';
import { SparseIndex } from '../../inverted-index/sparse-index.js';
import type { BlockBuildOptions, IndexDocument, WeightStorage } from '../../inverted-index/types.js';
import type { SparseVector } from '../../sparse/vector.js';
import { LONG_DOCUMENT_OPTIONS, intOption, longDocumentHelp, longDocumentOptions, modelPrecisionHelp, modelPrecisionOptions, parseCommandArgs, requireOption, type LongDocumentOptions, type ModelPrecisionOptions, type Options, type ParsedArgs } from '../args.js';
import { OutputWriter, assertWritablePath, openInput, type CliInput, type CliIo } from '../io.js';
import { lineVector, readTextRecords, readVectorLines, type VectorLine } from '../lines.js';
import { ProgressBar, stdinHint } from '../progress.js';

/** bert-base-uncased, the vocabulary of every SPLADE model we know of: the default when lines carry no "dim". */
const DEFAULT_DIM = 30522;

const USAGE = `usage: sparse-encoder index build (--vectors <file|-> | --model <id|path> --texts <file|->) --out <file> [options]
       sparse-encoder index add <dir> (--vectors <file|-> | --model <id|path> --texts <file|->) [options]
       sparse-encoder index merge <dir> [--max-segments <n>]
       sparse-encoder index migrate <file> <dir>
       sparse-encoder index info <file|dir>

index build: writes a sparse index file from vectors, or from texts encoded as documents.
  --vectors <file|->       vector lines as 'sparse-encoder encode' writes them, with "id" (or BEIR "_id");
                           '-' for stdin
  --model <id|path>        encode --texts with this model (folder or Hub id)
  --texts <file|->         texts: JSONL {"id","text"}, BEIR {"_id","title","text"} (e.g. corpus.jsonl),
                           or plain lines (id = line number); '-' for stdin
  --out <file>             the index file to write (required)
  --batch-size <n>         texts per model run (default 32)
${modelPrecisionHelp('model-quantize', 27).trimEnd()}
${longDocumentHelp(27).trimEnd()}
  --quantize u8|f16|f32    the index's weight storage (default f32)
  --dim <n>                vocabulary size (default: the lines' "dim", else 30522, else max index + 1)
  --range-size <n>         documents per pruning range: 32, 64, 128 or 256 (default 64)
  --blocks                 also build the blocks of Seismic-style approximate search (default off;
                           'search --approximate' then uses them; the file grows by about the
                           postings' size again)
  --postings-per-term <n>  with --blocks: postings kept per term, its heaviest (default 1500)
  --block-size <n>         with --blocks: documents per block on average (default 16)
  --summary-energy <x>     with --blocks: share of a block summary's mass kept (default 0.4)
  --store-fields           keep each line's other keys (e.g. "text", "title") as stored fields,
                           returned by 'search --fields' (default off)
  -h, --help               this help

index add <dir>: adds documents to an index directory (created if missing) without rebuilding it:
  they become new segments, then one commit. Ids already in the index are refused. Takes build's
  --vectors, --model, --texts, --batch-size, --model-quantize, --fp32-vocab, --long-documents,
  --window-tokens, --stride, --store-fields, and for a
  new directory --quantize, --dim (default: the first line's "dim", else 30522), --range-size and
  the --blocks options.
  --delete <file>          ids to delete first, one per line
  --flush-documents <n>    documents per new segment (default 100000)
  --merge-factor <n>       merge the newest n segments of one size class (default 10; 0 = never)

index merge <dir>: merges the directory's segments (dropping deleted documents), then commits.
  --max-segments <n>       segments to keep (default 1)

index migrate <file> <dir>: turns an index file into an index directory (the file, unchanged, is its
  first segment).

index info <file|dir>: prints the index's header as JSON (documents, postings, dim, storage, bytes;
  segments and generation for a directory).
  -h, --help               this help`;

/** What build and add share: the input, the model, the index's storage. */
const INPUT_OPTIONS: Options = {
  vectors: { type: 'string' },
  texts: { type: 'string' },
  model: { type: 'string' },
  'batch-size': { type: 'string' },
  'model-quantize': { type: 'string' },
  'fp32-vocab': { type: 'boolean' },
  ...LONG_DOCUMENT_OPTIONS,
  quantize: { type: 'string' },
  dim: { type: 'string' },
  'range-size': { type: 'string' },
  blocks: { type: 'boolean' },
  'postings-per-term': { type: 'string' },
  'block-size': { type: 'string' },
  'summary-energy': { type: 'string' },
  'store-fields': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const ADD_OPTIONS: Options = {
  ...INPUT_OPTIONS,
  delete: { type: 'string' },
  'flush-documents': { type: 'string' },
  'merge-factor': { type: 'string' },
};

const HELP_ONLY: Options = { help: { type: 'boolean', short: 'h' } };

export const MERGE_OPTIONS: Options = {
  'max-segments': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export const BUILD_OPTIONS: Options = {
  ...INPUT_OPTIONS,
  out: { type: 'string' },
};


export async function run(argv: string[], io: CliIo): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'build') return build(rest, io);
  if (sub === 'info') return info(rest, io);
  if (sub === 'add') return add(rest, io);
  if (sub === 'merge') return merge(rest, io);
  if (sub === 'migrate') return migrate(rest, io);
  if (sub === '--help' || sub === '-h') {
    io.stdout.write(USAGE + '\n');
    return;
  }
  const subs = 'build | add | merge | migrate | info';
  throw new SparseEncoderError('ERR_USAGE', sub === undefined ? `missing subcommand (${subs})` : `unknown subcommand '${sub}' (${subs})`);
}

/** A subcommand's arguments; undefined when --help was asked for (and printed). */
function subArgs(argv: string[], options: Options, io: CliIo): ParsedArgs | undefined {
  const parsed = parseCommandArgs(argv, options, true);
  if (!parsed.values.help) return parsed;
  io.stdout.write(USAGE + '\n');
  return undefined;
}

function storageFlags(values: ParsedArgs['values']): { quantize: WeightStorage; rangeSize: number; blocks: BlockBuildOptions | undefined } {
  const quantize = (values.quantize as string | undefined) ?? 'f32';
  if (!['u8', 'f16', 'f32'].includes(quantize)) throw new SparseEncoderError('ERR_USAGE', `--quantize must be u8, f16 or f32, got '${quantize}'`);
  const rangeSize = intOption(values['range-size'] as string | undefined, 'range-size', 64);
  if (![32, 64, 128, 256].includes(rangeSize)) throw new SparseEncoderError('ERR_USAGE', `--range-size must be 32, 64, 128 or 256, got ${rangeSize}`);
  const tuning = ['postings-per-term', 'block-size', 'summary-energy'].filter((f) => values[f] !== undefined);
  if (!values.blocks) {
    if (tuning.length > 0) throw new SparseEncoderError('ERR_USAGE', `--${tuning[0]} is a block setting: add --blocks`);
    return { quantize: quantize as WeightStorage, rangeSize, blocks: undefined };
  }
  const blocks: BlockBuildOptions = {};
  if (values['postings-per-term'] !== undefined) blocks.postingsPerTerm = intOption(values['postings-per-term'] as string, 'postings-per-term', 0, 1);
  if (values['block-size'] !== undefined) blocks.blockSize = intOption(values['block-size'] as string, 'block-size', 0, 1);
  if (values['summary-energy'] !== undefined) {
    const e = Number(values['summary-energy']);
    if (!(e > 0 && e <= 1)) throw new SparseEncoderError('ERR_USAGE', `--summary-energy must be in (0, 1], got '${String(values['summary-energy'])}'`);
    blocks.summaryEnergy = e;
  }
  return { quantize: quantize as WeightStorage, rangeSize, blocks };
}

function onePath(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new SparseEncoderError('ERR_USAGE', `usage: sparse-encoder index ${what}`);
  return positionals[0]!;
}

async function add(argv: string[], io: CliIo): Promise<void> {
  const args = subArgs(argv, ADD_OPTIONS, io);
  if (!args) return;
  const { values, positionals } = args;
  const dir = onePath(positionals, 'add <dir> (--vectors <file|-> | --model <id|path> --texts <file|->)');
  const source = inputSource(values, 'model-quantize');
  const { quantize, rangeSize, blocks } = storageFlags(values);
  const dimFlag = values.dim === undefined ? undefined : intOption(values.dim as string, 'dim', 0, 1);
  const storeFields = values['store-fields'] === true;
  const deletes = values.delete === undefined ? [] : await readIdList(values.delete as string, io);
  const input = await openInput(source.path, io);
  const index = await SegmentedIndex.open(dir, {
    ...(values.quantize !== undefined ? { quantize } : {}),
    rangeSize,
    ...(blocks ? { blocks } : {}),
    ...(dimFlag !== undefined ? { dim: dimFlag } : {}),
    flushDocuments: intOption(values['flush-documents'] as string | undefined, 'flush-documents', 100_000, 1),
    mergeFactor: intOption(values['merge-factor'] as string | undefined, 'merge-factor', 10, 0),
  });
  const bar = new ProgressBar(io.stderr, source.kind === 'texts' ? 'encoding' : 'adding', undefined, input.size);
  try {
    let deleted = 0;
    for (const id of deletes) if (index.delete(id)) deleted++;
    if (source.kind === 'texts') bar.status(`loading ${source.model}`);
    stdinHint(input, io, source.kind === 'texts' ? 'texts' : 'vector lines');
    const onBytes = (n: number): void => bar.addBytes(n);
    const lineSource =
      source.kind === 'texts'
        ? encodedLines(input, source.model, 'document', source.encode, source.precision, onBytes)
        : readVectorLines(input, { requireId: true, onBytes });
    let added = 0;
    let dim = index.dim || dimFlag;
    async function* docs(): AsyncGenerator<IndexDocument> {
      for await (const l of lineSource) {
        dim ??= l.dim ?? DEFAULT_DIM;
        if (l.dim !== undefined && l.dim !== dim) throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `${l.where}: "dim" ${l.dim} differs from the index's ${dim}`);
        const doc: IndexDocument = { id: String(l.id), vector: lineVector(l, dim) };
        if (storeFields && l.extra) doc.fields = l.extra;
        yield doc;
        bar.update(++added);
      }
    }
    await index.add(docs());
    bar.phase('writing', undefined);
    bar.status('commit');
    await index.commit();
    bar.clear();
    const i = index.info();
    io.stdout.write(`${dir}: added ${added}, deleted ${deleted}; ${i.liveDocuments} live documents in ${i.segments} segments, generation ${i.generation}\n`);
  } catch (err) {
    bar.clear();
    throw err;
  } finally {
    await index.dispose();
  }
}

async function readIdList(path: string, io: CliIo): Promise<string[]> {
  const input = await openInput(path, io);
  const ids: string[] = [];
  for await (const r of readTextRecords(input)) ids.push(r.id ?? r.text.trim());
  return ids;
}

async function merge(argv: string[], io: CliIo): Promise<void> {
  const args = subArgs(argv, MERGE_OPTIONS, io);
  if (!args) return;
  const { values, positionals } = args;
  const dir = onePath(positionals, 'merge <dir> [--max-segments <n>]');
  const maxSegments = intOption(values['max-segments'] as string | undefined, 'max-segments', 1, 1);
  const index = await SegmentedIndex.open(dir, { mergeFactor: 0 });
  try {
    const before = index.segmentInfo().length;
    await index.merge({ maxSegments });
    await index.commit();
    io.stdout.write(`${dir}: ${before} → ${index.segmentInfo().length} segments, ${index.size} live documents, generation ${index.generation}\n`);
  } finally {
    await index.dispose();
  }
}

async function migrate(argv: string[], io: CliIo): Promise<void> {
  const args = subArgs(argv, HELP_ONLY, io);
  if (!args) return;
  const { positionals } = args;
  if (positionals.length !== 2) throw new SparseEncoderError('ERR_USAGE', 'usage: sparse-encoder index migrate <file> <dir>');
  const index = await SegmentedIndex.fromFile(positionals[0]!, positionals[1]!);
  io.stdout.write(`${positionals[1]}: ${index.size} live documents in 1 segment, generation ${index.generation}\n`);
  await index.dispose();
}

async function build(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, BUILD_OPTIONS);
  if (values.help) {
    io.stdout.write(USAGE + '\n');
    return;
  }
  const source = inputSource(values, 'model-quantize');
  const out = requireOption(values.out as string | undefined, 'out');
  const { quantize, rangeSize, blocks } = storageFlags(values);
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
        ? encodedLines(input, source.model, 'document', source.encode, source.precision, onBytes, () => bar.status('encoding the first batch'))
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
      quantize,
      rangeSize,
      dim,
      ...(blocks ? { blocks } : {}),
      onProgress: (e) => {
        if (e.type === 'stage' && e.stage !== 'done') {
          bar.status(e.stage === 'cluster' ? 'ordering documents into ranges' : e.stage === 'blocks' ? 'pruning, clustering and summarizing blocks' : 'writing postings in memory');
        }
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

export type InputSource = { kind: 'vectors'; path: string } | { kind: 'texts'; path: string; model: string; encode: TextEncodeOptions; precision: ModelPrecisionOptions };

/** How --texts are encoded: run size and long-document handling. */
export type TextEncodeOptions = LongDocumentOptions & { batchSize: number };

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
      encode: { batchSize: intOption(values['batch-size'] as string | undefined, 'batch-size', 32), ...longDocumentOptions(values) },
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
  encodeOptions: TextEncodeOptions,
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
      const vecs: SparseVector[] = task === 'query' ? await encoder.encodeQuery(texts, encodeOptions) : await encoder.encodeDocument(texts, encodeOptions);
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
  const args = subArgs(argv, HELP_ONLY, io);
  if (!args) return;
  const { positionals } = args;
  const index = await openIndex(onePath(positionals, 'info <file|dir>'), { cacheBytes: 0 });
  const out = await OutputWriter.open('-', io);
  await out.write(JSON.stringify(index.info(), null, 2) + '\n');
  await index.dispose();
}
