import { RuntimeError, type RuntimeErrorCode } from '../errors.js';
import { MAX_IMAGES_PER_REQUEST, parseImageUrl, type ImageInput } from '../vision/image-input.js';

// The OpenAI API as both engines serve it. Field names follow the OpenAI API
// reference (chat/completions, completions). The front checks the fields it
// acts on itself (model, messages or prompt, max_tokens, temperature, top_p,
// seed, stop, stream, n); every other field of the body travels on in `extra`:
// the llama-server engine forwards it (tools, tool_choice, response_format,
// grammar, logprobs, penalties...), the node-llama-cpp engine takes what
// node-llama-cpp supports and refuses the rest with a 400 naming the field.

/** A piece of a chat message that carries an image: text and images in the order sent. */
export type ChatPart = { type: 'text'; text: string } | { type: 'image'; image: ImageInput };

/** A function call the model asked for (OpenAI `tool_calls`). */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** The message's text (its text parts joined). */
  content: string;
  /** Set only when the message carries images: its text and images in order, for a vision engine. */
  parts?: ChatPart[];
  /** An assistant message's function calls, as the client sent them back. */
  toolCalls?: unknown[];
  /** A tool message: the call it answers. */
  toolCallId?: string;
}

/** The body fields the front reads itself; every other field is passed on in `extra`. */
const FRONT_FIELDS = new Set([
  'model',
  'messages',
  'prompt',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'seed',
  'stop',
  'stream',
  'stream_options',
  'n',
]);

/** A validated generation request, the same for both engines. */
export interface GenerationRequest {
  kind: 'chat' | 'completion';
  /** Set for `chat`. */
  messages?: ChatMessage[];
  /** Set for `completion`. */
  prompt?: string;
  /** Undefined means "until the context is full or the model stops". */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop: string[];
  stream: boolean;
  /** Send a final usage chunk when streaming (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** The body's other fields (tools, response_format, logprobs, penalties...), for the engine. */
  extra: Record<string, unknown>;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface GenerationResult {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: FinishReason;
  /** The function calls the model made, when it made any. */
  toolCalls?: ToolCall[];
  /** Per-token log-probabilities (chat: `logprobs.content`), when the request asked for them. */
  logprobs?: unknown[];
}

function invalid(message: string, param?: string): RuntimeError {
  return new RuntimeError('REQUEST_INVALID', message, { details: param ? { param } : {} });
}

function optionalNumber(
  body: Record<string, unknown>,
  key: string,
  check: (n: number) => boolean,
  rule: string,
): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value))
    throw invalid(`'${key}' must be ${rule}; got ${JSON.stringify(value)}.`, key);
  return value;
}

function parseStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw invalid("'stop' must be a non-empty string or an array of at most 4 of them.", 'stop');
  }
  return list as string[];
}

// `content` may be a string or an array of parts: text, and images as
// OpenAI's `image_url` parts with a data URL (checked by parseImageUrl). Any
// other part type is refused, not dropped.
function messageContent(content: unknown, index: number): Pick<ChatMessage, 'content' | 'parts'> {
  if (typeof content === 'string') return { content };
  if (!Array.isArray(content)) {
    throw invalid(
      `messages[${index}].content must be a string or an array of text and image_url parts.`,
      `messages[${index}].content`,
    );
  }
  const parts = content.map((part: unknown, at): ChatPart => {
    const param = `messages[${index}].content[${at}]`;
    const p = part as { type?: unknown; text?: unknown; image_url?: unknown };
    if (p && p.type === 'text' && typeof p.text === 'string') return { type: 'text', text: p.text };
    if (p && p.type === 'image_url') {
      const imageUrl = p.image_url as { url?: unknown } | undefined;
      return { type: 'image', image: parseImageUrl(imageUrl?.url, param) };
    }
    throw invalid(
      `${param} has type ${JSON.stringify(p?.type ?? null)}; a part is text or image_url.`,
      param,
    );
  });
  const text = parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
  return parts.some((part) => part.type === 'image') ? { content: text, parts } : { content: text };
}

