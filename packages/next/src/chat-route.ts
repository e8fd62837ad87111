/**
 * `createChatRoute`: App Router handlers that answer the OpenAI
 * chat-completions API (`POST …/chat/completions`, streaming over SSE or one
 * JSON body; `GET …/models`) from a local model.
 *
 * @module
 */

import type { GenerateOptions, Generation, LlamaRunner, TokenChunk } from '@hearth/runner';
import { type SharedModelOptions, type SharedModelSource, sharedModel } from './model.js';
import {
  ChatRequestError,
  type CompletionHead,
  chunkBody,
  completionBody,
  finishReason,
  parseChatRequest,
  usage,
} from './openai.js';
import { assertNodeRuntime } from './runtime.js';

/** Options of {@link createChatRoute}. */
export interface ChatRouteOptions {
  /**
   * The model: a GGUF file path or URL, loaded on the first request and shared
   * by every route and hot reload of the process ({@link sharedModel}); or a
   * function returning a runner you manage.
   */
  model: SharedModelSource | (() => Promise<LlamaRunner>);
  /** `LlamaRunner.load` options (`backend`, `contextLength` …) for a `model` path or URL. */
  loadOptions?: SharedModelOptions;
  /**
   * The model's name in responses and `GET /models`; requests naming another
   * model get a 404 `model_not_found`. Default: the file name without `.gguf`.
   */
  modelId?: string;
  /** Sampling defaults, under what each request sets (e.g. `{ temperature: 0.7 }`). */
  defaults?: Omit<GenerateOptions, 'signal' | 'maxTokens'>;
  /** `max_tokens` for requests that set none (default 512). */
  defaultMaxTokens?: number;
  /** The largest `max_tokens` a request may ask for (default 4096); more is a 400. */
  maxTokensLimit?: number;
}

/** The route's handlers: export them from `route.ts`. */
export interface ChatRoute {
  /** Chat completions: `stream: true` answers with SSE chunks ending in `data: [DONE]`. */
  POST(request: Request): Promise<Response>;
  /** At a path ending in `/models`: the model list (`{ object: 'list', data: [{ id, object: 'model', … }] }`), once the model is loaded; elsewhere 404. */
  GET(request: Request): Promise<Response>;
}

/** Engine error codes that the request caused (a 400, not a 500). */
const CLIENT_ERRORS = new Set([
  'INVALID_OPTION',
  'INVALID_SAMPLING_OPTION',
  'HEARTH_INVALID_ARGUMENT',
  'PROMPT_TOO_LONG',
  'TEMPLATE_ERROR',
]);

/** An OpenAI error response for anything thrown while answering. */
function errorResponse(e: unknown): Response {
  const error =
    e instanceof ChatRequestError
      ? e
      : new ChatRequestError(
          typeof (e as { code?: unknown })?.code === 'string'
            ? (e as { code: string }).code
            : 'HEARTH_INTERNAL',
          e instanceof Error ? e.message : String(e),
          null,
          CLIENT_ERRORS.has((e as { code?: string })?.code ?? '') ? 400 : 500,
        );
  return Response.json(error.body(), { status: error.status });
}

