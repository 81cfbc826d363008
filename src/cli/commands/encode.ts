import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { SparseEncoderError } from '../../errors.js';
import { SparseEncoder } from '../../encoder/sparse-encoder.js';
import type { SparseVector } from '../../sparse/vector.js';
import { intOption, modelPrecisionHelp, modelPrecisionOptions, parseCommandArgs } from '../args.js';
import type { CliIo } from '../main.js';
import { ProgressBar } from '../progress.js';

const HELP = `usage: sparse-encoder encode --model <id|path> [options]

Encodes texts into sparse vectors, one JSON line per input text, in input order:
  {"indices":[...],"values":[...]}   (+ "id" when the input line had one, + "tokens" with --tokens)

Input: one text per line (an empty line is an empty text), or JSONL with a string "text" field
(and optionally "id", copied to the output). The format is chosen by the first non-empty line:
if it is a JSON object with a string "text", every non-empty line must be one (blank lines are
skipped); otherwise every line is taken literally as a text.

options:
  --model <id|path>       model folder or Hugging Face Hub id (required)
  --query                 encode as queries (query prompt and route)
  --document              encode as documents (document prompt and route)
                          (neither: plain encode with the model's default prompt and route)
  --input <file|->        input file, '-' for stdin (default: stdin)
  --output <file|->       output file, '-' for stdout (default: stdout)
  --batch-size <n>        texts per model run (default 32)
  --max-active-dims <k>   keep the k largest weights per vector (default: model's default)
  --tokens                add "tokens": {token: weight} (decoded vocabulary entries)
  --revision <rev>        Hub branch, tag or commit (default main)
  --threads <n>           onnxruntime threads (default: number of CPUs)
${modelPrecisionHelp()}  --chunk-size <n>        lines read and encoded together (default 1024)
`;

interface InputRecord {
  text: string;
  id?: unknown;
  hasId: boolean;
}

/** `sparse-encoder encode`: streams lines in, JSONL out, `--chunk-size` lines at a time. */
export async function run(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, {
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
    help: { type: 'boolean', short: 'h' },
  });
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

  const inputPath = (values['input'] as string | undefined) ?? '-';
  const outputPath = (values['output'] as string | undefined) ?? '-';

  if (inputPath !== '-') {
    try {
      await access(inputPath, constants.R_OK);
    } catch (err) {
      throw new SparseEncoderError('ERR_FILE_NOT_FOUND', `cannot read input file ${inputPath}`, { cause: err, details: { path: inputPath } });
    }
  }
  const model = await SparseEncoder.fromPretrained(modelId, {
    ...(revision !== undefined ? { revision } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...precision,
  });
  const input: NodeJS.ReadableStream = inputPath === '-' ? io.stdin : createReadStream(inputPath);
  const output = outputPath === '-' ? io.stdout : createWriteStream(outputPath);
  const progress = new ProgressBar(io.stderr, 'encode', undefined);
  let done = 0;
  try {
    const inputError = new Promise<never>((_, reject) => {
      input.once('error', (err: Error) =>
        reject(new SparseEncoderError('ERR_FILE_NOT_FOUND', `cannot read input ${inputPath}: ${err.message}`, { cause: err, details: { path: inputPath } })),
      );
    });
    inputError.catch(() => undefined);
    const encodeChunk = async (records: InputRecord[]): Promise<void> => {
      const opts = { batchSize, ...(maxActiveDims !== undefined ? { maxActiveDims } : {}) };
      const texts = records.map((r) => r.text);
      const vectors =
        task === 'query' ? await model.encodeQuery(texts, opts) : task === 'document' ? await model.encodeDocument(texts, opts) : await model.encode(texts, opts);
      let out = '';
      records.forEach((r, i) => {
        out += formatRecord(r, vectors[i]!, withTokens ? model : undefined) + '\n';
      });
      if (!output.write(out)) await once(output, 'drain');
      done += records.length;
      progress.update(done);
    };
    await Promise.race([readRecords(input, chunkSize, encodeChunk), inputError]);
    progress.finish(done);
  } finally {
    await model.dispose();
    if (output !== io.stdout) {
      const closed = once(output, 'close');
      output.end();
      await closed;
    }
  }
}

/** Reads lines, detects the format from the first non-empty one, and hands over chunks of records. */
async function readRecords(input: NodeJS.ReadableStream, chunkSize: number, onChunk: (records: InputRecord[]) => Promise<void>): Promise<void> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let format: 'jsonl' | 'plain' | undefined;
  let lineNo = 0;
  let pendingEmpty = 0; // plain-text empty lines seen before the format is known
  let chunk: InputRecord[] = [];
  for await (const line of lines) {
    lineNo++;
    if (format === undefined) {
      if (line.trim() === '') {
        pendingEmpty++;
        continue;
      }
      format = parseJsonRecord(line) !== undefined ? 'jsonl' : 'plain';
      if (format === 'plain') for (; pendingEmpty > 0; pendingEmpty--) chunk.push({ text: '', hasId: false });
    }
    if (format === 'jsonl') {
      if (line.trim() === '') continue;
      const rec = parseJsonRecord(line);
      if (rec === undefined) {
        throw new SparseEncoderError('ERR_INVALID_INPUT', `input line ${lineNo}: expected a JSON object with a string "text" field (the input is JSONL, judged by its first line)`, {
          details: { line: lineNo },
        });
      }
      chunk.push(rec);
    } else {
      chunk.push({ text: line, hasId: false });
    }
    if (chunk.length >= chunkSize) {
      await onChunk(chunk);
      chunk = [];
    }
  }
  if (format === undefined) for (; pendingEmpty > 0; pendingEmpty--) chunk.push({ text: '', hasId: false });
  if (chunk.length > 0) await onChunk(chunk);
}

function parseJsonRecord(line: string): InputRecord | undefined {
  const s = line.trim();
  if (!s.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['text'] !== 'string') return undefined;
  return Object.hasOwn(o, 'id') ? { text: o['text'], id: o['id'], hasId: true } : { text: o['text'], hasId: false };
}

function formatRecord(r: InputRecord, v: SparseVector, decoder: SparseEncoder | undefined): string {
  const values: string[] = [];
  for (let i = 0; i < v.values.length; i++) values.push(float32ToString(v.values[i]!));
  let s = '{';
  if (r.hasId) s += `"id":${JSON.stringify(r.id ?? null)},`;
  s += `"indices":[${Array.from(v.indices).join(',')}],"values":[${values.join(',')}]`;
  if (decoder !== undefined) {
    const tokens = decoder.decode(v).map(([t, w]) => `${JSON.stringify(t)}:${float32ToString(w)}`);
    s += `,"tokens":{${tokens.join(',')}}`;
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
