import { posix } from 'node:path';
import type { ModelBackend } from './types.js';

/**
 * Which repo files a SparseEncoder needs. Configs, tokenizer files and safetensors weights at any
 * depth (modules live in sub-folders); `pytorch_model.bin` only where a folder has no safetensors;
 * ONNX only for the onnx backend. Other formats (TF, Flax, OpenVINO, quantized ONNX), docs and
 * images are skipped.
 */

const SAFETENSORS = /^model(-\d+-of-\d+)?\.safetensors$/;
const SAFETENSORS_INDEX = 'model.safetensors.index.json';
const PYTORCH_BIN = /^pytorch_model(-\d+-of-\d+)?\.bin$/;
const TOKENIZER_FILES = new Set(['vocab.txt', 'vocab.json', 'merges.txt', 'spiece.model', 'sentencepiece.bpe.model', 'tokenizer.model', 'source.spm', 'target.spm']);
// Top-level folders holding other runtimes' exports; their JSON files are not ours either.
const FOREIGN_FOLDERS = new Set(['onnx', 'openvino', 'tf', 'flax', 'coreml']);
const ONNX_FILES = new Set(['onnx/model.onnx', 'onnx/model.onnx_data']);

export function selectModelFiles(files: readonly string[], backend: ModelBackend): string[] {
  const hasSafetensors = new Set<string>();
  for (const f of files) {
    const base = posix.basename(f);
    if (SAFETENSORS.test(base) || base === SAFETENSORS_INDEX) hasSafetensors.add(posix.dirname(f));
  }
  const keep = (f: string): boolean => {
    if (backend === 'onnx' && ONNX_FILES.has(f)) return true;
    const top = f.includes('/') ? f.slice(0, f.indexOf('/')) : '';
    if (FOREIGN_FOLDERS.has(top)) return false;
    const base = posix.basename(f);
    if (base.endsWith('.json')) {
      // A .bin index is only useful where the .bin shards are the weights.
      return base === 'pytorch_model.bin.index.json' ? !hasSafetensors.has(posix.dirname(f)) : true;
    }
    if (TOKENIZER_FILES.has(base) || SAFETENSORS.test(base)) return true;
    if (PYTORCH_BIN.test(base)) return !hasSafetensors.has(posix.dirname(f));
    return false;
  };
  return files.filter(keep);
}
