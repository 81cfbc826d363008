// Fixture parity on the native backend (onnxruntime-node, the Rust tokenizer): see parity-suite.ts.
import { paritySuite } from './parity-suite.js';

paritySuite('native');
