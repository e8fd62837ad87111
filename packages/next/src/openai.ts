/**
 * The OpenAI chat-completions wire format: request validation (errors in
 * OpenAI's shape, with the parameter they concern) and the response and
 * stream-chunk bodies.
 *
 * @module
 */

import type { ChatMessage, FinishReason, GenerateOptions, GenerationResult } from '@hearth/runner';

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: 'invalid_request_error' | 'not_found_error' | 'server_error';
    param: string | null;
    code: string | null;
  };
}

/** A request the route refuses: an HTTP status and an OpenAI error body. */
export class ChatRequestError extends Error {
  override name = 'ChatRequestError';
  /** `invalid_request_error` (400), `not_found_error` (404) or `server_error` (500). */
  readonly status: number;
  /** The request parameter at fault, e.g. `messages[1].role`. */
  readonly param: string | null;
  /** Stable code: `invalid_json`, `missing_required_parameter`, `invalid_type`, `invalid_value`, `unsupported_parameter`, `model_not_found`, or a Hearth engine code. */
  readonly code: string;

  /** A refused request (status 400 unless given). */
  constructor(code: string, message: string, param: string | null = null, status = 400) {
    super(message);
    this.code = code;
    this.param = param;
    this.status = status;
  }

  /** The response body. */
  body(): OpenAIErrorBody {
    const type =
      this.status === 404
        ? 'not_found_error'
        : this.status >= 500
          ? 'server_error'
          : 'invalid_request_error';
    return { error: { message: this.message, type, param: this.param, code: this.code } };
  }
}

/** A validated chat-completions request, in `@hearth/runner` terms. */
export interface ParsedChatRequest {
  /** The `model` the client asked for (absent: the route's model). */
  model: string | undefined;
  messages: ChatMessage[];
  stream: boolean;
  /** `stream_options.include_usage`: a last chunk with `usage` before `[DONE]`. */
  includeUsage: boolean;
  /** Sampling and stopping options (no `signal`). */
  options: GenerateOptions;
}

/** Parameters that ask for something a local text model here cannot do. */
const UNSUPPORTED = [
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'audio',
  'prediction',
  'web_search_options',
];

const ROLES = new Set(['system', 'developer', 'user', 'assistant']);

function typeError(param: string, expected: string): ChatRequestError {
  return new ChatRequestError('invalid_type', `${param} must be ${expected}`, param);
}

function valueError(param: string, value: unknown, expected: string): ChatRequestError {
  return new ChatRequestError(
    'invalid_value',
    `${param} must be ${expected}, got ${JSON.stringify(value)}`,
    param,
  );
}

/** A number parameter within [min, max] (`open`: min excluded), or undefined when absent. */
function numberParam(
  body: Record<string, unknown>,
  param: string,
  min: number,
  max: number,
  open = false,
): number | undefined {
  const v = body[param];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(param, 'a number');
  if ((open ? v <= min : v < min) || v > max) {
    throw valueError(param, v, `in ${open ? '(' : '['}${min}, ${max}]`);
  }
  return v;
}

function integerParam(
  body: Record<string, unknown>,
  param: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const v = body[param];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw typeError(param, 'an integer');
  if (v < min || v > max) throw valueError(param, v, `an integer in [${min}, ${max}]`);
  return v;
}

function content(value: unknown, param: string): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) throw typeError(param, 'a string or an array of text parts');
  return value
    .map((part: unknown, i) => {
      const p = part as { type?: unknown; text?: unknown } | null;
      if (typeof p !== 'object' || p === null) throw typeError(`${param}[${i}]`, 'an object');
      if (p.type !== 'text') {
        throw new ChatRequestError(
          'unsupported_parameter',
          `${param}[${i}].type ${JSON.stringify(p.type)} is not supported: this model reads text parts only`,
          `${param}[${i}].type`,
        );
      }
      if (typeof p.text !== 'string') throw typeError(`${param}[${i}].text`, 'a string');
      return p.text;
    })
    .join('');
}

function messages(value: unknown): ChatMessage[] {
  if (value === undefined) {
    throw new ChatRequestError(
      'missing_required_parameter',
      'messages is required: an array of { role, content }',
      'messages',
    );
  }
  if (!Array.isArray(value)) throw typeError('messages', 'an array of { role, content }');
  if (value.length === 0) throw valueError('messages', value, 'a non-empty array');
  return value.map((m: unknown, i) => {
    const param = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      throw typeError(param, 'an object { role, content }');
    }
    const { role, content: text, tool_calls } = m as Record<string, unknown>;
    if (typeof role !== 'string') throw typeError(`${param}.role`, 'a string');
    if (!ROLES.has(role)) {
      throw valueError(`${param}.role`, role, `one of ${[...ROLES].join(', ')}`);
    }
    if (tool_calls !== undefined) {
      throw new ChatRequestError(
        'unsupported_parameter',
        `${param}.tool_calls is not supported`,
        `${param}.tool_calls`,
      );
    }
    if (text === undefined || text === null) {
      throw new ChatRequestError(
        'missing_required_parameter',
        `${param}.content is required`,
        `${param}.content`,
      );
    }
    // `developer` is OpenAI's newer name for `system`; chat templates know `system`.
    return {
      role: role === 'developer' ? 'system' : role,
      content: content(text, `${param}.content`),
    };
  });
}

