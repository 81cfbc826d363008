import { stat } from 'node:fs/promises';
import { readRegularFile } from '../../files/local-files.js';
import { SparseEncoderError } from '../../errors.js';
import { SparseEncoder } from '../../encoder/sparse-encoder.js';
import { OPENSEARCH_MAX_QUERY_WEIGHT, elasticsearchBulk, elasticsearchQuery, openSearchBulk, openSearchQuery } from '../../export/lucene-engines.js';
import { milvusInsert, milvusQuery } from '../../export/milvus.js';
import { PGVECTOR_HNSW_MAX_NNZ, pgvectorCopy, pgvectorQuery } from '../../export/pgvector.js';
import { qdrantQuery, qdrantUpsert } from '../../export/qdrant.js';
import { engineSchema, formatSchema } from '../../export/schemas.js';
import type { BatchOptions, ExportBatch, ExportFormat, ExportRecord, ExportWarning, TokenOf, TokenWeights } from '../../export/types.js';
import { vespaFeed, vespaQuery } from '../../export/vespa.js';
import { type Options, intOption, parseCommandArgs } from '../args.js';
import { OutputWriter, openInput, type CliIo } from '../io.js';
import { lineVector, readVectorLines, type VectorLine } from '../lines.js';
import { stdinHint } from '../progress.js';

const HELP = `usage: sparse-encoder export --format <engine> [options]
       sparse-encoder export --format <engine> --mapping [options]

Turns sparse vectors into a search engine's bulk-ingest format (or, with --queries, its query
bodies; with --mapping, the index / collection / table to create first). Input: JSONL as
'sparse-encoder encode' writes it, one vector per line:
  {"id": "d1", "indices": [...], "values": [...], "tokens": [["word", 1.2], ...]}
"tokens" is optional (encode --tokens); other keys are copied into the documents as fields.

formats:
  opensearch      _bulk NDJSON; rank_features field {token: weight}, or with
                  --field-type sparse_vector (3.3+, SEISMIC) {"<token id>": weight}
  elasticsearch   _bulk NDJSON; sparse_vector field {token: weight}; '.' in tokens becomes '__'
  qdrant          one upsert body {"points": [...]} per line, for PUT /collections/<name>/points
  vespa           JSONL feed of put operations; tensor<float>(t{}) field {"cells": {token: weight}}
  milvus          one insert body {"collectionName", "data": [...]} per line, for
                  POST /v2/vectordb/entities/insert; SPARSE_FLOAT_VECTOR {"<index>": weight}
  pgvector        COPY text rows "id<TAB>{i+1:v,...}/dim" for
                  COPY <table> (id, embedding) FROM STDIN; sparsevec, 1-based indices

Engine rules applied (changes are counted on stderr, never silent):
  opensearch/elasticsearch  weights < 2^-126 dropped (Lucene FeatureField); opensearch query
                            weights > 64 clamped to 64 (or --over-weight rescale); elasticsearch
                            queries say "prune": false (exact scores) unless --prune index
  milvus                    negative weights dropped; empty vectors kept as {} (2.4.12+) or
                            left out with --skip-empty
  pgvector                  more than 16000 non-zeros is an error; more than 1000 is a warning
                            (HNSW cannot index them)
  qdrant                    point ids that are not unsigned integers or UUIDs become
                            uuid5(NAMESPACE_URL, id); the original id is kept in the payload

options:
  --format <engine>       opensearch | elasticsearch | qdrant | vespa | milvus | pgvector (required)
  --vectors <file|->      input JSONL, '-' for stdin (default: stdin)
  --output <file|->       output file, '-' for stdout (default: stdout)
  --vocab <path|model>    vocab.txt (token of index i on line i+1), or a model folder / Hub id;
                          needed by opensearch (rank_features), elasticsearch and vespa when lines
                          lack "tokens"; also gives pgvector its dimension
  --dim <n>               pgvector: the vectors' dimension (default: --vocab's size, or the
                          lines' "dim")
  --index-name <name>     OpenSearch/Elasticsearch index, Qdrant/Milvus collection, Vespa document
                          type, pgvector table (default corpus)
  --field <name>          the sparse field / Qdrant vector name / pgvector column (default sparse;
                          pgvector embedding)
  --mapping               print the index mapping / collection body / schema / SQL and exit
  --queries               write one query body per input line instead; "id" is optional then
  --limit <n>             queries: hits to return (qdrant, milvus, vespa, pgvector; default 10)
  --batch-docs <n>        documents per batch (default 500)
  --batch-bytes <n>       most bytes per batch (default 5242880)
  --field-type <type>     opensearch: rank_features | sparse_vector (default rank_features)
  --over-weight <mode>    opensearch queries: clamp | rescale weights above 64 (default clamp)
  --prune <mode>          elasticsearch queries: false | index | true (default false)
  --no-index-options      elasticsearch --mapping: leave out index_options (clusters before 8.19/9.1)
  --idf-modifier          qdrant --mapping: the IDF modifier (BM25-style vectors only)
  --skip-empty            milvus: leave out documents with empty vectors (Milvus before 2.4.12)
  --keep-dots             elasticsearch: keep '.' in tokens (clusters that accept dotted features)
  --namespace <ns>        vespa: id namespace (default: --index-name)
  --id-field <name>       qdrant: payload key of the original id (default doc_id);
                          milvus: primary key field (default id)
  -h, --help              this help
`;

