// The server of bench/server-bench.ts, bench/batching-bench.ts and bench/soak-bench.ts, in its own process: prints its URL, stops on SIGTERM.
import { startServer } from '../src/server/server.js';

const { model, index, maxBatchTokens, workers } = JSON.parse(process.argv[2]!) as { model: string; index?: string; maxBatchTokens?: number; workers?: number };
const server = await startServer({ model, ...(index !== undefined ? { index } : {}), ...(maxBatchTokens !== undefined ? { maxBatchTokens } : {}), ...(workers !== undefined ? { workers } : {}), port: 0, maxQueuedJobs: 4096 });
process.stdout.write(`${server.url}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
