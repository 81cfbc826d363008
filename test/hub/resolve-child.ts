// Runs one resolveModel call in a child process (as another user, for the read-only cache test)
// and prints its result or its error code as JSON.
import { resolveModel } from '../../src/hub/resolve.js';

const { repo, endpoint, cacheDir } = JSON.parse(process.argv[2]!) as { repo: string; endpoint: string; cacheDir: string };
try {
  const r = await resolveModel(repo, { endpoint, cacheDir, env: {} });
  process.stdout.write(JSON.stringify({ folder: r.folder, source: r.source }));
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stdout.write(JSON.stringify({ code: e.code ?? 'none', message: e.message }));
}
