import { writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseEncoderError } from '../../errors.js';
import { loadBeirDataset } from '../../eval/beir.js';
import { evaluateRetrieval, type EvaluatedModel, type EvaluationProgress, type EvaluationResult } from '../../eval/evaluate.js';
import type { FusionMethod } from '../../eval/fusion.js';
import type { MetricConventions, MetricCutoffs } from '../../eval/metrics.js';
import type { SparseTextEncoder } from '../../eval/retriever.js';
import { readTrecRun, writeTrecRun } from '../../eval/trec.js';
import { intOption, modelPrecisionHelp, modelPrecisionOptions, parseCommandArgs, requireOption, type ModelPrecisionOptions, type Options } from '../args.js';
import type { CliIo } from '../io.js';
import { ProgressBar } from '../progress.js';

const HELP = `usage: sparse-encoder eval --data <beir folder> (--model <id|path|bm25> [--model <second>] | --run <run.trec>) [options]

Scores retrieval on a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).

  --data <folder|sample> BEIR dataset folder (required); 'sample' is the Cranfield collection
                         shipped with the package (1,400 documents, 225 queries; no network)
  --model <id|path|bm25> model to evaluate; give two for hybrid search (fused, see --fusion)
                         (default bm25)
  --run <file>           score an existing TREC run file instead (like trec_eval)
  --split <name>         qrels split (default test)
  --conventions st|trec  metric definitions: sentence-transformers (default) or trec_eval -c
  --output <file>        write the metrics as one flat JSON object
  --save-run <file>      write the ranking as a TREC run file
  --k <n>                hits per query (default: largest cutoff; 1000 with --conventions trec)
  --batch-size <n>       texts per encoder call (default 32)
${modelPrecisionHelp().trimEnd()}
  --k1 <x> --b <x>       BM25 parameters (default 0.9 and 0.4, Anserini's)
  --bm25-lengths lucene|exact  BM25 document lengths as Lucene stores them (default) or exact
  --save-bm25 <file>     save the fitted BM25 vocabulary and statistics (JSON)
  --fusion rrf|weighted  hybrid fusion (default rrf)
  --rrf-k <n>            RRF constant (default 60)
  --weights <a,b>        per-model fusion weights (weighted default 0.5,0.5; rrf default 1,1)
cut-offs (comma-separated, named as sentence-transformers' evaluator arguments):
  --ndcg-at-k <list>     default 10
  --mrr-at-k <list>      default 10
  --map-at-k <list>      default 100
  --accuracy-at-k <list> default 1,3,5,10
  --precision-recall-at-k <list>  default 1,3,5,10,100
  -h, --help             show this help`;

export const OPTIONS: Options = {
  data: { type: 'string' },
  model: { type: 'string', multiple: true },
  run: { type: 'string' },
  split: { type: 'string' },
  conventions: { type: 'string' },
  output: { type: 'string' },
  'save-run': { type: 'string' },
  k: { type: 'string' },
  'batch-size': { type: 'string' },
  quantize: { type: 'string' },
  'fp32-vocab': { type: 'boolean' },
  k1: { type: 'string' },
  b: { type: 'string' },
  'bm25-lengths': { type: 'string' },
  'save-bm25': { type: 'string' },
  fusion: { type: 'string' },
  'rrf-k': { type: 'string' },
  weights: { type: 'string' },
  'ndcg-at-k': { type: 'string' },
  'mrr-at-k': { type: 'string' },
  'map-at-k': { type: 'string' },
  'accuracy-at-k': { type: 'string' },
  'precision-recall-at-k': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};


/** The cut-off flags → MetricCutoffs keys. */
const CUTOFF_FLAGS = {
  'ndcg-at-k': 'ndcgAtK',
  'mrr-at-k': 'mrrAtK',
  'map-at-k': 'mapAtK',
  'accuracy-at-k': 'accuracyAtK',
  'precision-recall-at-k': 'precisionRecallAtK',
} as const satisfies Record<string, keyof MetricCutoffs>;

