import { SparseEncoderError } from '../../errors.js';
import { SparseEncoder } from '../../encoder/sparse-encoder.js';
import type { SparseVector } from '../../sparse/vector.js';
import { type Options, LONG_DOCUMENT_OPTIONS, intOption, longDocumentHelp, longDocumentOptions, modelPrecisionHelp, modelPrecisionOptions, parseCommandArgs } from '../args.js';
import { OutputWriter, openInput, type CliIo } from '../io.js';
import { readTextRecords, type TextRecord } from '../lines.js';
import { ProgressBar, stdinHint } from '../progress.js';

const HELP = `usage: sparse-encoder encode --model <id|path> [options]

Encodes texts into sparse vectors, one JSON line per input text, in input order:
  {"id":"d1","indices":[...],"values":[...],"dim":30522}   ("id" when the input line had one)
  with --tokens also "tokens":[["token",weight],...], heaviest first (as the server's /encode)

Input, chosen by the first non-empty line:
  JSONL     {"id": ..., "text": ...}            (id optional; copied as a string)
  BEIR      {"_id": ..., "title": ..., "text": ...}  (text = title + " " + text when the title is
            non-empty, as the evaluator builds it; e.g. a BEIR corpus.jsonl or queries.jsonl)
  plain     anything else: one text per line (an empty line is an empty text)
Once the first line is JSON with a string "text", every non-empty line must be.

options:
  --model <id|path>       model folder or Hugging Face Hub id (required)
  --query                 encode as queries (query prompt and route)
  --document              encode as documents (document prompt and route)
                          (neither: plain encode with the model's default prompt and route)
  --input <file|->        input file, '-' for stdin (default: stdin)
  --output <file|->       output file, '-' for stdout (default: stdout)
  --batch-size <n>        texts per model run (default 32)
  --max-active-dims <k>   keep the k largest weights per vector (default: model's default)
  --tokens                add "tokens": [[token, weight], ...] (decoded vocabulary entries)
${longDocumentHelp()}  --revision <rev>        Hub branch, tag or commit (default main)
  --threads <n>           onnxruntime threads (default: number of CPUs)
${modelPrecisionHelp()}  --chunk-size <n>        lines read and encoded together (default 1024)
  -h, --help              this help
`;


/** Every option of this command (its --help lists each one; test/cli checks). */
export const OPTIONS: Options = {
  model: { type: 'string' },
  query: { type: 'boolean' },
  document: { type: 'boolean' },
  input: { type: 'string' },
  output: { type: 'string' },
  'batch-size': { type: 'string' },
  'max-active-dims': { type: 'string' },
  tokens: { type: 'boolean' },
  revision: { type: 'string' },
  threads: { type: 'string' },
  quantize: { type: 'string' },
  'fp32-vocab': { type: 'boolean' },
  'chunk-size': { type: 'string' },
  ...LONG_DOCUMENT_OPTIONS,
  help: { type: 'boolean', short: 'h' },
};

/** `sparse-encoder encode`: streams lines in, JSONL out, `--chunk-size` lines at a time. */
export async function run(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values['help'] === true) {
    io.stdout.write(HELP);
    return;
  }
  const modelId = values['model'] as string | undefined;
  if (modelId === undefined || modelId === '') throw new SparseEncoderError('ERR_USAGE', '--model is required (a folder or a Hub id)');
  if (values['query'] === true && values['document'] === true) throw new SparseEncoderError('ERR_USAGE', '--query and --document exclude each other');
  const task = values['query'] === true ? 'query' : values['document'] === true ? 'document' : undefined;
  const batchSize = intOption(values['batch-size'] as string | undefined, 'batch-size', 32);
  const chunkSize = intOption(values['chunk-size'] as string | undefined, 'chunk-size', 1024);
  const maxActiveDimsRaw = values['max-active-dims'] as string | undefined;
  const maxActiveDims = maxActiveDimsRaw === undefined ? undefined : intOption(maxActiveDimsRaw, 'max-active-dims', 0);
  const threadsRaw = values['threads'] as string | undefined;
  const threads = threadsRaw === undefined ? undefined : intOption(threadsRaw, 'threads', 0);
  const withTokens = values['tokens'] === true;
  const revision = values['revision'] as string | undefined;
  const precision = modelPrecisionOptions(values);
  const long = longDocumentOptions(values);

  const inputPath = (values['input'] as string | undefined) ?? '-';
  const outputPath = (values['output'] as string | undefined) ?? '-';

  // Open both ends before the (slow) model load, so a bad path fails at once.
  const input = await openInput(inputPath, io);
  const output = await OutputWriter.open(outputPath, io);
  const progress = new ProgressBar(io.stderr, 'encode', undefined, input.size);
  progress.status(`loading ${modelId}`);
  let model: SparseEncoder | undefined;
  let done = 0;
  try {
    model = await SparseEncoder.fromPretrained(modelId, {
      ...(revision !== undefined ? { revision } : {}),
      ...(threads !== undefined ? { threads } : {}),
      ...precision,
    });
    const m = model;
    progress.status('waiting for the first lines');
    stdinHint(input, io, 'texts (one per line, or JSONL / BEIR lines)');
    const encodeChunk = async (records: TextRecord[]): Promise<void> => {
      const opts = { batchSize, ...long, ...(maxActiveDims !== undefined ? { maxActiveDims } : {}) };
      const texts = records.map((r) => r.text);
      const vectors = task === 'query' ? await m.encodeQuery(texts, opts) : task === 'document' ? await m.encodeDocument(texts, opts) : await m.encode(texts, opts);
      let out = '';
      records.forEach((r, i) => {
        out += formatRecord(r, vectors[i]!, withTokens ? m : undefined) + '\n';
      });
      await output.write(out);
      done += records.length;
      progress.update(done);
    };
    let chunk: TextRecord[] = [];
    for await (const r of readTextRecords(input, (n) => progress.addBytes(n))) {
      chunk.push(r);
      if (chunk.length >= chunkSize) {
        await encodeChunk(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await encodeChunk(chunk);
    progress.finish(done);
    await output.close();
  } catch (err) {
    progress.clear();
    throw err;
  } finally {
    await model?.dispose();
  }
}

function formatRecord(r: TextRecord, v: SparseVector, decoder: SparseEncoder | undefined): string {
  const values: string[] = [];
  for (let i = 0; i < v.values.length; i++) values.push(float32ToString(v.values[i]!));
  let s = '{';
  if (r.id !== undefined) s += `"id":${JSON.stringify(r.id)},`;
  // "dim" lets what reads the lines (export --format pgvector, index build) know the vocabulary size without flags.
  s += `"indices":[${Array.from(v.indices).join(',')}],"values":[${values.join(',')}],"dim":${v.dim}`;
  if (decoder !== undefined) {
    // Pairs, heaviest first: an object would lose the order ("13" and "39" are number-like keys,
    // which JavaScript moves to the front), and pairs are what the server's /encode returns.
    const tokens = decoder.decode(v).map(([t, w]) => `[${JSON.stringify(t)},${float32ToString(w)}]`);
    s += `,"tokens":[${tokens.join(',')}]`;
  }
  return s + '}';
}

/** The shortest decimal that reads back as the same float32 (what numpy prints for float32). */
export function float32ToString(v: number): string {
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}
