/**
 * `@hearth/next/client`: calls a chat route made by `createChatRoute` (or any
 * OpenAI-compatible `/chat/completions` endpoint) from the browser, without
 * the `openai` package.
 *
 * @module
 */

/** A chat message as the route takes it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

/** Options of {@link streamChat} and {@link completeChat}. */
export interface ChatRequestOptions {
  /** Aborts the request; the server stops generating. */
  signal?: AbortSignal;
  /** Extra body parameters: `model`, `max_tokens`, `temperature`, `top_p`, `seed`, `stop` … */
  body?: Record<string, unknown>;
  /** Extra request headers (e.g. an `Authorization` your route checks). */
  headers?: Record<string, string>;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
}

/** An error answer of the route: the HTTP status and OpenAI's `error` fields. */
export class ChatResponseError extends Error {
  override name = 'ChatResponseError';
  /** The HTTP status (200 for an error event inside a stream). */
  readonly status: number;
  /** The error's stable `code`, e.g. `invalid_value`, `model_not_found`, `PROMPT_TOO_LONG`. */
  readonly code: string | null;
  /** The request parameter at fault, when one is. */
  readonly param: string | null;

  /** An error answer (`status`, and OpenAI's `error` object). */
  constructor(
    status: number,
    error: { message?: unknown; code?: unknown; param?: unknown } | undefined,
  ) {
    super(typeof error?.message === 'string' ? error.message : `the chat route answered ${status}`);
    this.status = status;
    this.code = typeof error?.code === 'string' ? error.code : null;
    this.param = typeof error?.param === 'string' ? error.param : null;
  }
}

async function post(
  url: string | URL,
  messages: ChatMessage[],
  stream: boolean,
  options: ChatRequestOptions,
): Promise<Response> {
  const response = await (options.fetch ?? fetch)(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: stream ? 'text/event-stream' : 'application/json',
      ...options.headers,
    },
    body: JSON.stringify({ ...options.body, messages, stream }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as
      | { error?: Record<string, unknown> }
      | undefined;
    throw new ChatResponseError(response.status, body?.error);
  }
  return response;
}

/** The `data:` payloads of a server-sent event stream. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  // (DOM's TextDecoderStream types take BufferSource, not just Uint8Array.)
  const decoder = new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>;
  const reader = body.pipeThrough(decoder).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // Events end with a blank line (LF or CRLF).
      for (let end = buffer.search(/\r?\n\r?\n/); end >= 0; end = buffer.search(/\r?\n\r?\n/)) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const data = block
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''));
        if (data.length > 0) yield data.join('\n');
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Streams the answer to `messages` from the chat route at `url` (its
 * `/chat/completions` endpoint), as text deltas. Abort `signal` to stop the
 * generation on the server.
 *
 * ```ts
 * for await (const delta of streamChat('/api/v1/chat/completions', messages, { signal })) text += delta;
 * ```
 *
 * @throws {ChatResponseError} for an error answer or an error event in the stream.
 */
export async function* streamChat(
  url: string | URL,
  messages: ChatMessage[],
  options: ChatRequestOptions = {},
): AsyncGenerator<string, void, undefined> {
  const response = await post(url, messages, true, options);
  if (!response.body) throw new ChatResponseError(response.status, { message: 'no response body' });
  for await (const data of sseData(response.body)) {
    if (data === '[DONE]') return;
    const event = JSON.parse(data) as {
      error?: Record<string, unknown>;
      choices?: { delta?: { content?: string | null } }[];
    };
    if (event.error) throw new ChatResponseError(response.status, event.error);
    const text = event.choices?.[0]?.delta?.content;
    if (text) yield text;
  }
  throw new ChatResponseError(response.status, {
    message: 'the stream ended before [DONE]',
    code: 'stream_incomplete',
  });
}

/** The answer of {@link completeChat}. */
export interface ChatAnswer {
  text: string;
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/**
 * Asks the chat route at `url` for the whole answer to `messages` at once.
 *
 * @throws {ChatResponseError} for an error answer.
 */
export async function completeChat(
  url: string | URL,
  messages: ChatMessage[],
  options: ChatRequestOptions = {},
): Promise<ChatAnswer> {
  const response = await post(url, messages, false, options);
  const body = (await response.json()) as {
    choices: { message: { content: string }; finish_reason: string }[];
    usage: ChatAnswer['usage'];
  };
  const choice = body.choices[0];
  return {
    text: choice?.message.content ?? '',
    finishReason: choice?.finish_reason ?? 'stop',
    usage: body.usage,
  };
}