/** The images of a request's messages, in order. */
export function requestImages(request: GenerationRequest): ImageInput[] {
  return (request.messages ?? []).flatMap((message) =>
    (message.parts ?? []).flatMap((part) => (part.type === 'image' ? [part.image] : [])),
  );
}

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0)
    throw invalid("'messages' must be a non-empty array.", 'messages');
  const messages = value.map((raw: unknown, index): ChatMessage => {
    const message = raw as {
      role?: unknown;
      content?: unknown;
      tool_calls?: unknown;
      tool_call_id?: unknown;
    };
    if (!message || typeof message !== 'object')
      throw invalid(`messages[${index}] must be an object.`, `messages[${index}]`);
    const role = message.role === 'developer' ? 'system' : message.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') {
      throw invalid(
        `messages[${index}].role must be system, developer, user, assistant or tool; got ${JSON.stringify(message.role)}.`,
        `messages[${index}].role`,
      );
    }
    if (role === 'assistant' && message.tool_calls !== undefined && message.tool_calls !== null) {
      if (!Array.isArray(message.tool_calls))
        throw invalid(`messages[${index}].tool_calls must be an array.`, `messages[${index}].tool_calls`);
      // An assistant message that only calls functions has no content.
      const content = message.content === null || message.content === undefined ? '' : message.content;
      return { role, ...messageContent(content, index), toolCalls: message.tool_calls as unknown[] };
    }
    if (role === 'tool') {
      if (typeof message.tool_call_id !== 'string' || !message.tool_call_id)
        throw invalid(
          `messages[${index}] is a tool message without a tool_call_id.`,
          `messages[${index}].tool_call_id`,
        );
      return { role, ...messageContent(message.content, index), toolCallId: message.tool_call_id };
    }
    return { role, ...messageContent(message.content, index) };
  });
  const images = messages.reduce(
    (sum, message) => sum + (message.parts?.filter((p) => p.type === 'image').length ?? 0),
    0,
  );
  if (images > MAX_IMAGES_PER_REQUEST) {
    throw invalid(
      `The messages carry ${images} images; a request may carry at most ${MAX_IMAGES_PER_REQUEST}.`,
      'messages',
    );
  }
  return messages;
}

/** A request body as an object, with its `model` (optional) one this server serves. */
function requestRecord(body: unknown, modelIds: readonly string[]): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw invalid('The request body must be a JSON object.');
  const record = body as Record<string, unknown>;
  if (record.model !== undefined && (typeof record.model !== 'string' || !modelIds.includes(record.model))) {
    throw new RuntimeError(
      'MODEL_NOT_FOUND',
      `The model ${JSON.stringify(record.model)} does not exist; this server serves ${modelIds.map((id) => JSON.stringify(id)).join(', ')}.`,
      { details: { param: 'model' } },
    );
  }
  return record;
}

/**
 * Checks a parsed request body for /v1/chat/completions or /v1/completions
 * and returns the engine-neutral request, or throws a RuntimeError whose code
 * httpStatusFor maps to a 4xx.
 *
 * @example
 * const request = parseGenerationRequest('chat', { model: 'tiny', messages: [{ role: 'user', content: 'Hi' }] }, ['tiny']);
 */
export function parseGenerationRequest(
  kind: 'chat' | 'completion',
  body: unknown,
  modelIds: readonly string[],
): GenerationRequest {
  const record = requestRecord(body, modelIds);
  // max_completion_tokens is the newer name of max_tokens in the chat API.
  const maxKey =
    record.max_completion_tokens !== undefined && record.max_completion_tokens !== null
      ? 'max_completion_tokens'
      : 'max_tokens';
  const maxTokens = optionalNumber(
    record,
    maxKey,
    (n) => Number.isInteger(n) && n >= 1,
    'a positive integer',
  );
  const temperature = optionalNumber(record, 'temperature', (n) => n >= 0 && n <= 2, 'a number from 0 to 2');
  const topP = optionalNumber(record, 'top_p', (n) => n > 0 && n <= 1, 'a number above 0 and at most 1');
  const seed = optionalNumber(record, 'seed', (n) => Number.isInteger(n), 'an integer');
  optionalNumber(record, 'n', (v) => v === 1, '1 (one choice per request is supported)');
  if (record.stream !== undefined && record.stream !== null && typeof record.stream !== 'boolean')
    throw invalid("'stream' must be a boolean.", 'stream');
  const options = record.stream_options as { include_usage?: unknown } | undefined | null;
  const common = {
    maxTokens,
    temperature,
    topP,
    seed,
    stop: parseStop(record.stop),
    stream: record.stream === true,
    includeUsage: Boolean(options && options.include_usage === true),
    extra: Object.fromEntries(Object.entries(record).filter(([key]) => !FRONT_FIELDS.has(key))),
  };
  if (kind === 'chat') return { kind, messages: parseMessages(record.messages), ...common };
  let prompt = record.prompt;
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (typeof prompt !== 'string')
    throw invalid("'prompt' must be a string (one prompt per request is supported).", 'prompt');
  return { kind, prompt, ...common };
}

