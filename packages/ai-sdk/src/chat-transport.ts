/**
 * `HearthChatTransport`: a `ChatTransport` that answers `useChat` (from
 * `@ai-sdk/react`, `@ai-sdk/vue` …) in the page itself, on a Hearth model,
 * instead of posting to a server route.
 */

import type { LlamaRunner, LoadOptions, LoadProgress, ModelSourceInput } from '@hearth/runner';
import {
  type ChatRequestOptions,
  type ChatTransport,
  convertToModelMessages,
  createUIMessageStream,
  streamText,
  type UIMessage,
  type UIMessageChunk,
} from 'ai';
import { HearthLanguageModel, type HearthLanguageModelOptions } from './language-model.js';
import { getUnlessAborted, LazyModel, type Loadable } from './loader.js';
import { loadRunner } from './provider.js';

/** The data of a `data-hearth-progress` part: the runner's load progress. */
export interface HearthProgressData {
  /** `download` (bytes from the network), `cache-read`, `verify`, `parse`, `init`. */
  stage: LoadProgress['stage'];
  /** Bytes (or units) done in this stage. */
  loaded: number;
  /** The stage's total, when known. */
  total: number | undefined;
}

/** The data parts the transport writes (`data-hearth-progress`). */
export type HearthDataTypes = { 'hearth-progress': HearthProgressData };

/** A `UIMessage` whose data parts are Hearth's: `useChat<HearthUIMessage>({ transport })`. */
export type HearthUIMessage = UIMessage<unknown, HearthDataTypes>;

/** The id of the one progress data part of a response (so each update replaces it). */
export const PROGRESS_PART_ID = 'hearth-load';

/** Progress updates are written at most this often (ms), plus every stage change. */
const PROGRESS_MS = 50;

/**
 * AI SDK call settings the transport passes to `streamText`: set them in the
 * constructor, or per message with `sendMessage(message, { body: { … } })`.
 */
export interface HearthCallSettings {
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stopSequences?: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** A system prompt put before the conversation. */
  system?: string;
  /** Runner options without an AI SDK setting (`minP`, `repeatPenalty`, `ignoreEos` …). */
  hearth?: HearthLanguageModelOptions;
}

/** Options of {@link HearthChatTransport}: a loaded `runner`, or a `model` source to load. */
export type HearthChatTransportOptions = (
  | { runner: Loadable<LlamaRunner>; model?: undefined }
  | { model: ModelSourceInput; runner?: undefined }
) & {
  /** Options of the model load (`cache`, `contextLength`, `onProgress` …). */
  loadOptions?: LoadOptions;
  /** Settings of every answer (a message's `body` overrides them). */
  settings?: HearthCallSettings;
  /** The model id reported in results (default `hearth`). */
  modelId?: string;
};

const SETTING_KEYS = [
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'seed',
  'stopSequences',
  'presencePenalty',
  'frequencyPenalty',
  'system',
  'hearth',
] as const;

/** The known settings of a request body (other body fields are the app's own and ignored). */
function settingsOf(body: object | undefined): HearthCallSettings {
  const out: Record<string, unknown> = {};
  if (body === undefined) return out;
  for (const key of SETTING_KEYS) {
    const value = (body as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Runs `useChat` on a Hearth model in the browser: `sendMessages` streams the
 * answer as UI message chunks (`start`, `start-step`, `text-start`,
 * `text-delta`s, `text-end`, `finish-step`, `finish`), produced by `streamText`
 * on a {@link HearthLanguageModel}.
 *
 * The model loads on the first message (or on {@link preload}); while it
 * loads, the answer gets one data part `{ type: 'data-hearth-progress', id:
 * 'hearth-load', data: { stage, loaded, total } }`, updated in place. `stop()`
 * aborts the generation between two tokens (or the wait for the load; the load
 * itself goes on, for the next message). Errors (a bad URL: `HTTP_404 …`) reach
 * `useChat`'s `error` with the runner's message and code.
 */
export class HearthChatTransport<UI_MESSAGE extends UIMessage = HearthUIMessage>
  implements ChatTransport<UI_MESSAGE>
{
  #runner: LazyModel<LlamaRunner>;
  #settings: HearthCallSettings;
  #modelId: string;

  constructor(options: HearthChatTransportOptions) {
    this.#runner =
      options.runner !== undefined
        ? LazyModel.of(options.runner)
        : loadRunner(options.model, options.loadOptions);
    this.#settings = options.settings ?? {};
    this.#modelId = options.modelId ?? 'hearth';
  }

  /** Starts loading the model now (progress goes to `loadOptions.onProgress`); resolves when ready. */
  preload(): Promise<LlamaRunner> {
    return this.#runner.get();
  }

  /** The loaded runner, if the model is loaded. */
  get runner(): LlamaRunner | undefined {
    return this.#runner.loaded;
  }

  async sendMessages(
    options: {
      trigger: 'submit-message' | 'regenerate-message';
      chatId: string;
      messageId: string | undefined;
      messages: UI_MESSAGE[];
      abortSignal: AbortSignal | undefined;
    } & ChatRequestOptions,
  ): Promise<ReadableStream<UIMessageChunk>> {
    const { messages, abortSignal } = options;
    const { hearth, system, ...settings } = { ...this.#settings, ...settingsOf(options.body) };
    const runnerLoader = this.#runner;
    const modelId = this.#modelId;
    const stream = createUIMessageStream<HearthUIMessage>({
      execute: async ({ writer }) => {
        writer.write({ type: 'start' });
        let runner = runnerLoader.loaded;
        if (runner === undefined) {
          let last = 0;
          let stage: string | undefined;
          let pending: LoadProgress | undefined;
          const write = (p: LoadProgress) => {
            writer.write({
              type: 'data-hearth-progress',
              id: PROGRESS_PART_ID,
              data: { stage: p.stage, loaded: p.loaded, total: p.total },
            });
          };
          const onProgress = (p: LoadProgress) => {
            if (abortSignal?.aborted) return;
            const now = Date.now();
            if (p.stage !== stage || now - last >= PROGRESS_MS) {
              stage = p.stage;
              last = now;
              pending = undefined;
              write(p);
            } else {
              pending = p;
            }
          };
          try {
            runner = await getUnlessAborted(runnerLoader, abortSignal, onProgress);
          } catch (e) {
            if (abortSignal?.aborted) return;
            throw e;
          }
          if (pending !== undefined) write(pending);
        }
        const model = new HearthLanguageModel(modelId, LazyModel.of(runner), hearth);
        const result = streamText({
          model,
          ...(system !== undefined ? { system } : {}),
          messages: await convertToModelMessages(messages),
          ...settings,
          ...(abortSignal !== undefined ? { abortSignal } : {}),
          // A local model does not fail transiently: no retries.
          maxRetries: 0,
        });
        writer.merge(result.toUIMessageStream({ sendStart: false, onError: errorText }));
      },
      onError: errorText,
    });
    return stream as ReadableStream<UIMessageChunk>;
  }

  /** Nothing runs after a page reload: there is no stream to resume. */
  async reconnectToStream(): Promise<ReadableStream<UIMessageChunk> | null> {
    return null;
  }
}

/** The message `useChat` shows for an error: the runner's (with its code), not a masked one. */
function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}
