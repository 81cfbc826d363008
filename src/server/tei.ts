import { SparseEncoderError, type ErrorCode } from '../errors.js';
import type { EncodeMode } from './protocol.js';

/*
 * Hugging Face text-embeddings-inference's HTTP API, as its source defines it (commit 0d124dc of
 * huggingface/text-embeddings-inference):
 * - router/src/http/types.rs: `EmbedSparseRequest {inputs: Input, truncate: Option<bool>,
 *   truncation_direction: TruncationDirection = Right, prompt_name: Option<String>}`, `Input` =
 *   a string, token ids (`Vec<u32>`) or a batch of them; `SparseValue {index, value}`;
 *   `TokenizeRequest {inputs: string | string[], add_special_tokens = true, prompt_name}`,
 *   `SimpleToken {id, text, special, start, stop}`; `DecodeRequest {ids: u32[] | u32[][],
 *   skip_special_tokens = true}`, `DecodeResponse(Vec<String>)`. serde without
 *   `deny_unknown_fields`: unknown fields are ignored.
 * - router/src/lib.rs: `ErrorResponse {error, error_type}` with `ErrorType` serialized as its
 *   variant name (`Unhealthy`, `Backend`, `Overloaded`, `Validation`, `Tokenizer`, `Empty`: no
 *   rename attribute), and `Info {model_id, model_sha, model_dtype, served_model_name,
 *   model_type: {"embedding": {"pooling"}}, max_concurrent_requests, max_input_length,
 *   max_batch_tokens, max_batch_requests, max_client_batch_size, auto_truncate,
 *   tokenization_workers, version, sha, docker_label}`.
 * - router/src/http/server.rs: statuses Unhealthy 503, Backend 424, Overloaded 429, Tokenizer 422,
 *   Validation 422, Empty 400; "`inputs` cannot be empty" (Empty) for an empty batch; "batch size
 *   {n} > maximum allowed batch size {max}" (Validation) over `max_client_batch_size`;
 *   `truncate` defaults to the server's `auto_truncate` (launcher default true); POST `/` is
 *   `/embed_sparse` for a SPLADE model, GET `/` is the health check.
 * - core/src/tokenization.rs: "`inputs` must have less than {max_input_length} tokens. Given: {n}"
 *   (Validation) when not truncating; its Tokenize request passes no truncation parameters, so
 *   /tokenize returns every token of a text.
 * `truncation_direction: "left"` keeps an over-long text's last tokens (TruncationParams.direction
 * there). Token-id inputs of /embed_sparse are taken as TEI takes them (core/src/tokenization.rs
 * `tokenize_input`, `EncodingInput::Ids`): decoded to text with special tokens kept, then encoded
 * without adding special tokens, truncated as any input. /tokenize takes text only.
 */

export type TeiErrorType = 'Unhealthy' | 'Backend' | 'Overloaded' | 'Validation' | 'Tokenizer' | 'Empty';

const TEI_STATUS: Record<TeiErrorType, number> = { Unhealthy: 503, Backend: 424, Overloaded: 429, Tokenizer: 422, Validation: 422, Empty: 400 };

/** Our error codes as TEI's error types. */
export function teiErrorType(code: ErrorCode): TeiErrorType {
  switch (code) {
    case 'ERR_OVERLOADED':
      return 'Overloaded';
    case 'ERR_UNAVAILABLE':
    case 'ERR_WORKER_CRASHED':
    case 'ERR_WORKER_TIMEOUT':
    case 'ERR_CANCELLED':
      return 'Unhealthy';
    case 'ERR_TOKENIZER':
      return 'Tokenizer';
    case 'ERR_RUNTIME':
    case 'ERR_INTERNAL':
      return 'Backend';
    default:
      return 'Validation';
  }
}

/**
 * TEI's status for an error. Errors TEI answers before its handlers (axum's extractors: bad JSON
 * 400, wrong field types 422, no JSON content type 415, body limit 413; unknown route 404; method
 * 405; our Host checks) keep their HTTP status; the body is TEI's shape either way.
 */
