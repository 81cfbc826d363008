/**
 * Fuzz targets (issue 26): one per parser that reads outside input. Each takes arbitrary bytes and
 * must either succeed with finite outputs or throw a SparseEncoderError with a code; anything else
 * (a TypeError, a RangeError, a NaN or Infinity in an output) is a failure. `seeds()` are valid
 * inputs taken from the fixtures, where mutation starts. Run by test/fuzz/fuzz.ts (`npm run fuzz`)
 * and, on every input that ever failed (test/fuzz/corpus/<target>/), by corpus-replay.test.ts.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { SparseEncoderError } from '../../src/errors.js';
import { mountFiles } from '../../src/files/model-fs.js';
import { parseTransformerConfig } from '../../src/graph/config.js';
import { planModelFiles } from '../../src/hub/files.js';
import { readEncoderConfig } from '../../src/encoder/model-config.js';
import { SegmentedIndex } from '../../src/inverted-index/segmented-index.js';
import { SparseIndex } from '../../src/inverted-index/sparse-index.js';
import { loadSparseModel } from '../../src/modules/load-model.js';
import { readPoolingModes } from '../../src/modules/pooling-config.js';
import { readTransformerModuleConfig } from '../../src/modules/transformer-config.js';
import { parseEncodeRequest, parseSearchRequest, parseSimilarityRequest } from '../../src/server/requests.js';
import { parseDecode, parseEmbedSparse, parseTokenize } from '../../src/server/tei.js';
import { JsEngine } from '../../src/tokenizer/js-engine.js';
import { parsePytorchBin } from '../../src/weights/pytorch.js';
import { refuseNonFinite } from '../../src/weights/finite.js';
import { parseSafetensors } from '../../src/weights/safetensors.js';
import { lineVector, readTextRecords, readVectorLines } from '../../src/cli/lines.js';
import type { CliInput } from '../../src/cli/io.js';
import { fixture } from '../helpers/paths.js';

export interface FuzzTarget {
  /** Valid inputs to start from. */
  seeds(): Uint8Array[] | Promise<Uint8Array[]>;
  /** Parses `data`; throws on a failure (see the module comment). */
  run(data: Uint8Array): void | Promise<void>;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const file = (...p: string[]): Uint8Array => new Uint8Array(readFileSync(fixture(join(...p))));

/** Throws unless every number reachable in `v` (typed arrays included) is finite. */
export function assertFinite(v: unknown, where = 'output', depth = 0): void {
  if (depth > 8 || v === null || v === undefined) return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`non-finite number in ${where}: ${v}`);
    return;
  }
  if (v instanceof Float32Array || v instanceof Float64Array) {
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw new Error(`non-finite value at ${where}[${i}]: ${v[i]}`);
    return;
  }
  if (ArrayBuffer.isView(v)) return;
  if (Array.isArray(v)) {
    for (let i = 0; i < Math.min(v.length, 10_000); i++) assertFinite(v[i], `${where}[${i}]`, depth + 1);
    return;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) assertFinite(x, `${where}.${String(k)}`, depth + 1);
    return;
  }
  if (typeof v === 'object') for (const [k, x] of Object.entries(v)) assertFinite(x, `${where}.${k}`, depth + 1);
}

/** JSON of the input, or a coded error (what every JSON reader in the library does with bytes that are not JSON). */
function json(data: Uint8Array): unknown {
  try {
    return JSON.parse(text(data));
  } catch {
    throw new SparseEncoderError('ERR_INVALID_JSON', 'not JSON');
  }
}

function filesUnder(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n), root) : [join(dir, n).slice(root.length + 1)]));
}

/** A CliInput over bytes, as the CLI reads a file (in 4 KiB chunks). */
function bytesInput(data: Uint8Array): CliInput {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.byteLength; i += 4096) chunks.push(Buffer.from(data.subarray(i, i + 4096)));
  return { stream: Readable.from(chunks), name: '<fuzz>', size: data.byteLength, interactive: false };
}

