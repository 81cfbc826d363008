import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { StateDict } from '../src/weights/types.js';

/** Writes a float32 safetensors file (header JSON padded to 8 bytes, then the tensors in name order). */
export function writeSafetensors(path: string, weights: StateDict): void {
  const names = [...weights.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const n of names) {
    const t = weights.get(n)!;
    header[n] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length), 0);
  head.write(json, 8, 'utf8');
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    for (const n of names) {
      const d = weights.get(n)!.data;
      writeSync(fd, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  } finally {
    closeSync(fd);
  }
}

export interface SpladeFolderOptions {
  config: Record<string, unknown>;
  /** The weights file to hard-link (written once, shared by several folders), or weights to write. */
  weights: { linkFrom: string } | { write: StateDict };
  /** Folder holding tokenizer.json and tokenizer_config.json (vocab.txt, special_tokens_map.json copied when present): a fixture. */
  tokenizerFrom: string;
  maxSeqLength: number;
}

/** A SPLADE model folder laid out as sentence-transformers saves one (MLMTransformer + SpladePooling max/relu). */
export function writeSpladeFolder(folder: string, o: SpladeFolderOptions): string {
  mkdirSync(join(folder, '1_SpladePooling'), { recursive: true });
  writeFileSync(join(folder, 'config.json'), JSON.stringify(o.config, null, 2));
  const weightsPath = join(folder, 'model.safetensors');
  if ('linkFrom' in o.weights) linkSync(o.weights.linkFrom, weightsPath);
  else writeSafetensors(weightsPath, o.weights.write);
  for (const f of ['tokenizer.json', 'vocab.txt', 'special_tokens_map.json']) if (existsSync(join(o.tokenizerFrom, f))) copyFileSync(join(o.tokenizerFrom, f), join(folder, f));
  const tokCfg = JSON.parse(readFileSync(join(o.tokenizerFrom, 'tokenizer_config.json'), 'utf8'));
  tokCfg.model_max_length = o.maxSeqLength;
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify(tokCfg, null, 2));
  writeFileSync(join(folder, 'sentence_bert_config.json'), JSON.stringify({ max_seq_length: o.maxSeqLength, do_lower_case: false }, null, 4));
  writeFileSync(
    join(folder, 'modules.json'),
    JSON.stringify(
      [
        { idx: 0, name: '0', path: '', type: 'sentence_transformers.sparse_encoder.models.MLMTransformer' },
        { idx: 1, name: '1', path: '1_SpladePooling', type: 'sentence_transformers.sparse_encoder.models.SpladePooling' },
      ],
      null,
      2,
    ),
  );
  writeFileSync(
    join(folder, 'config_sentence_transformers.json'),
    JSON.stringify({ model_type: 'SparseEncoder', prompts: { query: '', document: '' }, default_prompt_name: null, similarity_fn_name: 'dot' }, null, 2),
  );
  writeFileSync(
    join(folder, '1_SpladePooling', 'config.json'),
    JSON.stringify({ pooling_strategy: 'max', activation_function: 'relu', word_embedding_dimension: null }, null, 4),
  );
  return weightsPath;
}
