// Child of the long-line test: runs `sparse-encoder export --format pgvector --dim 10` in-process with a
// stdin of argv[2] MiB of 'a' and no newline, and prints the exit code, stderr, how much stdin was
// consumed and the process's peak RSS.
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

const mib = Number(process.argv[2]);
const chunk = Buffer.alloc(1 << 20, 'a');
let sent = 0;
const stdin = Readable.from(
  (function* () {
    for (; sent < mib; sent++) yield chunk;
  })(),
);
const err = new PassThrough();
let stderr = '';
err.on('data', (c: Buffer) => (stderr += c.toString()));
const code = await main(['export', '--format', 'pgvector', '--dim', '10'], { stdin, stdout: new PassThrough(), stderr: err } as never);
process.stdout.write(JSON.stringify({ code, stderr, sentMiB: sent, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