/** How the route limits and fills in requests. */
export interface RequestLimits {
  /** `max_tokens` when the request sets none. */
  defaultMaxTokens: number;
  /** The largest `max_tokens` / `max_completion_tokens` accepted. */
  maxTokensLimit: number;
}

/**
 * Validates a parsed JSON body of `POST /chat/completions`.
 *
 * @throws {ChatRequestError} with the parameter at fault.
 */
export function parseChatRequest(body: unknown, limits: RequestLimits): ParsedChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ChatRequestError('invalid_type', 'the request body must be a JSON object', null);
  }
  const b = body as Record<string, unknown>;
  for (const param of UNSUPPORTED) {
    if (b[param] !== undefined && b[param] !== null) {
      throw new ChatRequestError('unsupported_parameter', `${param} is not supported`, param);
    }
  }
  if (b.model !== undefined && typeof b.model !== 'string') throw typeError('model', 'a string');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
    throw typeError('stream', 'a boolean');
  }
  // One choice per request: `n` may only be 1.
  integerParam(b, 'n', 1, 1);
  if (b.logprobs === true) {
    throw new ChatRequestError('unsupported_parameter', 'logprobs is not supported', 'logprobs');
  }
  const format = b.response_format as { type?: unknown } | undefined | null;
  if (format !== undefined && format !== null && format.type !== 'text') {
    throw new ChatRequestError(
      'unsupported_parameter',
      `response_format ${JSON.stringify(format.type)} is not supported (only "text")`,
      'response_format',
    );
  }

  const options: GenerateOptions = {};
  const maxTokens =
    integerParam(b, 'max_completion_tokens', 1, limits.maxTokensLimit) ??
    integerParam(b, 'max_tokens', 1, limits.maxTokensLimit);
  options.maxTokens = maxTokens ?? limits.defaultMaxTokens;
  const set = <K extends keyof GenerateOptions>(key: K, value: GenerateOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('temperature', numberParam(b, 'temperature', 0, 2));
  set('topP', numberParam(b, 'top_p', 0, 1, true));
  set('presencePenalty', numberParam(b, 'presence_penalty', -2, 2));
  set('frequencyPenalty', numberParam(b, 'frequency_penalty', -2, 2));
  set('seed', integerParam(b, 'seed', 0));
  // Extensions that llama.cpp's server accepts too.
  set('topK', integerParam(b, 'top_k', 0));
  set('minP', numberParam(b, 'min_p', 0, 1));
  set('repeatPenalty', numberParam(b, 'repeat_penalty', 0, Number.MAX_VALUE, true));

  const stop = b.stop;
  if (stop !== undefined && stop !== null) {
    const list = typeof stop === 'string' ? [stop] : stop;
    if (
      !Array.isArray(list) ||
      list.length > 4 ||
      !list.every((s) => typeof s === 'string' && s !== '')
    ) {
      throw valueError('stop', stop, 'a non-empty string or an array of up to 4 of them');
    }
    options.stop = list as string[];
  }

  const bias = b.logit_bias;
  if (bias !== undefined && bias !== null) {
    if (typeof bias !== 'object' || Array.isArray(bias)) {
      throw typeError('logit_bias', 'an object of token id → bias');
    }
    options.logitBias = Object.entries(bias as Record<string, unknown>).map(([id, v]) => {
      const token = Number(id);
      if (!/^\d+$/.test(id) || !Number.isSafeInteger(token)) {
        throw valueError('logit_bias', id, 'token ids (integers >= 0) as keys');
      }
      if (typeof v !== 'number' || v < -100 || v > 100) {
        throw valueError(`logit_bias.${id}`, v, 'a number in [-100, 100]');
      }
      return [token, v] as [number, number];
    });
  }

  const streamOptions = b.stream_options as { include_usage?: unknown } | undefined | null;
  return {
    model: b.model as string | undefined,
    messages: messages(b.messages),
    stream: b.stream === true,
    includeUsage: streamOptions?.include_usage === true,
    options,
  };
}

/** OpenAI's `finish_reason` for a runner's. */
export function finishReason(reason: FinishReason): 'stop' | 'length' {
  return reason === 'length' || reason === 'context_full' ? 'length' : 'stop';
}

/** `usage` of a finished generation. */
export function usage(result: GenerationResult): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
} {
  const prompt = result.promptTokens.length;
  const completion = result.tokens.length;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

/** What every body of one completion shares. */
export interface CompletionHead {
  id: string;
  created: number;
  model: string;
}

/** A `chat.completion` (the non-streaming response). */
export function completionBody(head: CompletionHead, result: GenerationResult) {
  return {
    ...head,
    object: 'chat.completion' as const,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: result.text, refusal: null },
        logprobs: null,
        finish_reason: finishReason(result.finishReason),
      },
    ],
    usage: usage(result),
  };
}

/** A `chat.completion.chunk` (one SSE event of a stream). */
export function chunkBody(
  head: CompletionHead,
  delta: { role?: 'assistant'; content?: string },
  finish: 'stop' | 'length' | null = null,
) {
  return {
    ...head,
    object: 'chat.completion.chunk' as const,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}
