/**
 * `npm run fuzz -- --target <name> --seconds <n>` (issue 26): coverage-guided fuzzing of one target
 * of targets.ts.
 *
 * Why not @jazzer.js/core: its only release with a Linux binary in the npm package (4.0.0) needs
 * glibc 2.38 and GLIBCXX_3.4.32 (Debian 12 has 2.36 and 3.4.30: the addon does not load), earlier
 * releases download their binary from GitHub at install, and its sources are not available here to
 * build. So the coverage signal is V8's own: block coverage from the inspector protocol
 * (`Profiler.startPreciseCoverage` with detailed block counts, in-process), reset after each input;
 * an input that reaches a block of src/ no earlier input reached joins the corpus. Mutations are
 * libFuzzer's classic ones (bit flips, byte sets, interesting integers, chunk insert / erase /
 * copy, crossover with another corpus input) plus a dictionary of JSON tokens.
 *
 * A child process fuzzes; the parent watches it. A failure is any exception that is not a
 * SparseEncoderError with a code, any non-finite number in an output (the targets check), an input
 * that takes over 1 s, or RSS growing more than 512 MB over the start for an input (inputs are at
 * most 1 MB). A child silent for 10 s is killed and its input kept as a hang. Every failing input is
 * written to test/fuzz/corpus/<target>/ (replayed by `npm test`); the run ends with a summary line
 * (JSON) of executions, corpus size, blocks covered and failures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCodedRefusal, TARGETS } from './targets.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** test/fuzz/corpus in the source tree (this file runs from dist/test/fuzz). */
export const CORPUS_ROOT = join(HERE, '..', '..', '..', 'test', 'fuzz', 'corpus');
const MAX_INPUT = 1 << 20;
const SLOW_MS = 1000;
const MEMORY_LIMIT = 512 * 2 ** 20;
const SILENCE_MS = 10_000;

interface Failure {
  kind: 'exception' | 'slow' | 'memory' | 'hang';
  message: string;
  file: string;
}

type ChildMessage = { type: 'stats'; execs: number; corpus: number; blocks: number } | { type: 'failure'; failure: Failure } | { type: 'current'; path: string };

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

/** Keeps a failing input (named by its hash) in the target's corpus folder. */
function keep(target: string, data: Uint8Array, kind: string): string {
  const dir = join(CORPUS_ROOT, target);
  mkdirSync(dir, { recursive: true });
  const name = `${kind}-${createHash('sha1').update(data).digest('hex').slice(0, 16)}`;
  writeFileSync(join(dir, name), data);
  return join(dir, name);
}

// ---------- the child: the fuzzing loop ----------

