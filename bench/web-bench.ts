/**
 * bench:web (issue 23): our web build against transformers.js 4.x in the same headless Chromium
 * (Debian's `chromium`, driven by playwright-core), on the same BERT-base-shaped SPLADE (random
 * weights, the real bert-base-uncased tokenizer) and the same SciFact documents.
 *
 * - Speed: one page holds both; batches alternate (ours, theirs; theirs, ours; ...), each timed in
 *   the page. Their vectors are checked against ours (cosine), so both compute the same model.
 * - Memory: a fresh browser per system, the page loading only that system's script; the peak RSS of
 *   the browser's renderer processes (read from /proc every 50 ms) while it loads and encodes every
 *   batch, against an empty page's.
 * - Our web build against our Node build (onnxruntime-node, same thread count) on the same batches.
 * - The size of our own JavaScript in a browser bundle (lib-web-bundle.ts).
 *
 * transformers.js needs an ONNX export of the MLM: bench/web/export_mlm_onnx.py (genuine transformers
 * and torch.onnx, as Optimum exports the models transformers.js runs), run with `--python` (default
 * `python3`, which must have torch and transformers: see BENCHMARKS.md).
 *
 * Usage: npm run bench:web -- [--docs 32] [--batch 8] [--max-seq 128] [--python python3] [--no-memory]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SparseEncoder } from '../src/encoder/sparse-encoder.js';
import { readScifactDocs } from './lib-bench-data.js';
import { writeRandomBertBaseSplade } from './lib-bench-data.js';
import { webBundleSize } from './lib-web-bundle.js';

const CHROMIUM = '/usr/bin/chromium';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function repoRoot(): string {
  let dir = new URL('.', import.meta.url).pathname;
  while (!existsSync(join(dir, 'package.json'))) dir = join(dir, '..');
  return dir;
}

function filesUnder(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n), root) : [relative(root, join(dir, n))]));
}

type Pairs = Array<[number, number]>;

function cosinePairs(a: Pairs, b: Pairs): number {
  const m = new Map(b);
  let dot = 0;
  for (const [i, v] of a) dot += v * (m.get(i) ?? 0);
  const na = Math.sqrt(a.reduce((s, [, v]) => s + v * v, 0));
  const nb = Math.sqrt(b.reduce((s, [, v]) => s + v * v, 0));
  return na === 0 || nb === 0 ? (na === nb ? 1 : 0) : dot / (na * nb);
}

/** Pids of `root` and every process below it. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Summed RSS (bytes) of the renderer processes of the Chromium started with `profile`. */
function rendererRss(profile: string): number {
  let browser: number | undefined;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes(`--user-data-dir=${profile}`) && !cmd.includes('--type=')) browser = Number(name);
    } catch {
      // gone
    }
  }
  if (browser === undefined) return 0;
  let rss = 0;
  for (const pid of processTree(browser)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m !== null) rss += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return rss;
}

interface Served {
  origin: string;
  close(): Promise<void>;
}

