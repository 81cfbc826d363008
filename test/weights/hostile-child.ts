// Loads one weights file in a child process and reports the error code and the peak RSS, so a
// test can bound the memory a hostile file makes us allocate.
import { readPytorchBin } from '../../src/weights/pytorch.js';

const path = process.argv[2]!;
let code = 'none';
let message = '';
try {
  await readPytorchBin(path);
} catch (err) {
  code = (err as { code?: string }).code ?? `uncoded ${(err as Error).name}`;
  message = (err as Error).message;
}
process.stdout.write(JSON.stringify({ code, message, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
