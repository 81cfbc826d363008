import { SparseEncoderError } from '../errors.js';

/**
 * The encoder families we can build; XLM-RoBERTa (and CamemBERT) share RoBERTa's graph; `gte` is
 * Alibaba's GTE "new"; `modernbert` is ModernBERT (and Ettin, which uses its architecture).
 */
export type TransformerFamily = 'bert' | 'roberta' | 'distilbert' | 'gte' | 'modernbert';

/** GTE's rotary position embedding, as its genuine remote code computes it (ORACLE.md "GTE fixtures"). */
export interface RopeConfig {
  /** `rope_theta`. */
  theta: number;
  /** `rope_scaling.factor` for `{"type": "ntk"}`; 1 without scaling. */
  ntkFactor: number;
}

/**
 * What the graph builders need from a Hugging Face `config.json`, with the family's naming
 * differences (`hidden_size` vs DistilBERT's `dim`, ...) resolved once here.
 */
export interface TransformerConfig {
  readonly family: TransformerFamily;
  /** `model_type` as written in config.json (e.g. `xlm-roberta`). */
  readonly modelType: string;
  /** First entry of `architectures`, if any (e.g. `BertForMaskedLM`). */
  readonly architecture: string | undefined;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly maxPositionEmbeddings: number;
  /** 0 when the family has no token types (DistilBERT). */
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly padTokenId: number;
  /** Longest token row the position table allows (RoBERTa reserves padding_idx + 1 rows). */
  readonly maxSequenceLength: number;
  /** GTE only: rotary embeddings instead of a position table. */
  readonly rope?: RopeConfig;
  /** ModernBERT only: which layers attend globally, and each kind's rotary base. */
  readonly modernbert?: ModernBertLayout;
}

/** ModernBERT's alternating attention (ORACLE.md "ModernBERT as transformers 5.18 computes it"). */
export interface ModernBertLayout {
  /** Per layer: `full_attention` or `sliding_attention`. */
  readonly layerTypes: readonly ModernBertLayerType[];
  /** Rotary theta of each layer type (`rope_parameters`, or the older `global_rope_theta` / `local_rope_theta`). */
  readonly ropeTheta: Readonly<Record<ModernBertLayerType, number>>;
  /** A sliding layer's query i sees key j iff |i - j| <= this (`local_attention // 2`). */
  readonly slidingWindowHalf: number;
}

export type ModernBertLayerType = 'full_attention' | 'sliding_attention';

const FAMILY_BY_MODEL_TYPE: Record<string, TransformerFamily> = {
  bert: 'bert',
  roberta: 'roberta',
  'xlm-roberta': 'roberta',
  camembert: 'roberta',
  distilbert: 'distilbert',
  // Alibaba's GTE "new" (NewForMaskedLM): remote code in Python, built natively here.
  new: 'gte',
  modernbert: 'modernbert',
};

const FAMILY_BY_ARCHITECTURE_PREFIX: Array<[string, TransformerFamily]> = [
  ['XLMRoberta', 'roberta'],
  ['Camembert', 'roberta'],
  ['Roberta', 'roberta'],
  ['DistilBert', 'distilbert'],
  ['Bert', 'bert'],
  ['New', 'gte'],
  ['ModernBert', 'modernbert'],
];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Upper bounds of size fields, checked before anything is allocated from them (a fuzzed
 * `num_hidden_layers` of 2^31 once made the ModernBERT layer list exhaust the heap). Far above any
 * published encoder: BERT-large has 24 layers, XLM-R-XL 2,560 hidden, mT5's vocabulary 250,112.
 */
const SIZE_LIMITS: Readonly<Record<string, number>> = {
  num_hidden_layers: 512,
  n_layers: 512,
  hidden_size: 65536,
  dim: 65536,
  num_attention_heads: 1024,
  n_heads: 1024,
  intermediate_size: 262144,
  hidden_dim: 262144,
  vocab_size: 4_000_000,
  type_vocab_size: 1024,
  max_position_embeddings: 1 << 20,
  global_attn_every_n_layers: 512,
};

function intField(cfg: Record<string, unknown>, key: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `config.json is missing "${key}"`, { details: { key } });
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `config.json "${key}" must be a non-negative integer, got ${JSON.stringify(v)}`, {
      details: { key },
    });
  }
  const limit = SIZE_LIMITS[key];
  if (limit !== undefined && v > limit) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `config.json "${key}" is ${v}, more than the ${limit} this library accepts`, { details: { key, limit } });
  }
  return v;
}