/** A small deterministic PRNG (xorshift32) so a run can be replayed from its seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const DICTIONARY = ['{', '}', '[', ']', '"', ':', ',', 'null', 'true', 'false', '-1', '0', '1e309', '-0', '4294967296', '9007199254740993', '1.5', '"__proto__"', '"constructor"', '\\u0000', '""', '[]', '{}'].map((s) => new TextEncoder().encode(s));
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

function mutate(input: Uint8Array, corpus: Uint8Array[], r: () => number): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const rounds = 1 + Math.floor(r() * 4);
  for (let k = 0; k < rounds; k++) {
    // Half the time within the first 4 KiB: the headers, tables and JSON that binary formats lead
    // with (a uniform position in a large weights file would almost always land in tensor data).
    const span = r() < 0.5 ? Math.min(b.length, 4096) : b.length;
    const at = span === 0 ? 0 : Math.floor(r() * span);
    switch (Math.floor(r() * 9)) {
      case 0: // flip a bit
        if (b.length > 0) b[at]! ^= 1 << Math.floor(r() * 8);
        break;
      case 1: // set a random byte
        if (b.length > 0) b[at] = Math.floor(r() * 256);
        break;
      case 2: {
        // write an interesting integer, little-endian, 1/2/4 bytes
        const v = INTERESTING[Math.floor(r() * INTERESTING.length)]!;
        const n = [1, 2, 4][Math.floor(r() * 3)]!;
        for (let i = 0; i < n && at + i < b.length; i++) b[at + i] = (v >>> (8 * i)) & 0xff;
        break;
      }
      case 3: {
        // erase a chunk
        const n = Math.min(b.length - at, 1 + Math.floor(r() * 32));
        b = concat(b.subarray(0, at), b.subarray(at + n));
        break;
      }
      case 4: {
        // insert random bytes
        const n = 1 + Math.floor(r() * 16);
        const ins = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 5: {
        // copy a chunk of itself elsewhere
        if (b.length < 2) break;
        const from = Math.floor(r() * b.length);
        const n = Math.min(b.length - from, 1 + Math.floor(r() * 64));
        b = concat(b.subarray(0, at), b.slice(from, from + n), b.subarray(at));
        break;
      }
      case 6: {
        // crossover: splice in a piece of another corpus input
        const other = corpus[Math.floor(r() * corpus.length)]!;
        if (other.length === 0) break;
        const from = Math.floor(r() * other.length);
        const n = Math.min(other.length - from, 1 + Math.floor(r() * 256));
        b = concat(b.subarray(0, at), other.subarray(from, from + n), b.subarray(Math.min(b.length, at + Math.floor(r() * n))));
        break;
      }
      case 7: // a dictionary token
        b = concat(b.subarray(0, at), DICTIONARY[Math.floor(r() * DICTIONARY.length)]!, b.subarray(at));
        break;
      default: {
        // change a decimal number in text into a boundary value
        const s = new TextDecoder('latin1').decode(b);
        const nums = [...s.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)];
        if (nums.length === 0) break;
        const m = nums[Math.floor(r() * nums.length)]!;
        const rep = ['0', '-1', '2147483648', '1e309', '-1e-320', '4294967295', '9007199254740993', '1.5'][Math.floor(r() * 8)]!;
        b = concat(b.subarray(0, m.index!), new TextEncoder().encode(rep), b.subarray(m.index! + m[0].length));
      }
    }
  }
  return b.length > MAX_INPUT ? b.subarray(0, MAX_INPUT) : b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}

async function child(targetName: string, seed: number, work: string): Promise<void> {
  const target = TARGETS[targetName]!;
  const send = (m: ChildMessage): void => void process.send!(m);
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object): T => {
    let out: T | undefined;
    let error: Error | null = null;
    session.post(method, params, (err, res) => {
      error = err;
      out = res as T;
    });
    if (error) throw error;
    return out!;
  };
  post('Profiler.enable');
  post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const seen = new Set<string>();
  /** Blocks of src/ this input reached that no input reached before (counters reset by each take). */
  const newBlocks = (): number => {
    const { result } = post<{ result: Array<{ url: string; scriptId: string; functions: Array<{ ranges: CoverageRange[] }> }> }>('Profiler.takePreciseCoverage');
    let fresh = 0;
    for (const script of result) {
      if (!script.url.includes('/dist/src/')) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const key = `${script.url}:${r.startOffset}:${r.endOffset}`;
          if (!seen.has(key)) {
            seen.add(key);
            fresh++;
          }
        }
      }
    }
    return fresh;
  };
  const r = rng(seed);
  const corpus: Uint8Array[] = [];
  const start = process.memoryUsage().rss;
  const current = join(work, 'current');
  const runOne = async (data: Uint8Array): Promise<void> => {
    writeFileSync(current, data);
    const t0 = performance.now();
    try {
      await target.run(data);
    } catch (err) {
      if (!isCodedRefusal(err)) {
        send({ type: 'failure', failure: { kind: 'exception', message: String((err as Error)?.stack ?? err).slice(0, 2000), file: keep(targetName, data, 'crash') } });
      }
    }
    const ms = performance.now() - t0;
    if (ms > SLOW_MS) send({ type: 'failure', failure: { kind: 'slow', message: `${ms.toFixed(0)} ms for ${data.length} bytes`, file: keep(targetName, data, 'slow') } });
    const rss = process.memoryUsage().rss;
    if (rss - start > MEMORY_LIMIT) {
      send({ type: 'failure', failure: { kind: 'memory', message: `RSS ${(rss / 2 ** 20).toFixed(0)} MiB after ${data.length} bytes`, file: keep(targetName, data, 'memory') } });
      (globalThis as { gc?: () => void }).gc?.();
    }
  };
  for (const s of [...(await target.seeds()), ...replayable(targetName)]) {
    await runOne(s);
    if (newBlocks() > 0 || corpus.length === 0) corpus.push(s);
  }
  let execs = 0;
  let last = Date.now();
  for (;;) {
    // Newer corpus entries (the ones that found something) are picked more often.
    const pick = corpus[Math.min(corpus.length - 1, Math.floor(corpus.length * Math.sqrt(r())))]!;
    const data = mutate(pick, corpus, r);
    await runOne(data);
    execs++;
    if (newBlocks() > 0) corpus.push(data);
    if (Date.now() - last >= 1000) {
      last = Date.now();
      send({ type: 'stats', execs, corpus: corpus.length, blocks: seen.size });
    }
  }
}

