import { SparseEncoderError } from '../errors.js';
import { exists, joinPath, readText } from '../files/model-fs.js';
import type { SpecialTokensMap } from './text-tokenizer.js';

/**
 * Older Hub repos (e.g. naver/splade_v2_distil) ship only the "slow" tokenizer files. transformers
 * converts them to a fast tokenizer on load (convert_slow_tokenizer.py: BertConverter,
 * RobertaConverter); this builds the same tokenizer.json in memory for the two families we run:
 * WordPiece from `vocab.txt` (BERT, DistilBERT) and byte-level BPE from `vocab.json` + `merges.txt`
 * (RoBERTa). Returns undefined when the folder has neither.
 */
export async function tokenizerJsonFromSlowFiles(
  folder: string,
  config: Record<string, unknown>,
  special: SpecialTokensMap,
): Promise<string | undefined> {
  const cls = String(config['tokenizer_class'] ?? '').replace(/Fast$/, '');
  const hasVocabTxt = await exists(joinPath(folder, 'vocab.txt'));
  const hasBpe = (await exists(joinPath(folder, 'vocab.json'))) && (await exists(joinPath(folder, 'merges.txt')));
  if (hasVocabTxt && (cls === '' || cls === 'BertTokenizer' || cls === 'DistilBertTokenizer')) return wordPiece(folder, config, special);
  if (hasBpe && (cls === '' || cls === 'RobertaTokenizer')) return byteLevelBpe(folder, config, special);
  if (hasVocabTxt || hasBpe) {
    throw new SparseEncoderError('ERR_TOKENIZER', `${folder} has no tokenizer.json and its tokenizer class "${cls}" cannot be converted (BERT, DistilBERT and RoBERTa can)`, {
      details: { path: folder, tokenizerClass: cls },
    });
  }
  return undefined;
}

interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The added tokens: tokenizer_config.json `added_tokens_decoder`, else the special tokens found in the vocabulary. */
function addedTokens(config: Record<string, unknown>, special: SpecialTokensMap, vocab: ReadonlyMap<string, number>): AddedToken[] {
  const decoder = config['added_tokens_decoder'];
  const out: AddedToken[] = [];
  if (decoder !== null && typeof decoder === 'object' && !Array.isArray(decoder)) {
    for (const [id, raw] of Object.entries(decoder as Record<string, Record<string, unknown>>)) {
      if (typeof raw?.['content'] !== 'string') continue;
      out.push({
        id: Number(id),
        content: raw['content'],
        single_word: raw['single_word'] === true,
        lstrip: raw['lstrip'] === true,
        rstrip: raw['rstrip'] === true,
        normalized: raw['normalized'] === true,
        special: raw['special'] !== false,
      });
    }
  } else {
    for (const content of new Set(Object.values(special))) {
      const id = vocab.get(content);
      if (id !== undefined) out.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }
  }
  return out.sort((a, b) => a.id - b.id);
}

function requireToken(vocab: ReadonlyMap<string, number>, token: string, folder: string): number {
  const id = vocab.get(token);
  if (id === undefined) throw new SparseEncoderError('ERR_TOKENIZER', `special token ${JSON.stringify(token)} is not in the vocabulary of ${folder}`, { details: { path: folder, token } });
  return id;
}

async function wordPiece(folder: string, config: Record<string, unknown>, special: SpecialTokensMap): Promise<string> {
  // transformers' load_vocab: one token per line (only "\n" ends a line), id = line number.
  const lines = (await readText(joinPath(folder, 'vocab.txt'), 'vocabulary')).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((t, i) => vocab.set(t, i));
  const unk = special['unk_token'] ?? '[UNK]';
  const clsTok = special['cls_token'] ?? '[CLS]';
  const sepTok = special['sep_token'] ?? '[SEP]';
  const clsId = requireToken(vocab, clsTok, folder);
  const sepId = requireToken(vocab, sepTok, folder);
  const stripAccents = config['strip_accents'];
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(config, special, vocab),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: config['tokenize_chinese_chars'] !== false,
      strip_accents: typeof stripAccents === 'boolean' ? stripAccents : null,
      lowercase: config['do_lower_case'] !== false,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: clsTok, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sepTok, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: clsTok, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sepTok, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: sepTok, type_id: 1 } },
      ],
      special_tokens: {
        [clsTok]: { id: clsTok, ids: [clsId], tokens: [clsTok] },
        [sepTok]: { id: sepTok, ids: [sepId], tokens: [sepTok] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab) },
  };
  return JSON.stringify(json);
}

async function byteLevelBpe(folder: string, config: Record<string, unknown>, special: SpecialTokensMap): Promise<string> {
  let vocabObj: unknown;
  try {
    vocabObj = JSON.parse(await readText(joinPath(folder, 'vocab.json'), 'vocabulary'));
  } catch (err) {
    throw new SparseEncoderError('ERR_TOKENIZER', `${joinPath(folder, 'vocab.json')} is not valid JSON`, { cause: err });
  }
  const vocab = new Map<string, number>(Object.entries(vocabObj as Record<string, number>));
  // RobertaTokenizer: read().split("\n")[1:-1] (skips the "#version" line and the final newline).
  const merges = (await readText(joinPath(folder, 'merges.txt'), 'merges file')).split('\n').slice(1, -1).filter((m) => m !== '');
  const addPrefixSpace = config['add_prefix_space'] === true;
  const clsTok = special['cls_token'] ?? '<s>';
  const sepTok = special['sep_token'] ?? '</s>';
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(config, special, vocab),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [sepTok, requireToken(vocab, sepTok, folder)],
      cls: [clsTok, requireToken(vocab, clsTok, folder)],
      trim_offsets: true,
      add_prefix_space: addPrefixSpace,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false,
      vocab: Object.fromEntries(vocab), merges,
    },
  };
  return JSON.stringify(json);
}