const FORMATS: readonly ExportFormat[] = ['opensearch', 'elasticsearch', 'qdrant', 'vespa', 'milvus', 'pgvector'];
/** The largest dimension any engine here takes: Milvus needs indices below 2^32-1. */
const MAX_DIM = 0xffffffff;

interface Vocabulary {
  tokenOf: TokenOf;
  dim: number;
  dispose(): Promise<void>;
}

/** Every option of this command (its --help lists each one; test/cli checks). */
export const OPTIONS: Options = {
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
  dim: { type: 'string' },
  mapping: { type: 'boolean' },
  limit: { type: 'string' },
  'field-type': { type: 'string' },
  'over-weight': { type: 'string' },
  prune: { type: 'string' },
  'no-index-options': { type: 'boolean' },
  'idf-modifier': { type: 'boolean' },
  'skip-empty': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** `sparse-encoder export`: streams vector lines in, engine bodies out. */
export async function run(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, OPTIONS);
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
  const indexName = nonEmpty(values['index-name'], 'index-name') ?? 'corpus';
  const field = nonEmpty(values['field'], 'field') ?? (engine === 'pgvector' ? 'embedding' : 'sparse');
  const only = (flag: string, engines: readonly ExportFormat[]): void => {
    if (values[flag] !== undefined && !engines.includes(engine)) throw new SparseEncoderError('ERR_USAGE', `--${flag} applies to --format ${engines.join(' and ')} only`);
  };
  only('field-type', ['opensearch']);
  only('over-weight', ['opensearch']);
  only('prune', ['elasticsearch']);
  only('no-index-options', ['elasticsearch']);
  only('idf-modifier', ['qdrant']);
  only('skip-empty', ['milvus']);
  only('dim', ['pgvector']);
  const fieldType = choice(values['field-type'], 'field-type', ['rank_features', 'sparse_vector'] as const, 'rank_features');
  const overWeight = choice(values['over-weight'], 'over-weight', ['clamp', 'rescale'] as const, 'clamp');
  const pruneArg = choice(values['prune'], 'prune', ['false', 'index', 'true'] as const, 'false');
  const prune = pruneArg === 'index' ? ('index' as const) : pruneArg === 'true';
  const limit = intOption(values['limit'] as string | undefined, 'limit', 10);
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
  const dimArg = values['dim'] === undefined ? undefined : intOption(values['dim'] as string, 'dim', 0);

  if (values['mapping'] === true) {
    if (queries) throw new SparseEncoderError('ERR_USAGE', '--mapping and --queries cannot be combined');
    let dim = dimArg;
    if (engine === 'pgvector' && dim === undefined && vocabArg !== undefined) {
      const v = await loadVocabulary(vocabArg);
      dim = v.dim;
      await v.dispose();
    }
    if (engine === 'pgvector' && dim === undefined) throw new SparseEncoderError('ERR_USAGE', '--format pgvector --mapping needs --dim <n> or --vocab (sparsevec(dim) needs the dimension)');
    const schema = engineSchema(engine, {
      name: indexName,
      field,
      fieldType,
      indexOptions: values['no-index-options'] !== true,
      idfModifier: values['idf-modifier'] === true,
      ...(idField !== undefined ? { idField } : {}),
      ...(dim !== undefined ? { dim } : {}),
    });
    io.stdout.write(formatSchema(schema));
    return;
  }

  const tokenKeyed = engine === 'elasticsearch' || engine === 'vespa' || (engine === 'opensearch' && fieldType === 'rank_features');
  const needsVocab = tokenKeyed || (engine === 'pgvector' && dimArg === undefined);
  const vocab = needsVocab && vocabArg !== undefined ? await loadVocabulary(vocabArg) : undefined;
  const tokenOf = vocab?.tokenOf;
  const pgDim = dimArg ?? vocab?.dim;
  // reportChanges sends at most one event of each type per document, so events count documents.
  const tally: Tally = { documents: 0, dropped: 0, droppedIn: 0, renamed: 0, merged: 0, clamped: 0, rescaled: 0, empty: 0, unindexable: 0 };
  const onWarning = (w: ExportWarning): void => {
    if (w.type === 'weights-dropped') {
      tally.dropped += w.count;
      tally.droppedIn++;
    } else if (w.type === 'tokens-renamed') tally.renamed += w.count;
    else if (w.type === 'tokens-merged') tally.merged += w.count;
    else if (w.type === 'weights-clamped') tally.clamped += w.count;
    else if (w.type === 'query-rescaled') tally.rescaled++;
    else if (w.type === 'empty-vector') tally.empty++;
    else tally.unindexable++;
  };

  try {
    const input = await openInput(inputPath, io);
    const out = await OutputWriter.open(outputPath, io);
    stdinHint(input, io, 'vector lines');
    const lines = records(readVectorLines(input, { requireId: !queries }), { tokenKeyed, hasVocab: tokenOf !== undefined, dim: vocab?.dim ?? MAX_DIM });
    // pgvector: the dimension comes from --dim / --vocab, else from each line's "dim".
    const dimOf = (record: LineRecord): number => {
      const d = pgDim ?? record.dim;
      if (d === undefined) throw new SparseEncoderError('ERR_USAGE', `${inputPath === '-' ? 'stdin' : inputPath}: --format pgvector needs --dim <n> or --vocab (the lines carry no "dim")`);
      return d;
    };
    const write = (text: string): Promise<void> => out.write(text);
    {
      if (queries) {
        for await (const record of lines) {
          const q = { vector: record.vector, ...(record.tokens !== undefined ? { tokens: record.tokens } : {}) };
          const body =
            engine === 'opensearch'
              ? openSearchQuery(q, { field, tokenOf, onWarning, fieldType, overWeight })
              : engine === 'elasticsearch'
                ? elasticsearchQuery(q, { field, tokenOf, onWarning, dotReplacement, prune })
                : engine === 'qdrant'
                  ? qdrantQuery(q, { vectorName: field, onWarning, limit })
                  : engine === 'milvus'
                    ? milvusQuery(q, { collectionName: indexName, field, limit, onWarning, ...(idField !== undefined ? { outputFields: [idField] } : {}) })
                    : engine === 'vespa'
                      ? vespaQuery(q, { documentType: indexName, hits: limit, tokenOf, onWarning })
                      : pgvectorQuery(q, { dim: dimOf(record), table: indexName, column: field, limit, onWarning });
          tally.documents++;
          await write((typeof body === 'string' ? body : JSON.stringify(body)) + '\n');
        }
      } else {
        const batch = { maxDocuments, maxBytes, onWarning };
        const withTokenOf = tokenOf === undefined ? {} : { tokenOf };
        const batches: AsyncGenerator<ExportBatch> =
          engine === 'opensearch'
            ? openSearchBulk(lines, { ...batch, ...withTokenOf, field, index: indexName, fieldType })
            : engine === 'elasticsearch'
              ? elasticsearchBulk(lines, { ...batch, ...withTokenOf, field, index: indexName, dotReplacement })
              : engine === 'vespa'
                ? vespaFeed(lines, { ...batch, ...withTokenOf, field, documentType: indexName, ...(namespace !== undefined ? { namespace } : {}) })
                : engine === 'qdrant'
                  ? qdrantUpsert(lines, { ...batch, vectorName: field, ...(idField !== undefined ? { idPayloadKey: idField } : {}) })
                  : engine === 'milvus'
                    ? milvusInsert(lines, { ...batch, collectionName: indexName, field, emptyVectors: values['skip-empty'] === true ? 'skip' : 'keep', ...(idField !== undefined ? { idField } : {}) })
                    : pgvectorRows(lines, dimOf, batch);
        for await (const b of batches) {
          tally.documents += b.documents;
          // NDJSON bodies and COPY rows already end with a newline; JSON bodies go one per line.
          await write(b.contentType === 'application/json' ? b.body + '\n' : b.body);
        }
      }
    }
    await out.close();
    const summary = summarize(tally, engine);
    if (summary !== '') io.stderr.write(`export: ${summary}\n`);
  } finally {
    await vocab?.dispose();
  }
}

