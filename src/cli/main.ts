import { readFileSync } from 'node:fs';
import { SparseEncoderError, isSparseEncoderError } from '../errors.js';
import type { CliIo, CommandRunner } from './io.js';

/**
 * The CLI entry point: dispatches only. Each subcommand lives in `commands/<name>.ts`, exports
 * `run(argv, io)` and is imported only when called, so `search` never loads onnxruntime.
 * Commands return normally or throw; only this function prints errors and picks the exit code:
 *   0 success (also when the reader of stdout went away, `| head`), 1 runtime error,
 *   2 usage error, 130 interrupted (SIGINT).
 */
export const EXIT = { ok: 0, error: 1, usage: 2, interrupted: 130 } as const;

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: CommandRunner }> }> = {
  encode: { summary: 'encode texts into sparse vectors (JSONL)', load: () => import('./commands/encode.js') },
  index: { summary: 'build or inspect a sparse index (index build | index info)', load: () => import('./commands/index-cmd.js') },
  search: { summary: 'search an index with query vectors or texts (exact by default)', load: () => import('./commands/search.js') },
  eval: { summary: 'evaluate a model or a run file on a BEIR dataset', load: () => import('./commands/eval.js') },
  export: { summary: 'write vectors, queries or mappings for OpenSearch/Elasticsearch/Qdrant/Vespa/Milvus/pgvector', load: () => import('./commands/export.js') },
  serve: { summary: 'serve a model and/or an index over HTTP (JSON, TEI-compatible routes)', load: () => import('./commands/serve.js') },
};

export function usage(): string {
  const lines = ['usage: sparse-encoder <command> [options]', '       sparse-encoder --version', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', "run 'sparse-encoder <command> --help' for a command's options");
  lines.push('exit status: 0 success, 1 runtime error, 2 usage error, 130 interrupted');
  return lines.join('\n');
}

/** The package version, from the package.json next to dist/ (so it is right in an installed copy too). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[], io: CliIo = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage() + '\n');
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`sparse-encoder: unknown command '${name}'\n${usage()}\n`);
    return EXIT.usage;
  }
  // Ctrl-C: a command that handles SIGINT itself (serve: finish requests, then stop) keeps doing
  // so; any other stops at once. Either way the exit status is 130.
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    if (process.listenerCount('SIGINT') === 1) {
      io.stderr.write('\r\x1b[Ksparse-encoder: interrupted\n');
      process.exit(EXIT.interrupted);
    }
  };
  const ownProcess = io.stdout === process.stdout;
  if (ownProcess) process.on('SIGINT', onSigint);
  try {
    const mod = await command.load();
    await mod.run(rest, io);
    return interrupted ? EXIT.interrupted : EXIT.ok;
  } catch (err) {
    if (isSparseEncoderError(err, 'ERR_OUTPUT_CLOSED')) return EXIT.ok;
    io.stderr.write(`sparse-encoder ${name}: ${formatError(err)}\n`);
    return isSparseEncoderError(err, 'ERR_USAGE') ? EXIT.usage : EXIT.error;
  } finally {
    if (ownProcess) process.off('SIGINT', onSigint);
  }
}

function formatError(err: unknown): string {
  if (err instanceof SparseEncoderError) return `${err.message} [${err.code}]`;
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}