function numberField(cfg: Record<string, unknown>, key: string, fallback: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `config.json "${key}" must be a positive number, got ${JSON.stringify(v)}`, {
      details: { key },
    });
  }
  return v;
}

function checkActivation(cfg: Record<string, unknown>, key: string): void {
  const act = cfg[key] ?? 'gelu';
  // Only the exact erf GELU is built; tanh approximations would silently change outputs.
  if (act !== 'gelu') {
    throw new SparseEncoderError('ERR_UNSUPPORTED_ARCHITECTURE', `activation ${JSON.stringify(act)} ("${key}" in config.json) is not supported; only "gelu" is`, {
      details: { key, activation: act },
    });
  }
}

/**
 * Reads a parsed `config.json` object. Throws ERR_UNSUPPORTED_ARCHITECTURE (naming the
 * model_type/architecture) for families we cannot build, ERR_INVALID_CONFIG for malformed fields.
 */
export function parseTransformerConfig(json: unknown): TransformerConfig {
  if (!isRecord(json)) throw new SparseEncoderError('ERR_INVALID_CONFIG', 'config.json must hold a JSON object');
  const modelType = typeof json['model_type'] === 'string' ? json['model_type'] : undefined;
  const archs = Array.isArray(json['architectures']) ? json['architectures'].filter((a): a is string => typeof a === 'string') : [];
  const architecture = archs[0];

  let family: TransformerFamily | undefined;
  if (modelType !== undefined) family = FAMILY_BY_MODEL_TYPE[modelType];
  else if (architecture !== undefined) family = FAMILY_BY_ARCHITECTURE_PREFIX.find(([p]) => architecture.startsWith(p))?.[1];
  if (family === undefined) {
    const what = [modelType !== undefined ? `model_type "${modelType}"` : '', architecture !== undefined ? `architecture "${architecture}"` : '']
      .filter(Boolean)
      .join(', ');
    throw new SparseEncoderError(
      'ERR_UNSUPPORTED_ARCHITECTURE',
      `unsupported transformer ${what || '(config.json names neither model_type nor architectures)'}; supported model types: ${Object.keys(FAMILY_BY_MODEL_TYPE).join(', ')}`,
      { details: { modelType, architecture } },
    );
  }

  if (family === 'distilbert') {
    checkActivation(json, 'activation');
    const maxPos = intField(json, 'max_position_embeddings', 512);
    return {
      family,
      modelType: modelType ?? 'distilbert',
      architecture,
      hiddenSize: intField(json, 'dim'),
      numLayers: intField(json, 'n_layers'),
      numHeads: intField(json, 'n_heads'),
      intermediateSize: intField(json, 'hidden_dim'),
      vocabSize: intField(json, 'vocab_size'),
      maxPositionEmbeddings: maxPos,
      typeVocabSize: 0,
      // transformers hard-codes eps 1e-12 for DistilBERT's LayerNorms.
      layerNormEps: 1e-12,
      padTokenId: intField(json, 'pad_token_id', 0),
      maxSequenceLength: maxPos,
    };
  }

  if (family === 'modernbert') return parseModernBertConfig(json, modelType, architecture);
  checkActivation(json, 'hidden_act');
  if (family === 'gte') return parseGteConfig(json, modelType, architecture);
  const pet = json['position_embedding_type'] ?? 'absolute';
  if (pet !== 'absolute') {
    throw new SparseEncoderError('ERR_UNSUPPORTED_ARCHITECTURE', `position_embedding_type ${JSON.stringify(pet)} is not supported; only "absolute" is`, {
      details: { position_embedding_type: pet },
    });
  }
  const maxPos = intField(json, 'max_position_embeddings');
  const padTokenId = intField(json, 'pad_token_id', family === 'roberta' ? 1 : 0);
  return {
    family,
    modelType: modelType ?? family,
    architecture,
    hiddenSize: intField(json, 'hidden_size'),
    numLayers: intField(json, 'num_hidden_layers'),
    numHeads: intField(json, 'num_attention_heads'),
    intermediateSize: intField(json, 'intermediate_size'),
    vocabSize: intField(json, 'vocab_size'),
    maxPositionEmbeddings: maxPos,
    typeVocabSize: intField(json, 'type_vocab_size', 2),
    layerNormEps: numberField(json, 'layer_norm_eps', 1e-12),
    padTokenId,
    // RoBERTa positions start at padding_idx + 1, so the last padding_idx + 1 rows are unusable.
    maxSequenceLength: family === 'roberta' ? maxPos - padTokenId - 1 : maxPos,
  };
}

