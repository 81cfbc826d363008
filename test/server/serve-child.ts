// Child process for the CLI test: runs `sparse-encoder <argv>` through the CLI's main().
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
