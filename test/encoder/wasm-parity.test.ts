// Fixture parity on the wasm backend (issue 23): onnxruntime-web's WebAssembly build and the
// pure-JavaScript tokenizer, in Node, against the same genuine sentence-transformers results as the
// native backend (parity-suite.ts). Browsers run the same WebAssembly build.
import { paritySuite } from './parity-suite.js';

paritySuite('wasm');