const INFERENCE_FREE = (): Map<string, Uint8Array> => {
  const root = fixture('inference-free');
  return new Map(filesUnder(root).filter((f) => f !== 'expected.json' && !f.startsWith('document_')).map((f) => [f, new Uint8Array(readFileSync(join(root, f)))]));
};
/** The inference-free fixture's files a query-route load reads, fuzzed one at a time (the first byte picks which). */
const MODEL_JSON_FILES = ['modules.json', 'router_config.json', 'config_sentence_transformers.json', 'query_0_SparseStaticEmbedding/config.json', 'query_0_SparseStaticEmbedding/tokenizer_config.json', 'query_0_SparseStaticEmbedding/special_tokens_map.json'];

/** A small safetensors file in every dtype the parser reads (F32, F16, BF16, I64), with metadata. */
function tinySafetensors(): Uint8Array {
  const tensors: Array<[string, string, number[], Uint8Array]> = [
    ['a.weight', 'F32', [2, 3], new Uint8Array(Float32Array.of(1, -2, 3.5, 0, 1e-3, 7).buffer)],
    ['b.half', 'F16', [4], new Uint8Array(Uint16Array.of(0x3c00, 0xc000, 0x0001, 0x7bff).buffer)],
    ['c.bf16', 'BF16', [2], new Uint8Array(Uint16Array.of(0x3f80, 0xbf80).buffer)],
    ['d.ids', 'I64', [2], new Uint8Array(BigInt64Array.of(1n, -1n).buffer)],
  ];
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  for (const [name, dtype, shape, data] of tensors) {
    header[name] = { dtype, shape, data_offsets: [at, at + data.byteLength] };
    at += data.byteLength;
  }
  const json = bytes(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let p = 8 + json.byteLength;
  for (const [, , , data] of tensors) {
    out.set(data, p);
    p += data.byteLength;
  }
  return out;
}

const LIMITS = { maxTexts: 64, maxTextLength: 10_000, maxK: 1000 };
const TEI_LIMITS = { maxClientBatchSize: 64, maxTextLength: 10_000, autoTruncate: true };

export const TARGETS: Record<string, FuzzTarget> = {
  safetensors: {
    seeds: () => [tinySafetensors(), file('inference-free', 'query_0_SparseStaticEmbedding', 'model.safetensors'), file('splade-bert', 'model.safetensors')],
    // As a model load reads it: parsed, then non-finite weights refused (weights/load.ts).
    run: (data) => {
      const dict = parseSafetensors(data, { source: '<fuzz>' });
      refuseNonFinite(dict, '<fuzz>');
      assertFinite(dict);
    },
  },
  'pytorch-bin': {
    seeds: () => [file('splade-distilbert-bin', 'pytorch_model.bin')],
    run: (data) => {
      const dict = parsePytorchBin(data, { source: '<fuzz>' });
      refuseNonFinite(dict, '<fuzz>');
      assertFinite(dict);
    },
  },
  'transformer-config': {
    seeds: () => ['splade-bert', 'splade-roberta', 'splade-distilbert', 'splade-gte', 'splade-modernbert'].map((f) => file(f, 'config.json')),
    run: (data) => assertFinite(parseTransformerConfig(json(data))),
  },
  'model-json': {
    // One JSON file of a model folder replaced (the first byte picks which), then everything a
    // query-route load reads: the file plan, the encoder config, module configs, the route itself.
    seeds: () => MODEL_JSON_FILES.map((f, i) => Uint8Array.of(i, ...INFERENCE_FREE().get(f)!)),
    run: async (data) => {
      const files = INFERENCE_FREE();
      const which = MODEL_JSON_FILES[(data[0] ?? 0) % MODEL_JSON_FILES.length]!;
      files.set(which, data.subarray(1));
      const mount = mountFiles(files);
      try {
        await planModelFiles({ has: (f) => files.has(f), readJson: async (f) => { try { return JSON.parse(text(files.get(f)!)); } catch { return undefined; } } }, 'torch');
        assertFinite(await readEncoderConfig(mount.root));
        const model = await loadSparseModel(mount.root, { routes: ['query'], backend: 'wasm' });
        await model.dispose();
      } finally {
        mount.release();
      }
    },
  },
  'module-configs': {
    // sentence_bert_config.json (0), the pooling config (1) of a SPLADE folder.
    seeds: () => [Uint8Array.of(0, ...file('splade-bert', 'sentence_bert_config.json')), Uint8Array.of(1, ...file('splade-bert', '1_SpladePooling', 'config.json'))],
    run: async (data) => {
      const root = fixture('splade-bert');
      const files = new Map<string, Uint8Array>([['config.json', file('splade-bert', 'config.json')], ['tokenizer_config.json', file('splade-bert', 'tokenizer_config.json')]]);
      files.set(data[0] === 1 ? 'config.json' : 'sentence_bert_config.json', data.subarray(1));
      const mount = mountFiles(files);
      try {
        if (data[0] === 1) assertFinite(await readPoolingModes(mount.root));
        else assertFinite(await readTransformerModuleConfig(mount.root, 512));
      } finally {
        mount.release();
      }
      void root;
    },
  },
  'tokenizer-json': {
    // The pure-JavaScript tokenizer adapter (the web's): tokenizer.json parsed, then a text encoded.
    seeds: () => [file('splade-bert', 'tokenizer.json'), file('splade-roberta', 'tokenizer.json')],
    run: async (data) => {
      const engine = JsEngine.create(json(data), {}, '<fuzz>');
      assertFinite(await engine.encode(['a test, with ünïcode and 123'], true, 32));
    },
  },
  'index-file': {
    // Small index files of the inference-free fixture's genuine document vectors: plain, u8 with blocks.
    seeds: async () => {
      const docs = fixtureDocuments();
      const dir = mkdtempSync(join(tmpdir(), 'fuzz-seeds-'));
      try {
        const out: Uint8Array[] = [];
        for (const [n, options] of [{}, { quantize: 'u8' as const, blocks: { blockSize: 4 } }].entries()) {
          const index = await SparseIndex.build(docs, options);
          await index.save(join(dir, `${n}.idx`));
          index.dispose();
          out.push(new Uint8Array(readFileSync(join(dir, `${n}.idx`))));
        }
        return out;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    run: (data) => {
      const index = SparseIndex.fromBytes(data);
      try {
        const q = { indices: Uint32Array.of(1, 7, 100), values: Float32Array.of(1, 0.5, 2), dim: index.dim };
        if (index.dim > 100) {
          assertFinite(index.search(q, { k: 5 }));
          assertFinite(index.search(q, { k: 5, exact: false }));
        }
      } finally {
        index.dispose();
      }
    },
  },
  'index-directory': {
    // An index directory's manifest.json and its tombstone file (input: u32 LE manifest length, the
    // manifest, the tombstones), beside two genuine segments; opened read-only, then searched.
    seeds: async () => {
      const d = await directoryTemplate();
      const manifest = readFileSync(join(d.dir, 'manifest.json'));
      const tomb = readFileSync(join(d.dir, d.tombstone));
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, manifest.length, true);
      return [Uint8Array.from([...head, ...manifest, ...tomb])];
    },
    run: async (data) => {
      const d = await directoryTemplate();
      const n = data.length >= 4 ? new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) : 0;
      const at = Math.min(4 + n, data.length);
      writeFileSync(join(d.work, 'manifest.json'), data.subarray(Math.min(4, data.length), at));
      writeFileSync(join(d.work, d.tombstone), data.subarray(at));
      const index = await SegmentedIndex.open(d.work, { readOnly: true });
      try {
        const q = { indices: Uint32Array.of(1, 7, 100, 2000), values: Float32Array.of(1, 0.5, 2, 1), dim: index.dim };
        if (index.dim > 2000) {
          assertFinite(index.search(q, { k: 5 }));
          assertFinite(index.search(q, { k: 5, exact: false }));
        }
        assertFinite(index.info());
      } finally {
        await index.dispose();
      }
    },
  },
  'vector-lines': {
    seeds: () => [bytes('{"id":"d1","indices":[1,5,9],"values":[0.5,1.25,3],"dim":30522}\n{"id":"d2","indices":[],"values":[]}\n'), bytes('{"id":"q","vector":{"7":1.5,"9":0.25}}\n')],
    // Each line as the CLI uses it: the vector (lineVector) and the token weights; free-form extra fields are the user's.
    run: async (data) => {
      for await (const l of readVectorLines(bytesInput(data), { requireId: false })) {
        assertFinite(lineVector(l, l.dim ?? 30522));
        assertFinite(l.tokens, 'tokens');
      }
    },
  },
  'text-records': {
    seeds: () => [bytes('{"_id":"1","title":"A","text":"body"}\n{"id":2,"text":"x"}\nplain line\n'), bytes('{"query":"what?"}\n')],
    run: async (data) => {
      for await (const r of readTextRecords(bytesInput(data))) assertFinite(r);
    },
  },
  'http-bodies': {
    // The first byte picks the route whose body parser reads the rest (JSON, as the server parses it).
    seeds: () => [
      Uint8Array.of(0, ...bytes('{"texts":["a","b"],"task":"query","maxActiveDims":5,"tokens":true}')),
      Uint8Array.of(1, ...bytes('{"query":"x","k":3,"exact":false}')),
      Uint8Array.of(2, ...bytes('{"queries":["a"],"documents":["b","c"]}')),
      Uint8Array.of(3, ...bytes('{"inputs":["a",[101,2023,102]],"truncate":true,"truncation_direction":"left"}')),
      Uint8Array.of(4, ...bytes('{"inputs":"a b","add_special_tokens":false}')),
      Uint8Array.of(5, ...bytes('{"ids":[[101,102]],"skip_special_tokens":true}')),
    ],
    run: (data) => {
      const body = json(data.subarray(1));
      switch ((data[0] ?? 0) % 6) {
        case 0: return assertFinite(parseEncodeRequest(body, LIMITS));
        case 1: return assertFinite(parseSearchRequest(body, LIMITS, 30522));
        case 2: return assertFinite(parseSimilarityRequest(body, LIMITS));
        case 3: return assertFinite(parseEmbedSparse(body, TEI_LIMITS));
        case 4: return assertFinite(parseTokenize(body, TEI_LIMITS));
        default: return assertFinite(parseDecode(body, TEI_LIMITS));
      }
    },
  },
};

/** Whether `err` is an expected refusal: a SparseEncoderError with a code. */
export function isCodedRefusal(err: unknown): boolean {
  return err instanceof SparseEncoderError && typeof err.code === 'string' && err.code.startsWith('ERR_');
}

let template: Promise<{ dir: string; work: string; tombstone: string }> | undefined;

/**
 * Once per process: an index directory of the inference-free fixture's genuine document vectors in
 * two segments, with deletes (so a tombstone file), and a working copy whose manifest and tombstone
 * file each run overwrites (the segments stay genuine).
 */
function directoryTemplate(): Promise<{ dir: string; work: string; tombstone: string }> {
  template ??= (async () => {
    const docs = fixtureDocuments();
    const dir = mkdtempSync(join(tmpdir(), 'fuzz-dir-template-'));
    const index = await SegmentedIndex.open(dir, { flushDocuments: 6, mergeFactor: 0 });
    await index.add(docs.slice(0, 6));
    await index.commit();
    await index.add(docs.slice(6));
    index.delete(docs[1]!.id);
    index.delete(docs[7]!.id);
    await index.commit();
    await index.dispose();
    const names = readdirSync(dir);
    const tombstone = names.find((f) => f.includes('.del-'));
    if (tombstone === undefined) throw new Error('the template index has no tombstone file');
    const work = mkdtempSync(join(tmpdir(), 'fuzz-dir-work-'));
    for (const f of names) if (f.endsWith('.idx')) copyFileSync(join(dir, f), join(work, f));
    process.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });
    return { dir, work, tombstone };
  })();
  return template;
}

/** The inference-free fixture's first 12 genuine document vectors, as index documents. */
function fixtureDocuments(): Array<{ id: string; vector: { indices: Uint32Array; values: Float32Array; dim: number } }> {
  const expected = JSON.parse(readFileSync(fixture(join('inference-free', 'expected.json')), 'utf8')) as { model_info: { embedding_dimension: number }; results: { document: Array<{ text_id: number; indices: number[]; values: number[] }> } };
  const dim = expected.model_info.embedding_dimension;
  return expected.results.document.slice(0, 12).map((r) => ({ id: `t${r.text_id}`, vector: { indices: Uint32Array.from(r.indices), values: Float32Array.from(r.values), dim } }));
}
