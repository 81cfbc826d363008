// Run by runtimes.test.ts under Deno and Bun (not by Node's test runner): loads fixture argv[2] with the
// wasm backend through the built package entry and prints its vectors for the first 8 texts in one
// mode (argv[3]) as JSON, with the runtime's name. Files are read through the runtime's node:fs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SparseEncoder } from '../../src/index.js';

const [folder, mode, compat] = process.argv.slice(2) as [string, 'query' | 'document', '5' | '6'];
const texts = (JSON.parse(readFileSync(join(folder, '..', 'texts.json'), 'utf8')) as { texts: Array<{ text: string }> }).texts.slice(0, 8).map((t) => t.text);
const model = await SparseEncoder.fromPretrained(folder, { backend: 'wasm', threads: 1, compat });
const vectors = mode === 'query' ? await model.encodeQuery(texts) : await model.encodeDocument(texts);
await model.dispose();
const g = globalThis as { Deno?: unknown; Bun?: unknown };
process.stdout.write(
  JSON.stringify({
    runtime: g.Deno !== undefined ? 'deno' : g.Bun !== undefined ? 'bun' : 'node',
    backend: model.modelInfo.backend,
    vectors: vectors.map((v) => ({ indices: Array.from(v.indices), values: Array.from(v.values) })),
  }),
);