function cutoffOptions(values: Record<string, unknown>): Partial<MetricCutoffs> {
  const out: { -readonly [K in keyof MetricCutoffs]?: number[] } = {};
  for (const [flag, key] of Object.entries(CUTOFF_FLAGS)) {
    const v = values[flag];
    if (v === undefined) continue;
    const ks = String(v).split(',').map((x) => x.trim());
    if (ks.some((x) => !/^[1-9]\d*$/.test(x))) throw new SparseEncoderError('ERR_USAGE', `--${flag} must be comma-separated positive integers, got '${String(v)}'`);
    out[key] = [...new Set(ks.map(Number))].sort((a, b) => a - b);
  }
  return out;
}

/** What a loaded neural encoder must offer here (the SparseEncoder class does). */
type DisposableEncoder = SparseTextEncoder & { dispose(): unknown };

export async function run(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values['help'] === true) {
    io.stdout.write(HELP + '\n');
    return;
  }
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const dataArg = requireOption(str('data'), 'data');
  // `sample`: the Cranfield collection shipped in the package, so one command proves an install offline.
  const data = dataArg === 'sample' ? fileURLToPath(new URL('../../../../samples/cranfield', import.meta.url)) : dataArg;
  const runPath = str('run');
  // BM25 is the model that needs no download: the default when neither --model nor --run is given.
  const models = (values['model'] as string[] | undefined) ?? (runPath === undefined ? ['bm25'] : []);
  const precision = modelPrecisionOptions(values);
  if ((models.length === 0) === (runPath === undefined)) throw new SparseEncoderError('ERR_USAGE', 'give either --model or --run');
  if (models.length > 2) throw new SparseEncoderError('ERR_USAGE', `at most two --model values can be fused, got ${models.length}`);
  const conventions = (str('conventions') ?? 'st') as MetricConventions;
  if (conventions !== 'st' && conventions !== 'trec') throw new SparseEncoderError('ERR_USAGE', `--conventions must be st or trec, got '${conventions}'`);
  const k = str('k') === undefined ? undefined : intOption(str('k'), 'k', 1);
  const batchSize = intOption(str('batch-size'), 'batch-size', 32);
  const bm25Options = {
    k1: numberOption(str('k1'), 'k1', 0.9),
    b: numberOption(str('b'), 'b', 0.4),
    lengthEncoding: lengthsOption(str('bm25-lengths')),
  };
  const fusion = fusionOption(str('fusion'), str('rrf-k'), str('weights'), models.length);
  const cutoffs = cutoffOptions(values);

  const bars = new Bars(io.stderr);
  const onProgress = (e: EvaluationProgress): void => bars.update(e);
  const dataset = await loadBeirDataset({ folder: data, ...(str('split') === undefined ? {} : { split: str('split')! }) });

  const saveBm25 = str('save-bm25');
  if (saveBm25 !== undefined && !models.includes('bm25')) throw new SparseEncoderError('ERR_USAGE', '--save-bm25 needs --model bm25');

  const started = Date.now();
  let result: EvaluationResult;
  const encoders: DisposableEncoder[] = [];
  try {
    const common = { dataset, conventions, batchSize, bm25: bm25Options, onProgress, cutoffs, ...(k === undefined ? {} : { k }) };
    if (runPath !== undefined) {
      if (k !== undefined) throw new SparseEncoderError('ERR_USAGE', '--k applies to --model, not to --run');
      result = await evaluateRetrieval({ dataset, run: await readTrecRun(runPath), conventions, cutoffs });
    } else {
      const loaded: EvaluatedModel[] = [];
      for (const spec of models) {
        if (spec === 'bm25') {
          loaded.push('bm25');
        } else {
          const encoder = await loadEncoder(spec, precision);
          encoders.push(encoder);
          loaded.push(encoder);
        }
      }
      result =
        loaded.length === 1
          ? await evaluateRetrieval({ ...common, model: loaded[0]! })
          : await evaluateRetrieval({ ...common, hybrid: { models: loaded, fusion: fusion! } });
    }
  } finally {
    bars.finish();
    for (const e of encoders) await e.dispose();
  }

  const seconds = (Date.now() - started) / 1000;
  const what = runPath !== undefined ? basename(runPath) : models.join(' + ');
  io.stdout.write(formatTable(result, `${what} on ${basename(resolve(data))} (${dataset.split})`, conventions, seconds));
  const output = str('output');
  if (output !== undefined) await writeOut(output, JSON.stringify(result.metrics, null, 2) + '\n');
  const saveRun = str('save-run');
  if (saveRun !== undefined) await writeTrecRun(saveRun, result.run, { tag: runTag(models) });
  if (saveBm25 !== undefined) await result.bm25!.save(saveBm25);
}