/**
 * Most positions a rotary model may declare: its cos/sin tables are built for every position
 * (8,192 for GTE and ModernBERT; a hostile 1e9 would allocate terabytes).
 */
export const MAX_ROTARY_POSITIONS = 131072;

/** `max_position_embeddings` of a rotary model, at most MAX_ROTARY_POSITIONS. */
function rotaryPositions(json: Record<string, unknown>, fallback: number): number {
  const n = intField(json, 'max_position_embeddings', fallback);
  if (n < 1 || n > MAX_ROTARY_POSITIONS) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `config.json "max_position_embeddings" is ${n}; a rotary model may have 1 to ${MAX_ROTARY_POSITIONS}`, {
      details: { key: 'max_position_embeddings' },
    });
  }
  return n;
}

/**
 * Largest sliding window built (`local_attention`): the blocked kernel holds a [w/2, 3w/2] band and
 * scores in blocks of w/2 positions; published ModernBERT models use 128.
 */
export const MAX_LOCAL_ATTENTION = 2048;

function unsupported(key: string, value: unknown, supported: string, family = 'GTE'): SparseEncoderError {
  return new SparseEncoderError('ERR_UNSUPPORTED_ARCHITECTURE', `${family} config.json "${key}" is ${JSON.stringify(value)}; only ${supported} is supported`, {
    details: { key, value },
  });
}

/**
 * GTE "new" (`Alibaba-NLP/new-impl` remote code): the fields its code reads, each checked. Values
 * whose math we do not build are refused naming the field. `unpad_inputs` and
 * `use_memory_efficient_attention` only change how the same attention is computed (packed tokens,
 * xformers), so either value gives the same vectors.
 */
function parseGteConfig(json: Record<string, unknown>, modelType: string | undefined, architecture: string | undefined): TransformerConfig {
  const pet = json['position_embedding_type'] ?? 'rope';
  if (pet !== 'rope') throw unsupported('position_embedding_type', pet, '"rope"');
  const pack = json['pack_qkv'] ?? true;
  if (pack !== true) throw unsupported('pack_qkv', pack, 'true (a packed qkv_proj)');
  const lnType = json['layer_norm_type'] ?? 'layer_norm';
  if (lnType !== 'layer_norm') throw unsupported('layer_norm_type', lnType, '"layer_norm"');
  const logn = json['logn_attention_scale'] ?? false;
  if (logn !== false) throw unsupported('logn_attention_scale', logn, 'false');
  for (const key of ['unpad_inputs', 'use_memory_efficient_attention']) {
    const v = json[key];
    if (v !== undefined && v !== null && typeof v !== 'boolean') {
      throw new SparseEncoderError('ERR_INVALID_CONFIG', `config.json "${key}" must be true or false, got ${JSON.stringify(v)}`, { details: { key } });
    }
  }
  const scaling = json['rope_scaling'];
  let ntkFactor = 1;
  if (scaling !== undefined && scaling !== null) {
    if (!isRecord(scaling) || scaling['type'] !== 'ntk') throw unsupported('rope_scaling', scaling, 'null or {"type": "ntk", "factor": f}');
    if (scaling['mixed_b'] !== undefined && scaling['mixed_b'] !== null) throw unsupported('rope_scaling.mixed_b', scaling['mixed_b'], 'none');
    ntkFactor = numberField(scaling, 'factor', 1);
  }
  const hiddenSize = intField(json, 'hidden_size');
  const numHeads = intField(json, 'num_attention_heads');
  if (numHeads > 0 && (hiddenSize / numHeads) % 2 !== 0) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `GTE head size ${hiddenSize / numHeads} must be even for rotary embeddings`, { details: { hiddenSize, numHeads } });
  }
  const maxPos = rotaryPositions(json, 512);
  return {
    family: 'gte',
    modelType: modelType ?? 'new',
    architecture,
    hiddenSize,
    numLayers: intField(json, 'num_hidden_layers'),
    numHeads,
    intermediateSize: intField(json, 'intermediate_size'),
    vocabSize: intField(json, 'vocab_size'),
    maxPositionEmbeddings: maxPos,
    // NewConfig's default is 0: no token-type embeddings at all.
    typeVocabSize: intField(json, 'type_vocab_size', 0),
    layerNormEps: numberField(json, 'layer_norm_eps', 1e-12),
    padTokenId: intField(json, 'pad_token_id', 0),
    maxSequenceLength: maxPos,
    rope: { theta: numberField(json, 'rope_theta', 10000), ntkFactor },
  };
}

const MODERNBERT_LAYER_TYPES: readonly ModernBertLayerType[] = ['full_attention', 'sliding_attention'];

