import { SparseEncoderError, isSparseEncoderError } from '../errors.js';

/**
 * The CLI entry point. Each subcommand lives in `commands/<name>.ts`, exports `run(argv, io)`
 * and is imported only when called, so `search` never loads onnxruntime.
 * Commands return normally or throw; only this function prints errors and picks the exit code.
 */
export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
}

export type CommandRunner = (argv: string[], io: CliIo) => Promise<void>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: CommandRunner }> }> = {
  encode: { summary: 'encode texts into sparse vectors (JSONL)', load: () => import('./commands/encode.js') },
  index: { summary: 'build or inspect a sparse index (index build | index info)', load: () => import('./commands/index-cmd.js') },
  search: { summary: 'search an index with query vectors or texts', load: () => import('./commands/search.js') },
  eval: { summary: 'evaluate a model or a run file on a BEIR dataset', load: () => import('./commands/eval.js') },
  export: { summary: 'write sparse vectors as OpenSearch/Elasticsearch/Qdrant/Vespa/Milvus bulk or query bodies', load: () => import('./commands/export.js') },
  serve: { summary: 'serve a model and/or an index over HTTP (JSON)', load: () => import('./commands/serve.js') },
};

export function usage(): string {
  const lines = ['usage: sparse-encoder <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', "run 'sparse-encoder <command> --help' for a command's options");
  return lines.join('\n');
}

export async function main(argv: string[], io: CliIo = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`sparse-encoder: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  try {
    const mod = await command.load();
    await mod.run(rest, io);
    return 0;
  } catch (err) {
    io.stderr.write(`sparse-encoder ${name}: ${formatError(err)}\n`);
    return isSparseEncoderError(err, 'ERR_USAGE') ? 2 : 1;
  }
}

function formatError(err: unknown): string {
  if (err instanceof SparseEncoderError) return `${err.message} [${err.code}]`;
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}