/** A validated /v1/embeddings request. */
export interface EmbeddingRequest {
  input: string[];
  encodingFormat: 'float' | 'base64';
}

/** The most texts one /v1/embeddings request may carry (OpenAI's limit). */
export const MAX_EMBEDDING_INPUTS = 2048;

/**
 * Checks a /v1/embeddings body: `input` a non-empty string or an array of them
 * (token arrays are not taken), `encoding_format` float or base64.
 *
 * @example
 * parseEmbeddingRequest({ input: ['hello', 'world'] }, ['tiny']);
 */
export function parseEmbeddingRequest(body: unknown, modelIds: readonly string[]): EmbeddingRequest {
  const record = requestRecord(body, modelIds);
  const input = typeof record.input === 'string' ? [record.input] : record.input;
  if (
    !Array.isArray(input) ||
    input.length === 0 ||
    input.length > MAX_EMBEDDING_INPUTS ||
    !input.every((text) => typeof text === 'string' && text.length > 0)
  )
    throw invalid(
      `'input' must be a non-empty string or an array of 1 to ${MAX_EMBEDDING_INPUTS} of them.`,
      'input',
    );
  const format = record.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64')
    throw invalid("'encoding_format' must be float or base64.", 'encoding_format');
  return { input: input as string[], encodingFormat: format };
}

const STATUS: Partial<Record<RuntimeErrorCode, number>> = {
  REQUEST_INVALID: 400,
  CONTEXT_EXCEEDED: 400,
  UNAUTHORIZED: 401,
  MODEL_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SHUTTING_DOWN: 503,
  UPSTREAM_FAILED: 502,
};

// The OpenAI error `type` and `code` strings clients switch on.
const OPENAI_CODE: Partial<Record<RuntimeErrorCode, string>> = {
  MODEL_NOT_FOUND: 'model_not_found',
  CONTEXT_EXCEEDED: 'context_length_exceeded',
  BODY_TOO_LARGE: 'request_too_large',
  UNAUTHORIZED: 'invalid_api_key',
};

/** The HTTP status for an error thrown while serving a request. */
export function httpStatusFor(error: unknown): number {
  return error instanceof RuntimeError ? (STATUS[error.code] ?? 500) : 500;
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * The OpenAI-style error body for an error: `{ error: { message, type, param, code } }`.
 * Internal errors keep their message out of the body; the server logs them.
 */
export function openAiErrorBody(error: unknown): OpenAiErrorBody {
  const status = httpStatusFor(error);
  if (!(error instanceof RuntimeError) || status >= 500) {
    const message =
      error instanceof RuntimeError ? error.message : 'The server failed while generating; see its log.';
    return {
      error: {
        message,
        type: status === 503 ? 'unavailable_error' : 'server_error',
        param: null,
        code: error instanceof RuntimeError ? error.code.toLowerCase() : null,
      },
    };
  }
  const type =
    status === 404 && error.code === 'MODEL_NOT_FOUND'
      ? 'invalid_request_error'
      : status === 404
        ? 'not_found_error'
        : 'invalid_request_error';
  const param = typeof error.details.param === 'string' ? error.details.param : null;
  return {
    error: { message: error.message, type, param, code: OPENAI_CODE[error.code] ?? error.code.toLowerCase() },
  };
}