function defaultModelId(model: ChatRouteOptions['model']): string {
  const label =
    typeof model === 'string' || model instanceof URL
      ? String(model)
      : typeof model === 'object' && model !== null && 'url' in model
        ? String(model.url)
        : undefined;
  // The file name, without `.gguf` (no node:path: on Edge, this module must load to say it cannot run).
  const file = (label?.split(/[?#]/)[0] ?? '').split(/[\\/]/).pop();
  return file ? file.replace(/\.gguf$/i, '') : 'hearth';
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  // Proxies (nginx) must pass each token on at once.
  'X-Accel-Buffering': 'no',
};

/**
 * Route handlers answering the OpenAI chat-completions API from a local
 * model, for the App Router on the Node.js runtime. A client that disconnects
 * (`request.signal`) stops its generation; requests to one model run one after
 * another. Errors before the first token are HTTP errors in OpenAI's shape
 * (`{ error: { message, type, param, code } }`); later ones end the stream with
 * such an `error` event.
 *
 * ```ts
 * // app/api/v1/[...openai]/route.ts
 * export const runtime = 'nodejs';
 * export const { GET, POST } = createChatRoute({ model: '/models/SmolLM2-135M-Instruct.Q4_1.gguf' });
 * ```
 *
 * @throws {Error} on the Edge runtime.
 */
export function createChatRoute(options: ChatRouteOptions): ChatRoute {
  assertNodeRuntime();
  const { model, loadOptions = {}, defaults = {} } = options;
  const modelId = options.modelId ?? defaultModelId(model);
  const maxTokensLimit = options.maxTokensLimit ?? 4096;
  const limits = {
    maxTokensLimit,
    defaultMaxTokens: Math.min(options.defaultMaxTokens ?? 512, maxTokensLimit),
  };
  const runner = (): Promise<LlamaRunner> =>
    typeof model === 'function' ? model() : sharedModel(model, loadOptions);

  async function POST(request: Request): Promise<Response> {
    try {
      assertNodeRuntime();
      let body: unknown;
      try {
        body = await request.json();
      } catch (e) {
        throw new ChatRequestError(
          'invalid_json',
          `the request body is not valid JSON: ${(e as Error).message}`,
        );
      }
      const parsed = parseChatRequest(body, limits);
      if (parsed.model !== undefined && parsed.model !== modelId) {
        throw new ChatRequestError(
          'model_not_found',
          `the model ${JSON.stringify(parsed.model)} does not exist here; this route serves ${JSON.stringify(modelId)}`,
          'model',
          404,
        );
      }
      const loaded = await runner();
      // The stream's own cancel (the response body dropped) and the client's disconnect both stop the model.
      const cancel = new AbortController();
      const signal = AbortSignal.any([request.signal, cancel.signal]);
      const generation = loaded.chat(parsed.messages, { ...defaults, ...parsed.options, signal });
      const head: CompletionHead = {
        id: `chatcmpl-${crypto.randomUUID()}`,
        created: Math.floor(Date.now() / 1000),
        model: modelId,
      };
      if (!parsed.stream) {
        return Response.json(completionBody(head, await generation.result));
      }
      return await streamResponse(generation, head, parsed.includeUsage, cancel);
    } catch (e) {
      return errorResponse(e);
    }
  }

  async function GET(request: Request): Promise<Response> {
    try {
      assertNodeRuntime();
      const path = new URL(request.url).pathname;
      if (!path.endsWith('/models')) {
        throw new ChatRequestError('not_found', `no such endpoint: GET ${path}`, null, 404);
      }
      await runner();
      return Response.json({
        object: 'list',
        data: [{ id: modelId, object: 'model', created: 0, owned_by: 'hearth' }],
      });
    } catch (e) {
      return errorResponse(e);
    }
  }

  return { POST, GET };
}

/**
 * The SSE response: waits for the first token (so that errors before it are
 * HTTP errors), then streams `chat.completion.chunk`s and `[DONE]`.
 */
async function streamResponse(
  generation: Generation,
  head: CompletionHead,
  includeUsage: boolean,
  cancel: AbortController,
): Promise<Response> {
  const chunks = generation[Symbol.asyncIterator]();
  const first = await chunks.next();
  const encoder = new TextEncoder();
  const event = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);
  const deltas = async function* (): AsyncGenerator<Uint8Array> {
    yield event(chunkBody(head, { role: 'assistant', content: '' }));
    let step: IteratorResult<TokenChunk> = first;
    while (!step.done) {
      if (step.value.text !== '') yield event(chunkBody(head, { content: step.value.text }));
      step = await chunks.next();
    }
    const result = await generation.result;
    // Cancelled: the client went away (or dropped the body); nothing is left to say.
    if (result.finishReason === 'cancelled') return;
    yield event(chunkBody(head, {}, finishReason(result.finishReason)));
    if (includeUsage)
      yield event({ ...head, object: 'chat.completion.chunk', choices: [], usage: usage(result) });
    yield encoder.encode('data: [DONE]\n\n');
  };
  const source = deltas();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await source.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (e) {
        // Headers are sent: the error becomes the stream's last event (the openai client throws it).
        const code = (e as { code?: unknown })?.code;
        controller.enqueue(
          event({
            error: {
              message: e instanceof Error ? e.message : String(e),
              type: 'server_error',
              param: null,
              code: typeof code === 'string' ? code : 'HEARTH_INTERNAL',
            },
          }),
        );
        controller.close();
      }
    },
    cancel() {
      cancel.abort();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}
