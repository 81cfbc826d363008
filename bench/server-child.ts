// The server of bench/server-bench.ts, in its own process: prints its URL, stops on SIGTERM.
import { startServer } from '../src/server/server.js';

const { model, index } = JSON.parse(process.argv[2]!) as { model: string; index: string };
const server = await startServer({ model, index, port: 0 });
process.stdout.write(`${server.url}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