/**
 * ModernBERT (`ModernBertForMaskedLM`), in both config forms: transformers 5.x writes
 * `layer_types` and `rope_parameters` (one `{rope_theta, rope_type}` per layer type); configs on the
 * Hub carry the older `global_attn_every_n_layers` (layer i is global iff i % n == 0),
 * `global_rope_theta` and `local_rope_theta` (transformers' defaults 3, 160000 and 10000).
 * Settings whose math we do not build are refused naming the field.
 */
function parseModernBertConfig(json: Record<string, unknown>, modelType: string | undefined, architecture: string | undefined): TransformerConfig {
  const no = (key: string, value: unknown, supported: string): SparseEncoderError => unsupported(key, value, supported, 'ModernBERT');
  for (const key of ['hidden_activation', 'classifier_activation']) {
    const act = json[key] ?? 'gelu';
    if (act !== 'gelu') throw no(key, act, '"gelu" (the exact erf form)');
  }
  const hiddenSize = intField(json, 'hidden_size');
  const numHeads = intField(json, 'num_attention_heads');
  const numLayers = intField(json, 'num_hidden_layers');
  if (numHeads > 0 && (hiddenSize % numHeads !== 0 || (hiddenSize / numHeads) % 2 !== 0)) {
    throw new SparseEncoderError('ERR_INVALID_CONFIG', `ModernBERT head size ${hiddenSize}/${numHeads} must be a whole, even number for rotary embeddings`, { details: { hiddenSize, numHeads } });
  }
  const localAttention = intField(json, 'local_attention', 128);

  let layerTypes: ModernBertLayerType[];
  const declared = json['layer_types'];
  if (declared !== undefined && declared !== null) {
    if (!Array.isArray(declared) || declared.length !== numLayers) {
      throw new SparseEncoderError('ERR_INVALID_CONFIG', `config.json "layer_types" must list one type per layer (${numLayers})`, { details: { key: 'layer_types' } });
    }
    layerTypes = declared.map((t) => {
      if (!MODERNBERT_LAYER_TYPES.includes(t as ModernBertLayerType)) throw no('layer_types', t, '"full_attention" or "sliding_attention"');
      return t as ModernBertLayerType;
    });
  } else {
    const every = intField(json, 'global_attn_every_n_layers', 3);
    if (every < 1) throw new SparseEncoderError('ERR_INVALID_CONFIG', 'config.json "global_attn_every_n_layers" must be at least 1', { details: { key: 'global_attn_every_n_layers' } });
    layerTypes = Array.from({ length: numLayers }, (_, i) => (i % every === 0 ? 'full_attention' : 'sliding_attention'));
  }

  const ropeTheta: Record<ModernBertLayerType, number> = {
    full_attention: numberField(json, 'global_rope_theta', 160000),
    sliding_attention: numberField(json, 'local_rope_theta', 10000),
  };
  const params = json['rope_parameters'];
  if (params !== undefined && params !== null) {
    if (!isRecord(params)) throw no('rope_parameters', params, 'an object keyed by layer type');
    for (const type of MODERNBERT_LAYER_TYPES) {
      const p = params[type];
      if (p === undefined) continue;
      if (!isRecord(p)) throw no(`rope_parameters.${type}`, p, '{"rope_theta": t, "rope_type": "default"}');
      const ropeType = p['rope_type'] ?? 'default';
      if (ropeType !== 'default') throw no(`rope_parameters.${type}.rope_type`, ropeType, '"default"');
      ropeTheta[type] = numberField(p, 'rope_theta', ropeTheta[type]);
    }
  }
  const maxPos = rotaryPositions(json, 8192);
  // A window that spans every position attends as a global layer does (the graph builds it so); a larger one is not built.
  const half = Math.floor(localAttention / 2);
  if (half < maxPos - 1 && localAttention > MAX_LOCAL_ATTENTION) throw no('local_attention', localAttention, `a window of at most ${MAX_LOCAL_ATTENTION} (or one spanning every position)`);
  return {
    family: 'modernbert',
    modelType: modelType ?? 'modernbert',
    architecture,
    hiddenSize,
    numLayers,
    numHeads,
    intermediateSize: intField(json, 'intermediate_size'),
    vocabSize: intField(json, 'vocab_size'),
    maxPositionEmbeddings: maxPos,
    typeVocabSize: 0,
    layerNormEps: numberField(json, 'norm_eps', 1e-5),
    padTokenId: intField(json, 'pad_token_id', 50283),
    maxSequenceLength: maxPos,
    modernbert: { layerTypes, ropeTheta, slidingWindowHalf: half },
  };
}
