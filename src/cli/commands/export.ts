import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { SparseEncoderError, isSparseEncoderError } from '../../errors.js';
import { SparseEncoder } from '../../encoder/sparse-encoder.js';
import { fromPairs } from '../../sparse/vector.js';
import { elasticsearchBulk, elasticsearchQuery, openSearchBulk, openSearchQuery } from '../../export/lucene-engines.js';
import { milvusInsert } from '../../export/milvus.js';
import { qdrantQuery, qdrantUpsert } from '../../export/qdrant.js';
import type { ExportBatch, ExportFormat, ExportRecord, ExportWarning, TokenOf, TokenWeights } from '../../export/types.js';
import { vespaFeed } from '../../export/vespa.js';
import { intOption, parseCommandArgs } from '../args.js';
import type { CliIo } from '../main.js';

const HELP = `usage: sparse-encoder export --format <engine> [options]

Turns sparse vectors into a search engine's bulk-ingest format (or, with --queries, its query
bodies). Input: JSONL as 'sparse-encoder encode' writes it, one vector per line:
  {"id": "d1", "indices": [...], "values": [...], "tokens": {"word": 1.2, ...}}
"tokens" is optional (encode --tokens); other keys are copied into the documents as fields.

formats:
  opensearch      _bulk NDJSON; rank_features field {token: weight}
  elasticsearch   _bulk NDJSON; sparse_vector field {token: weight}; '.' in tokens becomes '__'
  qdrant          one upsert body {"points": [...]} per line, for PUT /collections/<name>/points
  vespa           JSONL feed of put operations; tensor<float>(t{}) field {"cells": {token: weight}}
  milvus          one insert body {"collectionName", "data": [...]} per line, for
                  POST /v2/vectordb/entities/insert; SPARSE_FLOAT_VECTOR {"<index>": weight}

Weights an engine rejects are dropped and counted on stderr: OpenSearch/Elasticsearch keep only
weights >= 2^-126 (Lucene FeatureField), Milvus only weights >= 0. Qdrant point ids that are not
unsigned integers or UUIDs become uuid5(NAMESPACE_URL, id); the original id is kept in the payload.

options:
  --format <engine>       opensearch | elasticsearch | qdrant | vespa | milvus (required)
  --vectors <file|->      input JSONL, '-' for stdin (default: stdin)
  --output <file|->       output file, '-' for stdout (default: stdout)
  --vocab <path|model>    vocab.txt (token of index i on line i+1), or a model folder / Hub id;
                          needed by opensearch, elasticsearch and vespa when lines lack "tokens"
  --index-name <name>     OpenSearch/Elasticsearch _index, Milvus collectionName, Vespa document
                          type (default corpus)
  --field <name>          the sparse field / Qdrant vector name (default sparse)
  --queries               write one query body per input line instead (opensearch, elasticsearch,
                          qdrant); "id" is optional then
  --batch-docs <n>        documents per batch (default 500)
  --batch-bytes <n>       most bytes per batch (default 5242880)
  --keep-dots             elasticsearch: keep '.' in tokens (clusters that accept dotted features)
  --namespace <ns>        vespa: id namespace (default: --index-name)
  --id-field <name>       qdrant: payload key of the original id (default doc_id);
                          milvus: primary key field (default id)
`;

const FORMATS: readonly ExportFormat[] = ['opensearch', 'elasticsearch', 'qdrant', 'vespa', 'milvus'];
const TOKEN_KEYED = new Set<ExportFormat>(['opensearch', 'elasticsearch', 'vespa']);
/** The largest dimension any engine here takes: Milvus needs indices below 2^32-1. */
const MAX_DIM = 0xffffffff;

interface Vocabulary {
  tokenOf: TokenOf;
  dim: number;
  dispose(): Promise<void>;
}