export function teiStatus(err: SparseEncoderError, ourStatus: number): number {
  if (err.details['teiErrorType'] !== undefined) return TEI_STATUS[err.details['teiErrorType'] as TeiErrorType];
  if ([400, 404, 405, 413, 415, 421, 403].includes(ourStatus) && err.code !== 'ERR_INVALID_INPUT' && err.code !== 'ERR_INVALID_ARGUMENT') return ourStatus;
  return TEI_STATUS[teiErrorType(err.code)];
}

export function teiBody(err: SparseEncoderError): { error: string; error_type: TeiErrorType } {
  const type = (err.details['teiErrorType'] as TeiErrorType | undefined) ?? teiErrorType(err.code);
  return { error: err.message, error_type: type };
}

function teiError(type: TeiErrorType, message: string, code: ErrorCode = 'ERR_INVALID_INPUT'): SparseEncoderError {
  return new SparseEncoderError(code, message, { details: { teiErrorType: type } });
}

export interface TeiLimits {
  maxClientBatchSize: number;
  maxTextLength: number;
  autoTruncate: boolean;
}

export interface TeiEmbedRequest {
  /** A text per input; for a token-id input, the ids, which the server decodes (see `fromIds`). */
  texts: string[];
  /** Per input: token ids given instead of text (TEI's `InputType::Ids`), else undefined. */
  ids?: Array<number[] | undefined>;
  task: EncodeMode;
  promptName?: string;
  truncate: boolean;
  /** `truncation_direction: "left"`: over-long texts keep their last tokens (core/src/tokenization.rs `TruncationParams.direction`). */
  truncationDirection?: 'left';
}

function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw teiError('Validation', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff);

/**
 * `inputs`: a string or a batch of strings (within the client batch size); with `acceptIds`
 * (/embed_sparse), also token ids or a batch mixing both (router/src/http/types.rs
 * `Input::Single(InputType) | Input::Batch(Vec<InputType>)`, `InputType::String | InputType::Ids(Vec<u32>)`).
 */
function teiInputs(o: Record<string, unknown>, limits: TeiLimits, acceptIds: boolean): Array<string | number[]> {
  const shape = acceptIds ? '`inputs` must be a string, token ids, or an array of them' : '`inputs` must be a string or an array of strings';
  const raw = o['inputs'];
  const list: unknown[] | undefined = typeof raw === 'string' ? [raw] : isIds(raw) && raw.length > 0 ? [raw] : Array.isArray(raw) ? raw : undefined;
  if (list === undefined) throw teiError('Validation', shape);
  if (list.length === 0) throw teiError('Empty', '`inputs` cannot be empty');
  if (list.length > limits.maxClientBatchSize) throw teiError('Validation', `batch size ${list.length} > maximum allowed batch size ${limits.maxClientBatchSize}`);
  return list.map((item) => {
    if (!acceptIds && (typeof item === 'number' || (Array.isArray(item) && item.every((x) => typeof x === 'number')))) {
      throw teiError('Validation', 'token-id inputs are not supported by this server; send the text');
    }
    if (isIds(item)) {
      // core/src/tokenization.rs: EncodingInput::Ids(v).is_empty() is a Validation error.
      if (item.length === 0) throw teiError('Validation', '`inputs` cannot be empty');
      if (item.length > limits.maxTextLength) throw teiError('Validation', `\`inputs\` must have less than ${limits.maxTextLength} tokens. Given: ${item.length}`);
      return item;
    }
    if (typeof item !== 'string') throw teiError('Validation', shape);
    if (item.length > limits.maxTextLength) throw teiError('Validation', `\`inputs\` must have less than ${limits.maxTextLength} characters. Given: ${item.length}`);
    return item;
  });
}

/** `prompt_name`: `query` / `document` (and the Router route they select), or any saved prompt name. */
function promptOf(o: Record<string, unknown>): { task: EncodeMode; promptName?: string } {
  const p = o['prompt_name'];
  if (p === undefined || p === null) return { task: 'plain' };
  if (typeof p !== 'string') throw teiError('Validation', '`prompt_name` must be a string');
  if (p === 'query') return { task: 'query' };
  if (p === 'document' || p === 'passage' || p === 'corpus') return { task: 'document', promptName: p };
  return { task: 'plain', promptName: p };
}

