import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, repoRoot } from '../helpers/paths.js';

// The published package as a user gets it: `npm pack`, then `npm install <tarball>` into an empty
// folder. The registry is the only network this runs with; onnxruntime-node's postinstall would
// fetch CUDA libraries from nuget.org on linux/x64, which ONNXRUNTIME_NODE_INSTALL=skip (read by
// its script/install-utils.js parseInstallFlag) turns off — what the README tells users to set.
const ROOT = repoRoot();
const TMP = mkdtempSync(join(tmpdir(), 'pack-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

/** The parent `npm test` exports npm_config_* (ignore-scripts among them): a user's shell has none. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

const registryReachable = spawnSync('npm', ['view', `onnxruntime-node@${pkg.dependencies['onnxruntime-node']}`, 'version', '--prefer-offline'], { encoding: 'utf8', env: userEnv(), timeout: 60_000 }).status === 0;

test('npm pack + npm install of the tarball into an empty folder: the CLI runs, and the types compile without @types/node', { skip: registryReachable ? false : 'the npm registry is not reachable', timeout: 300_000 }, () => {
  const pack = spawnSync('npm', ['pack', '--pack-destination', TMP, '--json'], { cwd: ROOT, encoding: 'utf8', env: userEnv({ npm_config_ignore_scripts: 'true' }) });
  assert.equal(pack.status, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info!.files.map((f) => f.path);
  assert.ok(files.includes('bin/sparse-encoder.js') && files.includes('dist/src/index.d.ts'), 'the tarball has the bin and the types');
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f === '.npmrc'), 'no tests or project config in the tarball');

  const app = join(TMP, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(TMP, info!.filename)], {
    cwd: app,
    encoding: 'utf8',
    env: userEnv({ ONNXRUNTIME_NODE_INSTALL: 'skip' }),
    timeout: 240_000,
  });
  assert.equal(install.status, 0, install.stdout + install.stderr);
  assert.doesNotMatch(install.stderr, /Unknown (project|cli|env) config/, 'npm warns about no setting of ours');
  assert.ok(!readdirSync(join(app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64')).some((f) => f.includes('cuda')), 'no CUDA libraries fetched');

  const bin = join(app, 'node_modules', '.bin', 'sparse-encoder');
  const version = spawnSync(bin, ['--version'], { cwd: app, encoding: 'utf8', env: userEnv() });
  assert.equal(version.stdout, `${pkg.version}\n`, version.stderr);
  const encode = spawnSync(bin, ['encode', '--model', fixture('splade-bert'), '--query'], { cwd: app, encoding: 'utf8', input: 'apple banana\n', env: userEnv() });
  assert.equal(encode.status, 0, encode.stderr);
  const here = spawnSync(process.execPath, [join(ROOT, 'bin', 'sparse-encoder.js'), 'encode', '--model', fixture('splade-bert'), '--query'], { encoding: 'utf8', input: 'apple banana\n' });
  assert.equal(encode.stdout, here.stdout, 'the installed copy encodes exactly as the checkout');
  assert.ok((JSON.parse(encode.stdout) as { indices: number[] }).indices.length > 0);

  // The README's offline command: BM25 on the Cranfield sample the package ships.
  const sample = spawnSync(bin, ['eval', '--data', 'sample'], { cwd: app, encoding: 'utf8', env: userEnv({ HF_HUB_OFFLINE: '1' }) });
  assert.equal(sample.status, 0, sample.stderr);
  assert.match(sample.stdout, /bm25 on cranfield \(test\): 225 queries, 1400 documents/);
  assert.match(sample.stdout, /ndcg@10 +0\.\d{4}  \(primary\)/);

  // A consumer with neither @types/node nor the DOM library, checking our .d.ts files too.
  writeFileSync(
    join(app, 'consumer.ts'),
    [
      "import { SparseEncoder, SparseIndex, pgvectorLiteral, resolveModel, type SparseVector } from 'sparse-encoder';",
      'export async function use(signal: Parameters<typeof resolveModel>[1] extends infer O ? O : never): Promise<SparseVector> {',
      "  const model = await SparseEncoder.fromPretrained('naver/splade-v3');",
      "  const v = await model.encodeQuery('hello');",
      "  const index = await SparseIndex.build([{ id: 'a', vector: v }]);",
      '  index.search(v, { k: 1 });',
      '  pgvectorLiteral(v, v.dim);',
      '  void signal;',
      '  return v;',
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2023'], types: [], noEmit: true, skipLibCheck: false }, files: ['consumer.ts'] }),
  );
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});