interface Tally {
  documents: number;
  dropped: number;
  droppedIn: number;
  renamed: number;
  merged: number;
  clamped: number;
  rescaled: number;
  empty: number;
  unindexable: number;
}

function summarize(t: Tally, engine: ExportFormat): string {
  const parts: string[] = [];
  if (t.dropped > 0) {
    const rule = engine === 'milvus' ? 'negative' : engine === 'opensearch' || engine === 'elasticsearch' ? 'non-positive' : 'non-finite';
    parts.push(`dropped ${t.dropped} ${rule} weights (${t.droppedIn} of ${t.documents} lines)`);
  }
  if (t.renamed > 0) parts.push(`replaced '.' in ${t.renamed} tokens with '__'`);
  if (t.merged > 0) parts.push(`merged ${t.merged} repeated tokens (kept the largest weight)`);
  if (t.clamped > 0) parts.push(`clamped ${t.clamped} query weights above ${OPENSEARCH_MAX_QUERY_WEIGHT} to ${OPENSEARCH_MAX_QUERY_WEIGHT} (OpenSearch refuses larger ones; --over-weight rescale keeps the ranking)`);
  if (t.rescaled > 0) parts.push(`rescaled ${t.rescaled} queries so their largest weight is ${OPENSEARCH_MAX_QUERY_WEIGHT}`);
  if (t.empty > 0) parts.push(`${t.empty} empty vectors (${engine === 'milvus' ? 'Milvus before 2.4.12 rejects them; --skip-empty leaves them out' : 'they match nothing'})`);
  if (t.unindexable > 0) parts.push(`${t.unindexable} vectors have more than ${PGVECTOR_HNSW_MAX_NNZ} non-zeros (pgvector's HNSW index cannot take them; exact scans can)`);
  return parts.join('; ');
}

