/**
 * Load benchmark of the HTTP server on loopback (bounded in time; nothing leaves 127.0.0.1).
 *
 *   npm run bench:server [-- --docs 200000 --seconds 10 --mixed-seconds 60]
 *
 * The server runs in a child process (as `sparse-encoder serve` would) with the splade-bert
 * fixture model (the real bert-base-uncased vocabulary, a tiny transformer) and an index of
 * synthetic SPLADE-like documents (bench/synthetic-corpus.ts); load comes from this process with
 * keep-alive connections. Phases: /health alone; /search alone (4 clients, each request 32 real
 * SPLADE-v3 MS MARCO queries, exact top-10) with a /health probe every 20 ms; /encode alone (2
 * clients, 8 SciFact texts each); then all mixed for --mixed-seconds while the RSS of the server's
 * processes (main + encode worker) is sampled each second. Prints markdown on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseIndex } from '../src/inverted-index/sparse-index.js';
import { readScifactDocs, SHARED } from './lib-bench-data.js';
import { loadTokenVectors, loadVocab } from './lib-splade-data.js';
import { syntheticCorpus } from './synthetic-corpus.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface Sample {
  ms: number;
  status: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function call(base: string, path: string, body?: unknown): Promise<Sample> {
  const t0 = performance.now();
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: payload ? 'POST' : 'GET', agent, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.byteLength } : {} },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `clients` loops calling `next()` until `until`; every answer's latency is kept. */
async function load(clients: number, until: number, next: () => Promise<Sample>, pauseMs = 0): Promise<Sample[]> {
  const out: Sample[] = [];
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        out.push(await next());
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    }),
  );
  return out;
}

function pct(samples: Sample[], p: number): number {
  const s = samples.map((x) => x.ms).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function row(phase: string, endpoint: string, samples: Sample[], seconds: number): string {
  const bad = samples.filter((s) => s.status !== 200).length;
  return `| ${phase} | ${endpoint} | ${samples.length} | ${(samples.length / seconds).toFixed(1)} | ${pct(samples, 50).toFixed(1)} | ${pct(samples, 99).toFixed(1)} | ${bad} |`;
}

/** RSS in bytes of a process and its descendants (Linux /proc). */
function treeRss(pid: number): number {
  let total = 0;
  const visit = (p: number): void => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids !== '') for (const k of kids.split(/\s+/)) visit(Number(k));
      }
    } catch {
      // gone
    }
  };
  visit(pid);
  return total;
}

async function main(): Promise<void> {
  const docs = Number(arg('docs', '200000'));
  const seconds = Number(arg('seconds', '10'));
  const mixedSeconds = Number(arg('mixed-seconds', '60'));
  const work = mkdtempSync(join(tmpdir(), 'sparse-encoder-server-bench-'));
  let server: ChildProcess | undefined;
  try {
    process.stderr.write(`building a ${docs}-document synthetic index ...\n`);
    const indexPath = join(work, 'corpus.idx');
    const index = await SparseIndex.build(syntheticCorpus({ documents: docs }));
    await index.save(indexPath);
    index.dispose();
    const queries = loadTokenVectors('msmarco-dev/queries.splade-v3.x100.jsonl', 100, loadVocab()).map((q) => ({
      indices: Array.from(q.vector.indices),
      values: Array.from(q.vector.values),
    }));
    const texts = readScifactDocs(64);

    const script = fileURLToPath(new URL('./server-child.js', import.meta.url));
    server = spawn(process.execPath, [script, JSON.stringify({ model: join(SHARED, 'fixtures', 'splade-bert'), index: indexPath })], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    const base = line.toString().trim();
    process.stderr.write(`server at ${base} (pid ${server.pid})\n`);

    let q = 0;
    const search = () => call(base, '/search', { vectors: Array.from({ length: 32 }, () => queries[q++ % queries.length]), k: 10, exact: true });
    let t = 0;
    const encode = () => call(base, '/encode', { texts: Array.from({ length: 8 }, () => texts[t++ % texts.length]), task: 'document' });
    const health = () => call(base, '/health');

    const rows: string[] = [];
    const phase = async (name: string, secs: number, parts: Array<[string, number, () => Promise<Sample>, number?]>): Promise<void> => {
      process.stderr.write(`${name} (${secs} s) ...\n`);
      const until = performance.now() + secs * 1000;
      const results = await Promise.all(parts.map(([, clients, fn, pause]) => load(clients, until, fn, pause ?? 0)));
      parts.forEach(([endpoint, clients], i) => rows.push(row(name, `${endpoint} ×${clients}`, results[i]!, secs)));
    };
    await phase('alone', seconds, [['/health', 4, health]]);
    await phase('alone', seconds, [['/search', 4, search], ['/health probe', 1, health, 20]]);
    await phase('alone', seconds, [['/encode', 2, encode], ['/health probe', 1, health, 20]]);
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(treeRss(server!.pid!)), 1000);
    await phase('mixed', mixedSeconds, [
      ['/health probe', 1, health, 20],
      ['/search', 4, search],
      ['/encode', 2, encode],
    ]);
    clearInterval(sampler);

    const md = [
      '## HTTP server under load (loopback)',
      '',
      `Command: \`npm run bench:server -- --docs ${docs} --seconds ${seconds} --mixed-seconds ${mixedSeconds}\``,
      '',
      `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs; server in a child process with defaults (1 encode worker process, ` +
        `1 search worker thread), the splade-bert fixture model, ${docs.toLocaleString('en-US')} synthetic documents. ` +
        'Each /search carries 32 real SPLADE-v3 MS MARCO queries (exact top-10); each /encode 8 SciFact documents. ' +
        'Clients loop with keep-alive connections; a "/health probe" asks every 20 ms. The load generator shares the 2 cores.',
      '',
      '| phase | endpoint × clients | requests | requests/s | p50 ms | p99 ms | non-200 |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `RSS of the server's processes (main + encode worker) during the mixed run, sampled each second: ` +
        `min ${(Math.min(...rss) / 2 ** 20).toFixed(0)} MiB, max ${(Math.max(...rss) / 2 ** 20).toFixed(0)} MiB, last ${(rss.at(-1)! / 2 ** 20).toFixed(0)} MiB (${rss.length} samples).`,
    ];
    process.stdout.write(md.join('\n') + '\n');
  } finally {
    agent.destroy();
    if (server !== undefined && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