/** `sparse-encoder export`: streams vector lines in, engine bodies out. */
export async function run(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, {
    format: { type: 'string' },
    vectors: { type: 'string' },
    output: { type: 'string' },
    vocab: { type: 'string' },
    'index-name': { type: 'string' },
    field: { type: 'string' },
    queries: { type: 'boolean' },
    'batch-docs': { type: 'string' },
    'batch-bytes': { type: 'string' },
    'keep-dots': { type: 'boolean' },
    namespace: { type: 'string' },
    'id-field': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values['help'] === true) {
    io.stdout.write(HELP);
    return;
  }
  const format = values['format'] as string | undefined;
  if (format === undefined || !FORMATS.includes(format as ExportFormat)) {
    throw new SparseEncoderError('ERR_USAGE', `--format must be one of ${FORMATS.join(', ')}${format === undefined ? '' : `, got '${format}'`}`);
  }
  const engine = format as ExportFormat;
  const queries = values['queries'] === true;
  if (queries && (engine === 'vespa' || engine === 'milvus')) {
    throw new SparseEncoderError('ERR_USAGE', `--queries is supported for opensearch, elasticsearch and qdrant, not ${engine}`);
  }
  const indexName = nonEmpty(values['index-name'], 'index-name') ?? 'corpus';
  const field = nonEmpty(values['field'], 'field') ?? 'sparse';
  const namespace = nonEmpty(values['namespace'], 'namespace');
  const idField = nonEmpty(values['id-field'], 'id-field');
  const maxDocuments = intOption(values['batch-docs'] as string | undefined, 'batch-docs', 500);
  const maxBytes = intOption(values['batch-bytes'] as string | undefined, 'batch-bytes', 5 * 1024 * 1024);
  const dotReplacement = values['keep-dots'] === true ? null : '__';
  if (values['keep-dots'] === true && engine !== 'elasticsearch') throw new SparseEncoderError('ERR_USAGE', '--keep-dots applies to --format elasticsearch only');
  if (namespace !== undefined && engine !== 'vespa') throw new SparseEncoderError('ERR_USAGE', '--namespace applies to --format vespa only');
  if (idField !== undefined && engine !== 'qdrant' && engine !== 'milvus') throw new SparseEncoderError('ERR_USAGE', '--id-field applies to --format qdrant and milvus only');
  const inputPath = (values['vectors'] as string | undefined) ?? '-';
  const outputPath = (values['output'] as string | undefined) ?? '-';
  const vocabArg = nonEmpty(values['vocab'], 'vocab');

  const tokenKeyed = TOKEN_KEYED.has(engine);
  const vocab = tokenKeyed && vocabArg !== undefined ? await loadVocabulary(vocabArg) : undefined;
  const tokenOf = vocab?.tokenOf;
  // reportChanges sends at most one event of each type per document, so events count documents.
  const tally = { documents: 0, dropped: 0, droppedIn: 0, renamed: 0, merged: 0 };
  const onWarning = (w: ExportWarning): void => {
    if (w.type === 'weights-dropped') {
      tally.dropped += w.count;
      tally.droppedIn++;
    } else if (w.type === 'tokens-renamed') tally.renamed += w.count;
    else tally.merged += w.count;
  };

  try {
    const input = await openInput(inputPath, io);
    const lines = readLines(input, inputPath, { requireId: !queries, tokenKeyed, hasVocab: tokenOf !== undefined, dim: vocab?.dim ?? MAX_DIM });
    const out: NodeJS.WritableStream = outputPath === '-' ? io.stdout : createWriteStream(outputPath);
    const failed = new Promise<never>((_, reject) => {
      out.once('error', (err: Error) => reject(new SparseEncoderError('ERR_INVALID_ARGUMENT', `cannot write ${outputPath}: ${err.message}`, { cause: err })));
    });
    failed.catch(() => undefined);
    const write = async (text: string): Promise<void> => {
      if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
    };
    try {
      if (queries) {
        for await (const record of lines) {
          const q = { vector: record.vector, ...(record.tokens !== undefined ? { tokens: record.tokens } : {}) };
          const body =
            engine === 'opensearch'
              ? openSearchQuery(q, { field, tokenOf, onWarning })
              : engine === 'elasticsearch'
                ? elasticsearchQuery(q, { field, tokenOf, onWarning, dotReplacement })
                : qdrantQuery(q, { vectorName: field, onWarning });
          tally.documents++;
          await write(JSON.stringify(body) + '\n');
        }
      } else {
        const batch = { maxDocuments, maxBytes, onWarning };
        const withTokenOf = tokenOf === undefined ? {} : { tokenOf };
        const batches: AsyncGenerator<ExportBatch> =
          engine === 'opensearch'
            ? openSearchBulk(lines, { ...batch, ...withTokenOf, field, index: indexName })
            : engine === 'elasticsearch'
              ? elasticsearchBulk(lines, { ...batch, ...withTokenOf, field, index: indexName, dotReplacement })
              : engine === 'vespa'
                ? vespaFeed(lines, { ...batch, ...withTokenOf, field, documentType: indexName, ...(namespace !== undefined ? { namespace } : {}) })
                : engine === 'qdrant'
                  ? qdrantUpsert(lines, { ...batch, vectorName: field, ...(idField !== undefined ? { idPayloadKey: idField } : {}) })
                  : milvusInsert(lines, { ...batch, collectionName: indexName, field, ...(idField !== undefined ? { idField } : {}) });
        for await (const b of batches) {
          tally.documents += b.documents;
          // NDJSON bodies already end with a newline; JSON bodies go one per line.
          await write(b.contentType === 'application/x-ndjson' ? b.body : b.body + '\n');
        }
      }
    } finally {
      if (out !== io.stdout) {
        const closed = once(out, 'close');
        closed.catch(() => undefined);
        out.end();
        await Promise.race([closed, failed]);
      }
    }
    const summary = summarize(tally, engine);
    if (summary !== '') io.stderr.write(`export: ${summary}\n`);
  } finally {
    await vocab?.dispose();
  }
}