/**
 * COPY rows; the dimension is taken from the options or the first line, and every later line
 * must agree (a sparsevec column has one dimension).
 */
async function* pgvectorRows(lines: AsyncIterable<LineRecord>, dimOf: (r: LineRecord) => number, options: BatchOptions): AsyncGenerator<ExportBatch> {
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) return;
  const dim = dimOf(first.value);
  const checked = async function* (): AsyncGenerator<LineRecord> {
    yield first.value;
    for (let n = await it.next(); n.done !== true; n = await it.next()) {
      const d = dimOf(n.value);
      if (d !== dim) throw new SparseEncoderError('ERR_DIMENSION_MISMATCH', `document ${JSON.stringify(n.value.id)} has dim ${d}, the first line ${dim}`);
      yield n.value;
    }
  };
  yield* pgvectorCopy(checked(), { ...options, dim });
}

function choice<T extends string>(v: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw new SparseEncoderError('ERR_USAGE', `--${name} must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  return v as T;
}

function nonEmpty(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new SparseEncoderError('ERR_USAGE', `--${name} needs a value`);
  return v;
}

interface LineRules {
  tokenKeyed: boolean;
  hasVocab: boolean;
  dim: number;
}

/** A record plus the line's own "dim", when it has one. */
type LineRecord = ExportRecord & { dim?: number };

/** Vector lines (the shared reader) as export records; errors name the file and line. */
async function* records(lines: AsyncIterable<VectorLine>, rules: LineRules): AsyncGenerator<LineRecord> {
  for await (const l of lines) {
    const vector = lineVector(l, rules.dim);
    if (l.tokens === undefined && rules.tokenKeyed && !rules.hasVocab) {
      throw new SparseEncoderError('ERR_USAGE', `${l.where}: no "tokens" on this line; pass --vocab (vocab.txt or the model) or encode with --tokens`, { details: { line: l.where } });
    }
    const record: LineRecord = { id: l.id ?? '', vector };
    if (l.dim !== undefined) record.dim = l.dim;
    if (l.tokens !== undefined) record.tokens = l.tokens;
    if (l.extra !== undefined) record.fields = l.extra;
    yield record;
  }
}

/** vocab.txt (one token per line, line i+1 = index i), or a model's own vocabulary. */
async function loadVocabulary(arg: string): Promise<Vocabulary> {
  const info = await stat(arg).catch(() => undefined);
  if (info?.isFile()) {
    const text = (await readRegularFile(arg, 'vocabulary file')).toString('utf8');
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
