import { SparseEncoderError } from '../../errors.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { playgroundHtml } from '../../server/playground.js';
import { startServer } from '../../server/server.js';
import type { ServerLogEvent } from '../../server/types.js';
import { type Options, intOption, modelPrecisionHelp, modelPrecisionOptions, parseCommandArgs } from '../args.js';
import type { CliIo } from '../io.js';

const HELP = `usage: sparse-encoder serve --model <id|path> [--index <file|dir>] [options]

Serves a model and/or an index over HTTP (JSON): GET /health, GET /info, POST /encode,
POST /search, POST /similarity, POST /explain; text-embeddings-inference's POST /embed_sparse (and
POST /), /tokenize, /decode; GET /metrics (Prometheus), GET /openapi.json; GET /playground, a page
that shows what the model does (a browser opening / is sent there). The port is bound before the
model loads (a busy port fails at once; /health answers 503 until loaded). Prints the URL and log lines to stderr; stops on SIGINT/SIGTERM
after finishing the requests in flight.

options:
  --model <id|path>       model folder or Hugging Face Hub id (enables /encode, /similarity, text search)
  --index <file|dir>      index file ('index build') or index directory ('index add'; searched as of
                          its last commit) (enables /search)
  --host <addr>           interface to listen on (default 127.0.0.1: this machine only)
  --port <n>              TCP port, 0 for any free one (default 8080)
  --workers <n>           encode worker threads, each with its own model copy (default 1)
  --threads <n>           onnxruntime threads per worker (default: CPUs / workers)
  --no-spinning           onnxruntime's idle threads sleep instead of spinning: for cores shared
                          with other processes (see README, Query latency)
  --revision <rev>        Hub branch, tag or commit (default main)
${modelPrecisionHelp()}  --max-body-bytes <n>    largest request body (default 1048576)
  --max-texts <n>         most texts per request (default 256)
  --allowed-hosts <list>  comma-separated extra Host names to answer (on 127.0.0.1 only the loopback
                          names are answered otherwise, against DNS rebinding)
  --max-batch-tokens <n>  dynamic batching: concurrent requests share onnxruntime runs of at most n
                          padded tokens, grouped by length; 0 turns it off (default 512; TEI's
                          16384 is for GPUs)
  --max-client-batch-size <n>  most inputs per TEI request (default 32, as TEI)
  --no-auto-truncate      TEI routes: refuse over-long inputs unless a request says truncate: true
                          (default: truncate, as TEI's --auto-truncate)
  --quiet                 do not log each request
  --write-playground <dir>  write the playground page as <dir>/index.html and exit (to serve it
                          from the server's own origin, e.g. behind a proxy: it calls the API there)
  -h, --help              this help
`;

/** Every option of this command (its --help lists each one; test/cli checks). */
export const OPTIONS: Options = {
  model: { type: 'string' },
  index: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  workers: { type: 'string' },
  threads: { type: 'string' },
  revision: { type: 'string' },
  quantize: { type: 'string' },
  'fp32-vocab': { type: 'boolean' },
  'max-body-bytes': { type: 'string' },
  'max-texts': { type: 'string' },
  'allowed-hosts': { type: 'string' },
  quiet: { type: 'boolean' },
  'max-batch-tokens': { type: 'string' },
  'max-client-batch-size': { type: 'string' },
  'no-auto-truncate': { type: 'boolean' },
  'no-spinning': { type: 'boolean' },
  'write-playground': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** `sparse-encoder serve`: runs until SIGINT or SIGTERM. */
export async function run(argv: string[], io: CliIo): Promise<void> {
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values['help'] === true) {
    io.stdout.write(HELP);
    return;
  }
  const str = (name: string): string | undefined => {
    const v = values[name] as string | undefined;
    return v === '' ? undefined : v;
  };
  const pageDir = str('write-playground');
  if (pageDir !== undefined) {
    await writePlayground(pageDir);
    io.stderr.write(`wrote ${join(pageDir, 'index.html')}\n`);
    return;
  }
  const model = str('model');
  const index = str('index');
  if (model === undefined && index === undefined) throw new SparseEncoderError('ERR_USAGE', '--model or --index is required');
  const threads = str('threads');
  const precision = modelPrecisionOptions(values);
  const quiet = values['quiet'] === true;
  const onLog = (e: ServerLogEvent): void => {
    if (quiet && e.type === 'request') return;
    io.stderr.write(`${new Date().toISOString()} ${e.level} ${e.message}\n`);
  };

  // Listen for signals before the (slow) model load, so Ctrl-C during loading is not lost.
  let stop!: (signal: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSignal = (signal: NodeJS.Signals): void => stop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const server = await startServer({
      ...(model !== undefined ? { model } : {}),
      ...(index !== undefined ? { index } : {}),
      host: str('host') ?? '127.0.0.1',
      port: portOption(str('port')),
      workers: intOption(str('workers'), 'workers', 1),
      ...(threads !== undefined ? { threadsPerWorker: intOption(threads, 'threads', 1) } : {}),
      ...(str('revision') !== undefined ? { revision: str('revision')! } : {}),
      ...precision,
      maxBodyBytes: intOption(str('max-body-bytes'), 'max-body-bytes', 1024 * 1024),
      maxTextsPerRequest: intOption(str('max-texts'), 'max-texts', 256),
      maxBatchTokens: intOption(str('max-batch-tokens'), 'max-batch-tokens', 512, 0),
      maxClientBatchSize: intOption(str('max-client-batch-size'), 'max-client-batch-size', 32),
      autoTruncate: values['no-auto-truncate'] !== true,
      ...(values['no-spinning'] === true ? { spinning: false } : {}),
      ...(str('allowed-hosts') !== undefined ? { allowedHosts: str('allowed-hosts')!.split(',').map((h) => h.trim()).filter((h) => h !== '') } : {}),
      onLog,
    });
    const signal = await stopped;
    io.stderr.write(`${new Date().toISOString()} info ${signal}: finishing requests in flight, then stopping\n`);
    await server.close();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function portOption(v: string | undefined): number {
  const port = intOption(v, 'port', 8080, 0);
  if (port > 65535) throw new SparseEncoderError('ERR_USAGE', `--port must be an integer from 0 to 65535, got '${v}'`);
  return port;
}

/** The playground as a static file (the page the server answers at /playground). */
async function writePlayground(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'index.html'), playgroundHtml());
  } catch (cause) {
    throw new SparseEncoderError('ERR_OUTPUT_NOT_WRITABLE', `cannot write the playground into ${dir}: ${(cause as Error).message}`, { cause });
  }
}