function summarize(t: { documents: number; dropped: number; droppedIn: number; renamed: number; merged: number }, engine: ExportFormat): string {
  const parts: string[] = [];
  if (t.dropped > 0) {
    const rule = engine === 'milvus' ? 'negative' : engine === 'opensearch' || engine === 'elasticsearch' ? 'non-positive' : 'non-finite';
    parts.push(`dropped ${t.dropped} ${rule} weights (${t.droppedIn} of ${t.documents} lines)`);
  }
  if (t.renamed > 0) parts.push(`replaced '.' in ${t.renamed} tokens with '__'`);
  if (t.merged > 0) parts.push(`merged ${t.merged} repeated tokens (kept the largest weight)`);
  return parts.join('; ');
}

function nonEmpty(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new SparseEncoderError('ERR_USAGE', `--${name} needs a value`);
  return v;
}

async function openInput(path: string, io: CliIo): Promise<NodeJS.ReadableStream> {
  if (path === '-') return io.stdin;
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    await once(stream, 'open');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SparseEncoderError(e.code === 'ENOENT' ? 'ERR_FILE_NOT_FOUND' : 'ERR_INVALID_ARGUMENT', `cannot read ${path}: ${e.message}`, { cause: err, details: { path } });
  }
  return stream;
}

interface LineRules {
  requireId: boolean;
  tokenKeyed: boolean;
  hasVocab: boolean;
  dim: number;
}

/** Parses vector lines into records; every error names the file and line. */
async function* readLines(input: NodeJS.ReadableStream, path: string, rules: LineRules): AsyncGenerator<ExportRecord> {
  const name = path === '-' ? 'stdin' : path;
  let n = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    n++;
    if (text.trim() === '') continue;
    yield parseLine(text, `${name}:${n}`, rules);
  }
}

function parseLine(text: string, where: string, rules: LineRules): ExportRecord {
  const bad = (msg: string, code: 'ERR_INVALID_INPUT' | 'ERR_USAGE' = 'ERR_INVALID_INPUT'): never => {
    throw new SparseEncoderError(code, `${where}: ${msg}`, { details: { line: where } });
  };
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    bad('not valid JSON');
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) bad('expected a JSON object {"id", "indices", "values"}');
  const { id, indices, values, tokens, dim: _dim, ...fields } = obj as Record<string, unknown>;
  if (id === undefined) {
    if (rules.requireId) bad('missing "id" (every exported document needs one; give encode JSONL input with ids)');
  } else if (!((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
    bad('"id" must be a non-empty string or a number');
  }
  if (!Array.isArray(indices) || !Array.isArray(values)) bad('expected "indices" and "values" arrays');
  let vector;
  try {
    vector = fromPairs(indices as number[], values as number[], rules.dim);
  } catch (err) {
    if (isSparseEncoderError(err)) bad(err.message + (rules.dim < MAX_DIM && err.message.includes('outside') ? ' (the vocabulary size)' : ''));
    throw err;
  }
  if (tokens !== undefined) {
    if (tokens === null || typeof tokens !== 'object' || Array.isArray(tokens)) bad('"tokens" must be an object {token: weight}');
    for (const [t, w] of Object.entries(tokens as Record<string, unknown>)) {
      if (typeof w !== 'number') bad(`"tokens" weight of ${JSON.stringify(t)} is not a number`);
    }
  } else if (rules.tokenKeyed && !rules.hasVocab) {
    bad('no "tokens" on this line; pass --vocab (vocab.txt or the model) or encode with --tokens', 'ERR_USAGE');
  }
  const record: ExportRecord = { id: (id ?? '') as string | number, vector: vector! };
  if (tokens !== undefined) record.tokens = tokens as TokenWeights;
  if (Object.keys(fields).length > 0) record.fields = fields;
  return record;
}

/** vocab.txt (one token per line, line i+1 = index i), or a model's own vocabulary. */
async function loadVocabulary(arg: string): Promise<Vocabulary> {
  const info = await stat(arg).catch(() => undefined);
  if (info?.isFile()) {
    const text = await readFile(arg, 'utf8');
    const tokens = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop();
    if (tokens.length === 0) throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `--vocab ${arg} is empty`);
    return { tokenOf: (i) => tokens[i]!, dim: tokens.length, dispose: async () => undefined };
  }
  const model = await SparseEncoder.fromPretrained(arg);
  const dim = model.dim;
  const tokenOf = (i: number): string => model.tokenOf(i);
  return { tokenOf, dim, dispose: () => model.dispose() };
}