async function serve(routes: (path: string) => { body: Uint8Array | string; type: string } | undefined): Promise<Served> {
  const server = createServer((req, res) => {
    const file = routes(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (file === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(0);

async function main(): Promise<void> {
  const nDocs = Number(arg('docs', '32'));
  const batch = Number(arg('batch', '8'));
  const maxSeq = Number(arg('max-seq', '128'));
  const python = arg('python', process.env['BENCH_PYTHON'] ?? 'python3');
  const memory = !process.argv.includes('--no-memory');
  if (!existsSync(CHROMIUM)) throw new Error(`bench:web needs ${CHROMIUM} (apt-get install chromium)`);
  const root = repoRoot();
  const work = mkdtempSync(join(tmpdir(), 'sparse-encoder-web-bench-'));
  try {
    process.stderr.write(`writing a random BERT-base SPLADE (max_seq_length ${maxSeq}) and its transformers.js export to ${work} ...\n`);
    const ours = writeRandomBertBaseSplade(work, [maxSeq]).get(maxSeq)!;
    const tjs = join(work, 'tjs');
    const exported = spawnSync(python, [join(root, 'bench', 'web', 'export_mlm_onnx.py'), ours, tjs], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (exported.status !== 0) throw new Error(`the ONNX export for transformers.js failed (${python} needs torch and transformers; see BENCHMARKS.md)`);

    const docs = readScifactDocs(nDocs);
    const batches: string[][] = [];
    for (let i = 0; i < docs.length; i += batch) batches.push(docs.slice(i, i + batch));

    const { build } = await import('esbuild');
    const bundled = new Map<string, Uint8Array>();
    for (const name of ['ours', 'tjs']) {
      const out = await build({ entryPoints: [join(root, 'bench', 'web', `${name}-entry.mjs`)], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, write: false, logLevel: 'silent' });
      bundled.set(`/systems/${name}.js`, out.outputFiles[0]!.contents);
    }
    const ortDist = join(root, 'node_modules', 'onnxruntime-web', 'dist');
    const tjsOrtDist = join(root, 'node_modules', '@huggingface', 'transformers', 'node_modules', 'onnxruntime-web', 'dist');
    const modelFiles = new Map<string, string>();
    for (const f of filesUnder(ours)) modelFiles.set(`/models/ours/${f}`, join(ours, f));
    for (const f of filesUnder(tjs)) modelFiles.set(`/models/tjs/${f}`, join(tjs, f));
    const page = await serve((path) => {
      if (path === '/') {
        const html = `<!doctype html><meta charset="utf-8"><title>bench:web</title><script type="module">
const names = new URLSearchParams(location.search).get('systems')?.split(',').filter(Boolean) ?? [];
Promise.all(names.map((n) => import('/systems/' + n + '.js'))).then(() => { window.benchReady = true; }, (e) => { window.benchError = String(e?.stack ?? e); });
</script>`;
        return { body: html, type: 'text/html' };
      }
      const js = bundled.get(path);
      if (js !== undefined) return { body: js, type: 'text/javascript' };
      const model = modelFiles.get(path);
      if (model !== undefined) return { body: readFileSync(model), type: path.endsWith('.json') ? 'application/json' : 'application/octet-stream' };
      for (const [prefix, dir] of [['/ort/', ortDist], ['/tjs-ort/', tjsOrtDist]] as const) {
        if (path.startsWith(prefix) && /^[\w.-]+$/.test(path.slice(prefix.length)) && existsSync(join(dir, path.slice(prefix.length)))) {
          return { body: readFileSync(join(dir, path.slice(prefix.length))), type: path.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' };
        }
      }
      return undefined;
    });

    const { chromium } = await import('playwright-core');
    const launch = async (systems: string[]) => {
      const profile = mkdtempSync(join(tmpdir(), 'bench-web-profile-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const tab = await context.newPage();
      tab.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
      await tab.goto(`${page.origin}/?systems=${systems.join(',')}`);
      await tab.waitForFunction('window.benchReady === true || window.benchError !== undefined', undefined, { timeout: 120_000 });
      const err = await tab.evaluate('window.benchError');
      if (err !== undefined) throw new Error(String(err));
      return {
        profile,
        tab,
        close: async () => {
          await context.close();
          rmSync(profile, { recursive: true, force: true });
        },
      };
    };
    const timed = (tab: Awaited<ReturnType<typeof launch>>['tab'], system: string, variant: string, texts: string[]) =>
      tab.evaluate(
        async ([s, v, t]) => {
          const t0 = performance.now();
          const vectors = await (globalThis as any).benchSystems[s].encode(v, t);
          return { ms: performance.now() - t0, vectors };
        },
        [system, variant, texts] as const,
      ) as Promise<{ ms: number; vectors: Pairs[] }>;
    const load = (tab: Awaited<ReturnType<typeof launch>>['tab'], system: string, variant: string) =>
      tab.evaluate(([s, v]) => (globalThis as any).benchSystems[s].load(v), [system, variant] as const);

    // Each pair: ours and transformers.js at a comparable precision (their q8 is their WebAssembly default).
    const PAIRS = [
      { label: 'fp32', ours: 'fp32', tjs: 'fp32' },
      { label: 'int8', ours: 'int8', tjs: 'q8' },
    ];
    interface PairResult {
      label: string;
      oursMs: number;
      tjsMs: number;
      minCos: number;
      meanCos: number;
      peak: Record<'ours' | 'tjs', number>;
      nodeMs: number;
    }
    const results: PairResult[] = [];
    let idle = 0;
    if (memory) {
      process.stderr.write('memory: an empty page ...\n');
      const b = await launch([]);
      idle = rendererRss(b.profile);
      await new Promise((r) => setTimeout(r, 1000));
      idle = Math.max(idle, rendererRss(b.profile));
      await b.close();
    }
    for (const pair of PAIRS) {
      // --- speed: both in one page, batches alternating
      process.stderr.write(`${pair.label}: both systems in one page, batches alternating ...\n`);
      const both = await launch(['ours', 'tjs']);
      const ms: Record<string, number> = { ours: 0, tjs: 0 };
      let minCos = 1;
      let sumCos = 0;
      try {
        await load(both.tab, 'ours', pair.ours);
        await load(both.tab, 'tjs', pair.tjs);
        await timed(both.tab, 'ours', pair.ours, batches[0]!); // warm-up
        await timed(both.tab, 'tjs', pair.tjs, batches[0]!);
        for (const [i, texts] of batches.entries()) {
          const order = i % 2 === 0 ? (['ours', 'tjs'] as const) : (['tjs', 'ours'] as const);
          const got: Record<string, Pairs[]> = {};
          for (const s of order) {
            const r = await timed(both.tab, s, pair[s], texts);
            ms[s]! += r.ms;
            got[s] = r.vectors;
          }
          got['ours']!.forEach((v, k) => {
            const c = cosinePairs(v, got['tjs']![k]!);
            minCos = Math.min(minCos, c);
            sumCos += c;
          });
          process.stderr.write(`  batch ${i + 1}/${batches.length}: ours ${ms['ours']!.toFixed(0)} ms, transformers.js ${ms['tjs']!.toFixed(0)} ms so far\n`);
        }
      } finally {
        await both.close();
      }
      // --- memory: one system per fresh browser
      const peak = { ours: 0, tjs: 0 };
      if (memory) {
        for (const s of ['ours', 'tjs'] as const) {
          process.stderr.write(`${pair.label}: memory of ${s} alone ...\n`);
          const b = await launch([s]);
          let max = rendererRss(b.profile);
          const timer = setInterval(() => (max = Math.max(max, rendererRss(b.profile))), 50);
          try {
            await load(b.tab, s, pair[s]);
            for (const texts of batches) await timed(b.tab, s, pair[s], texts);
          } finally {
            clearInterval(timer);
            max = Math.max(max, rendererRss(b.profile));
            await b.close();
          }
          peak[s] = max;
        }
      }
      // --- our Node build on the same batches, one thread as the pages
      process.stderr.write(`${pair.label}: our Node build (onnxruntime-node, 1 thread) ...\n`);
      const node = await SparseEncoder.fromPretrained(ours, { threads: 1, quantize: pair.ours === 'int8' ? 'int8' : 'none' });
      let nodeMs = 0;
      try {
        await node.encodeDocument(batches[0]!, { batchSize: batch });
        for (const texts of batches) {
          const t0 = performance.now();
          await node.encodeDocument(texts, { batchSize: texts.length });
          nodeMs += performance.now() - t0;
        }
      } finally {
        await node.dispose();
      }
      results.push({ label: pair.label, oursMs: ms['ours']!, tjsMs: ms['tjs']!, minCos, meanCos: sumCos / nDocs, peak, nodeMs });
    }
    await page.close();
    const docsPerS = (t: number): number => (nDocs / t) * 1000;
    const bundle = await webBundleSize();

    const version = (pkg: string): string => JSON.parse(readFileSync(join(root, 'node_modules', ...pkg.split('/'), 'package.json'), 'utf8')).version;
    const lines = [
      `## bench:web: our web build against transformers.js ${version('@huggingface/transformers')} in headless Chromium`,
      '',
      `BERT-base-shaped SPLADE (random weights, bert-base-uncased tokenizer), max_seq_length ${maxSeq}, ${nDocs} SciFact documents in batches of ${batch}, one WebAssembly thread each (no COOP/COEP), ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'this CPU'}. Ours: onnxruntime-web ${version('onnxruntime-web')}; transformers.js: its onnxruntime-web ${version('@huggingface/transformers/node_modules/onnxruntime-web')}. Peak memory: the renderer processes' RSS, ${mib(idle)} MiB for an empty page subtracted.`,
      '',
      '| precision | ours docs/s | transformers.js docs/s | speed ratio | ours peak MiB | transformers.js peak MiB | memory ratio | ours in Node docs/s | web / Node | cosine ours vs theirs (min / mean) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      ...results.map((r) =>
        [
          `| ${r.label === 'int8' ? 'int8 (theirs: q8, their WebAssembly default)' : 'fp32'}`,
          docsPerS(r.oursMs).toFixed(2),
          docsPerS(r.tjsMs).toFixed(2),
          `**${(r.tjsMs / r.oursMs).toFixed(2)}×**`,
          memory ? mib(r.peak.ours - idle) : '-',
          memory ? mib(r.peak.tjs - idle) : '-',
          memory ? `**${((r.peak.ours - idle) / (r.peak.tjs - idle)).toFixed(2)}×**` : '-',
          docsPerS(r.nodeMs).toFixed(2),
          `${(r.nodeMs / r.oursMs).toFixed(2)}×`,
          `${r.minCos.toFixed(4)} / ${r.meanCos.toFixed(4)} |`,
        ].join(' | '),
      ),
      '',
      'Targets (issue 23): speed ratio ≥ 1.5×, memory ratio ≤ 0.5×.',
      `Our own JavaScript (sparse-encoder/web, esbuild, minified, without onnxruntime-web and the tokenizer): ${(bundle.minified / 1024).toFixed(1)} KiB, ${(bundle.gzipped / 1024).toFixed(1)} KiB gzipped.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