/** Loads a neural sparse encoder; imported here, lazily, so `--model bm25` and `--run` never load onnxruntime. */
async function loadEncoder(spec: string, precision: ModelPrecisionOptions): Promise<DisposableEncoder> {
  const { SparseEncoder } = await import('../../encoder/sparse-encoder.js');
  return SparseEncoder.fromPretrained(spec, precision);
}

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new SparseEncoderError('ERR_USAGE', `--${name} must be a number, got '${value}'`);
  return n;
}

function lengthsOption(value: string | undefined): 'lucene' | 'exact' {
  if (value === undefined || value === 'lucene' || value === 'exact') return value ?? 'lucene';
  throw new SparseEncoderError('ERR_USAGE', `--bm25-lengths must be lucene or exact, got '${value}'`);
}

function fusionOption(method: string | undefined, rrfK: string | undefined, weights: string | undefined, models: number): FusionMethod | undefined {
  if (models < 2) {
    if (method !== undefined || rrfK !== undefined || weights !== undefined) {
      throw new SparseEncoderError('ERR_USAGE', '--fusion, --rrf-k and --weights need two --model values');
    }
    return undefined;
  }
  const w = weights === undefined ? undefined : weights.split(',').map((x) => numberOption(x, 'weights', 0));
  if (w !== undefined && w.length !== models) throw new SparseEncoderError('ERR_USAGE', `--weights needs ${models} comma-separated numbers`);
  if (method === undefined || method === 'rrf') {
    return { method: 'rrf', k: numberOption(rrfK, 'rrf-k', 60), ...(w ? { weights: w } : {}) };
  }
  if (method === 'weighted') {
    if (rrfK !== undefined) throw new SparseEncoderError('ERR_USAGE', '--rrf-k only applies to --fusion rrf');
    return { method: 'weighted', ...(w ? { weights: w } : {}) };
  }
  throw new SparseEncoderError('ERR_USAGE', `--fusion must be rrf or weighted, got '${method}'`);
}

function runTag(models: string[]): string {
  const tag = models.map((m) => basename(m)).join('+').replace(/[^\w.+-]/g, '_');
  return tag === '' ? 'sparse-encoder' : tag;
}

async function writeOut(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new SparseEncoderError('ERR_OUTPUT_NOT_WRITABLE', `cannot write ${path}: ${(err as Error).message}`, { cause: err, details: { path } });
  }
}

const PHASE_LABELS: Record<EvaluationProgress['phase'], string> = {
  fit: 'bm25 statistics ',
  'encode-corpus': 'encoding corpus ',
  index: 'indexing        ',
  'encode-queries': 'encoding queries',
  search: 'searching       ',
};

/** One progress bar per phase; a new bar starts when the phase changes. */
class Bars {
  private current: { phase: string; bar: ProgressBar; done: number } | undefined;
  constructor(private readonly stream: CliIo['stderr']) {}

  update(e: EvaluationProgress): void {
    // Queries are encoded and searched batch by batch: show them as one 'searching' bar.
    const phase = e.phase === 'encode-queries' ? 'search' : e.phase;
    if (this.current?.phase !== phase) {
      this.finish();
      this.current = { phase, bar: new ProgressBar(this.stream, PHASE_LABELS[phase], e.total), done: 0 };
    }
    this.current.done = e.done;
    this.current.bar.update(e.done);
  }

  finish(): void {
    this.current?.bar.finish(this.current.done);
    this.current = undefined;
  }
}

function formatTable(result: EvaluationResult, title: string, conventions: MetricConventions, seconds: number): string {
  const lines = [
    `${title}: ${result.queriesEvaluated} queries, ${result.corpusSize} documents, ${conventions === 'st' ? 'sentence-transformers' : 'trec_eval -c'} conventions, ${seconds.toFixed(1)}s`,
    '',
  ];
  const width = Math.max(...Object.keys(result.metrics).map((key) => key.length));
  for (const [key, value] of Object.entries(result.metrics)) {
    const mark = key === result.primaryMetric ? '  (primary)' : '';
    lines.push(`  ${key.padEnd(width)}  ${value.toFixed(4)}${mark}`);
  }
  return lines.join('\n') + '\n';
}
