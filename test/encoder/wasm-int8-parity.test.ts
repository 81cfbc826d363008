// int8 against the genuine fp32 vectors on the wasm backend (issue 23): onnxruntime-web runs the same
// integer ops (DynamicQuantizeMatMul, QAttention) in WebAssembly; the same bounds hold (int8-suite.ts).
import { int8Suite } from './int8-suite.js';

int8Suite('wasm');