/** Inputs kept in the corpus folder for a target (failures found before). */
export function replayable(target: string): Uint8Array[] {
  const dir = join(CORPUS_ROOT, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

// ---------- the parent: a watchdog around the child ----------

async function parent(): Promise<void> {
  const targetName = arg('target', '');
  const seconds = Number(arg('seconds', '60'));
  if (!(targetName in TARGETS)) {
    process.stderr.write(`usage: npm run fuzz -- --target <${Object.keys(TARGETS).join('|')}> --seconds <n>\n`);
    process.exit(2);
  }
  const work = join(HERE, '..', '..', '..', '.fuzz-work', targetName);
  mkdirSync(work, { recursive: true });
  const failures: Failure[] = [];
  let totalExecs = 0;
  let stats = { execs: 0, corpus: 0, blocks: 0 };
  let restarts = 0;
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const c: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child', targetName, String(seed), work], { execArgv: ['--expose-gc', '--max-old-space-size=2048'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let heard = Date.now();
    c.on('message', (m: ChildMessage) => {
      heard = Date.now();
      if (m.type === 'stats') stats = m;
      else if (m.type === 'failure') {
        failures.push(m.failure);
        process.stderr.write(`FAILURE (${m.failure.kind}) kept in ${m.failure.file}: ${m.failure.message.split('\n')[0]}\n`);
      }
    });
    const exited = new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code)));
    let ended = false;
    void exited.then(() => (ended = true));
    while (!ended && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      if (Date.now() - heard > SILENCE_MS) {
        const data = existsSync(join(work, 'current')) ? new Uint8Array(readFileSync(join(work, 'current'))) : new Uint8Array();
        const failure: Failure = { kind: 'hang', message: `no progress for ${SILENCE_MS / 1000} s`, file: keep(targetName, data, 'hang') };
        failures.push(failure);
        process.stderr.write(`FAILURE (hang) kept in ${failure.file}\n`);
        c.kill('SIGKILL');
        break;
      }
    }
    if (!ended) c.kill('SIGKILL');
    const code = await exited;
    totalExecs += stats.execs;
    if (Date.now() < deadline && code !== null && code !== 0) {
      restarts++;
      const data = existsSync(join(work, 'current')) ? new Uint8Array(readFileSync(join(work, 'current'))) : new Uint8Array();
      failures.push({ kind: 'exception', message: `the fuzzing process exited with ${code}`, file: keep(targetName, data, 'exit') });
    }
    process.stderr.write(`${targetName}: ${totalExecs} executions, corpus ${stats.corpus}, ${stats.blocks} blocks covered, ${failures.length} failures${restarts ? `, ${restarts} restarts` : ''}\n`);
    stats = { execs: 0, corpus: stats.corpus, blocks: stats.blocks };
  }
  process.stdout.write(`${JSON.stringify({ target: targetName, seconds, executions: totalExecs, corpus: stats.corpus, blocksCovered: stats.blocks, failures })}\n`);
  process.exit(failures.length === 0 ? 0 : 1);
}

if (process.argv[2] === '--child') {
  void child(process.argv[3]!, Number(process.argv[4]), process.argv[5]!);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void parent();
}
