/**
 * Dynamic batching on and off, side by side in one run (loopback only):
 *
 *   npm run bench:batching [-- --seconds 8]
 *
 * Two servers run at once in child processes (as `sparse-encoder serve` would), each with one encode
 * worker on the random-weight BERT-base-shaped SPLADE model (max_seq_length 256, the real
 * bert-base-uncased tokenizer): one with dynamic batching (maxBatchTokens 512, the default), one
 * without (maxBatchTokens 0). Clients send one text per POST /embed_sparse, back to back, on
 * keep-alive connections: SciFact queries of 8-32 tokens (1, 8 and 32 clients) and SciFact
 * documents of mixed lengths (32 clients, truncated at 256 tokens). Each row runs "on" and "off"
 * twice in the order on/off/off/on (half the time each), so drift hits both alike; only one
 * server has load at a time. The padded/real token ratio of the runs comes from each server's
 * /metrics. Prints markdown on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SparseEncoder } from '../src/encoder/sparse-encoder.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-folder.js';
import { SHARED, writeRandomBertBaseSplade } from './lib-bench-data.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

// One keep-alive agent per load phase, destroyed after it: a connection left idle while the other
// server is measured would outlive the server's 5 s keep-alive timeout and race its close.
const MAX_BATCH_TOKENS = 512;
let agent = new Agent({ keepAlive: true, maxSockets: 128 });

function post(base: string, path: string, body: unknown): Promise<{ ms: number; status: number }> {
  const payload = Buffer.from(JSON.stringify(body));
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.byteLength } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function get(base: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(`${base}${path}`, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    })
      .on('error', reject)
      .end();
  });
}

async function load(base: string, clients: number, seconds: number, texts: string[], offset: number): Promise<number[]> {
  agent.destroy();
  agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const until = performance.now() + seconds * 1000;
  const ms: number[] = [];
  let next = offset;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const r = await post(base, '/embed_sparse', { inputs: texts[next++ % texts.length] });
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        ms.push(r.ms);
      }
    }),
  );
  return ms;
}

function pct(ms: number[], p: number): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function metricSum(text: string, name: string): number {
  return Number(new RegExp(`^${name} ([\\d.e+]+)`, 'm').exec(text)?.[1] ?? 0);
}

async function startChild(model: string, maxBatchTokens: number): Promise<{ child: ChildProcess; base: string }> {
  const script = fileURLToPath(new URL('./server-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify({ model, maxBatchTokens })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, base: line.toString().trim() };
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '8'));
  const work = mkdtempSync(join(tmpdir(), 'sparse-encoder-batching-'));
  const children: ChildProcess[] = [];
  try {
    process.stderr.write('writing the random BERT-base model ...\n');
    const model = writeRandomBertBaseSplade(work, [256]).get(256)!;
    const tokenizer = await loadTokenizer(model, { maxLength: 256 });
    const queriesAll = readFileSync(join(SHARED, 'data', 'scifact', 'queries.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => String((JSON.parse(l) as { text: string }).text));
    const qLen = await tokenizer.lengths(queriesAll);
    const queries = queriesAll.filter((_, i) => qLen[i]!.tokens >= 8 && qLen[i]!.tokens <= 32);
    const docs = readFileSync(join(SHARED, 'data', 'scifact', 'corpus.jsonl'), 'utf8').split('\n').filter((l) => l !== '').slice(0, 2000).map((l) => {
      const d = JSON.parse(l) as { title: string; text: string };
      return `${d.title} ${d.text}`;
    });
    const dLen = await tokenizer.lengths(docs);
    const qTok = queries.map((q) => qLen[queriesAll.indexOf(q)]!.tokens);
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    process.stderr.write(`queries: ${queries.length} of 8-32 tokens (mean ${mean(qTok).toFixed(1)}); documents: mean ${mean(dLen.map((l) => l.tokens)).toFixed(0)} tokens after truncation\n`);

    // Run size alone, in this process (no server yet): ms per text at fixed batch sizes, for the
    // default token budget.
    const runRows: string[] = [];
    {
      const encoder = await SparseEncoder.fromPretrained(model);
      await encoder.encode(docs.slice(0, 4));
      for (const [kind, texts] of [['documents', docs.slice(0, 48)], ['queries', queries.slice(0, 96)]] as const) {
        const cells: string[] = [];
        for (const bs of [1, 2, 4, 8, 16]) {
          // The first pass meets new input shapes (onnxruntime allocates for them); time the second.
          await encoder.encode(texts as string[], { batchSize: bs });
          const t0 = performance.now();
          await encoder.encode(texts as string[], { batchSize: bs });
          cells.push(((performance.now() - t0) / texts.length).toFixed(1));
        }
        runRows.push(`| ${kind} | ${cells.join(' | ')} |`);
      }
      await encoder.dispose();
    }

    const on = await startChild(model, MAX_BATCH_TOKENS);
    children.push(on.child);
    const off = await startChild(model, 0);
    children.push(off.child);
    // Warm both (first runs allocate).
    for (const s of [on, off]) await load(s.base, 4, 2, queries, 0);

    const rows: string[] = [];
    const cases: Array<[string, number, string[]]> = [
      ['queries', 1, queries],
      ['queries', 8, queries],
      ['queries', 32, queries],
      ['documents', 32, docs],
    ];
    const results: Array<{ label: string; clients: number; on: Stats; off: Stats }> = [];
    interface Stats {
      ms: number[];
      seconds: number;
      padded: number;
      real: number;
      runs: number;
      texts: number;
    }
    for (const [kind, clients, texts] of cases) {
      process.stderr.write(`${kind} × ${clients} ...\n`);
      const acc: Record<'on' | 'off', Stats> = {
        on: { ms: [], seconds: 0, padded: 0, real: 0, runs: 0, texts: 0 },
        off: { ms: [], seconds: 0, padded: 0, real: 0, runs: 0, texts: 0 },
      };
      for (const mode of ['on', 'off', 'off', 'on'] as const) {
        const s = mode === 'on' ? on : off;
        const before = await get(s.base, '/metrics');
        const ms = await load(s.base, clients, seconds / 2, texts, acc[mode].ms.length);
        const after = await get(s.base, '/metrics');
        const d = (name: string): number => metricSum(after, name) - metricSum(before, name);
        acc[mode].ms.push(...ms);
        acc[mode].seconds += seconds / 2;
        acc[mode].padded += d('sparse_encoder_batch_padded_tokens_sum');
        acc[mode].real += d('sparse_encoder_batch_tokens_sum');
        acc[mode].runs += d('sparse_encoder_batch_size_count');
        acc[mode].texts += d('sparse_encoder_batch_size_sum');
      }
      results.push({ label: kind, clients, on: acc.on, off: acc.off });
      for (const mode of ['on', 'off'] as const) {
        const a = acc[mode];
        rows.push(
          `| ${kind} | ${clients} | ${mode} | ${(a.ms.length / a.seconds).toFixed(1)} | ${pct(a.ms, 50).toFixed(1)} | ${pct(a.ms, 99).toFixed(1)} | ${(a.texts / a.runs).toFixed(1)} | ${(a.padded / a.real).toFixed(2)} |`,
        );
      }
    }
    const ratios = results.map((r) => {
      const rps = (s: Stats): number => s.ms.length / s.seconds;
      return `| ${r.label} | ${r.clients} | ${(rps(r.on) / rps(r.off)).toFixed(2)}× | ${(pct(r.off.ms, 50) / pct(r.on.ms, 50)).toFixed(2)}× | ${(pct(r.off.ms, 99) / pct(r.on.ms, 99)).toFixed(2)}× |`;
    });
    const md = [
      '## Dynamic batching (POST /embed_sparse, on vs off, one run)',
      '',
      `Command: \`npm run bench:batching -- --seconds ${seconds}\``,
      '',
      `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs, shared by the servers and the load generator. ` +
        'Random-weight BERT-base-shaped SPLADE model (12 layers, 768 hidden, 30522 vocabulary, max_seq_length 256), one encode worker per server ' +
        `with onnxruntime's default threads. Queries: ${queries.length} SciFact queries of 8-32 tokens (mean ${mean(qTok).toFixed(1)}); documents: the first 2,000 SciFact documents ` +
        `(mean ${mean(dLen.map((l) => l.tokens)).toFixed(0)} tokens after truncation at 256). One text per request; each row ${seconds} s per mode, on/off/off/on in halves.`,
      '',
      'Run size alone (one process, no server; ms per text, texts sorted by length as sentence-transformers does; the second of two passes):',
      '',
      '| texts | 1 per run | 2 | 4 | 8 | 16 |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...runRows,
      '',
      '| texts | clients | batching | requests/s | p50 ms | p99 ms | texts per run | padded / real tokens |',
      '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      '| texts | clients | requests/s on/off | p50 off/on | p99 off/on |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...ratios,
    ];
    process.stdout.write(md.join('\n') + '\n');
  } finally {
    agent.destroy();
    for (const c of children) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await once(c, 'exit');
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