/** `POST /embed_sparse` (and `POST /`). */
export function parseEmbedSparse(body: unknown, limits: TeiLimits): TeiEmbedRequest {
  const o = object(body);
  const items = teiInputs(o, limits, true);
  const texts = items.map((x) => (typeof x === 'string' ? x : ''));
  const ids = items.some((x) => typeof x !== 'string') ? items.map((x) => (typeof x === 'string' ? undefined : x)) : undefined;
  const t = o['truncate'];
  if (t !== undefined && t !== null && typeof t !== 'boolean') throw teiError('Validation', '`truncate` must be a boolean');
  const dir = o['truncation_direction'];
  const left = dir === 'left' || dir === 'Left';
  if (dir !== undefined && dir !== null && !left && dir !== 'right' && dir !== 'Right') throw teiError('Validation', '`truncation_direction` must be "left" or "right"');
  const { task, promptName } = promptOf(o);
  return {
    texts,
    task,
    truncate: typeof t === 'boolean' ? t : limits.autoTruncate,
    ...(ids !== undefined ? { ids } : {}),
    ...(promptName !== undefined ? { promptName } : {}),
    ...(left ? { truncationDirection: 'left' as const } : {}),
  };
}

export interface TeiTokenizeRequest {
  texts: string[];
  task: EncodeMode;
  promptName?: string;
  addSpecialTokens: boolean;
}

/** `POST /tokenize`. */
export function parseTokenize(body: unknown, limits: TeiLimits): TeiTokenizeRequest {
  const o = object(body);
  const texts = teiInputs(o, limits, false) as string[];
  const add = o['add_special_tokens'];
  if (add !== undefined && typeof add !== 'boolean') throw teiError('Validation', '`add_special_tokens` must be a boolean');
  const { task, promptName } = promptOf(o);
  return { texts, task, addSpecialTokens: add !== false, ...(promptName !== undefined ? { promptName } : {}) };
}

/** `POST /decode`: `ids` one list or a batch of lists. */
export function parseDecode(body: unknown, limits: TeiLimits): { ids: number[][]; skipSpecialTokens: boolean } {
  const o = object(body);
  const raw = o['ids'];
  const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff);
  let ids: number[][];
  if (isIds(raw) && (raw.length > 0 || !Array.isArray(raw[0]))) ids = [raw];
  else if (Array.isArray(raw) && raw.every(isIds)) ids = raw as number[][];
  else throw teiError('Validation', '`ids` must be an array of token ids (u32) or a batch of them');
  if (ids.length === 0) throw teiError('Empty', '`ids` cannot be empty');
  if (ids.length > limits.maxClientBatchSize) throw teiError('Validation', `batch size ${ids.length} > maximum allowed batch size ${limits.maxClientBatchSize}`);
  const skip = o['skip_special_tokens'];
  if (skip !== undefined && typeof skip !== 'boolean') throw teiError('Validation', '`skip_special_tokens` must be a boolean');
  return { ids, skipSpecialTokens: skip !== false };
}

/** TEI's message for an input over the model's length, from our ERR_INPUT_TOO_LONG. */
export function teiTooLong(err: SparseEncoderError, maxInputLength: number | null): SparseEncoderError {
  return teiError('Validation', `\`inputs\` must have less than ${maxInputLength ?? '?'} tokens. ${err.message}`, 'ERR_INPUT_TOO_LONG');
}

/** The sparse vector as TEI answers it: non-zeros only, ascending index. */
export function teiSparse(indices: Uint32Array, values: Float32Array): Array<{ index: number; value: number }> {
  const out: Array<{ index: number; value: number }> = [];
  for (let i = 0; i < indices.length; i++) if (values[i] !== 0) out.push({ index: indices[i]!, value: values[i]! });
  return out;
}
