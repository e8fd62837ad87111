/**
 * `HearthLanguageModel`: a `LanguageModelV4` (the spec of `ai` 7) over a
 * `LlamaRunner`'s `chat`, so `generateText` and `streamText` run on a local model.
 */

import type {
  JSONObject,
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4FinishReason,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
  LanguageModelV4Usage,
  SharedV4Warning,
} from '@ai-sdk/provider';
import type { GenerateOptions, GenerationResult, LlamaRunner } from '@hearth/runner';
import { getUnlessAborted, type LazyModel } from './loader.js';
import { toChatMessages } from './prompt.js';

/**
 * Runner options without an AI SDK call setting of their own, passed as
 * `providerOptions: { hearth: { … } }` (or as the model's defaults).
 */
export interface HearthLanguageModelOptions {
  /** Drop tokens less likely than `minP` × the best one, in [0, 1] (runner default 0.05). */
  minP?: number;
  /** > 0; 1 disables (runner default 1). */
  repeatPenalty?: number;
  /** How many recent tokens the penalties look at (runner default 64). */
  penaltyLastN?: number;
  /** Keep going past end-of-generation tokens. */
  ignoreEos?: boolean;
  /** Added to the logits of the given token ids (`-Infinity` bans a token). */
  logitBias?: Record<number, number>;
}

const RUNNER_OPTION_KEYS = [
  'minP',
  'repeatPenalty',
  'penaltyLastN',
  'ignoreEos',
  'logitBias',
] as const satisfies readonly (keyof HearthLanguageModelOptions)[];

/** The provider name the AI SDK reports, and the `providerOptions` / `providerMetadata` key. */
export const PROVIDER = 'hearth';

/** The AI SDK's unified finish reason of a runner finish reason. */
function finishReason(reason: GenerationResult['finishReason']): LanguageModelV4FinishReason {
  switch (reason) {
    case 'stop':
      return { unified: 'stop', raw: reason };
    case 'length':
    case 'context_full':
      return { unified: 'length', raw: reason };
    case 'cancelled':
      return { unified: 'other', raw: reason };
  }
}

/** Token counts of a result: the reused KV-cache prefix counts as cached input. */
function usage(result: GenerationResult): LanguageModelV4Usage {
  const { promptTokens, reusedTokens } = result.timings;
  return {
    inputTokens: {
      total: promptTokens,
      noCache: promptTokens - reusedTokens,
      cacheRead: reusedTokens,
      cacheWrite: undefined,
    },
    outputTokens: { total: result.tokens.length, text: result.tokens.length, reasoning: undefined },
    raw: { ...result.timings },
  };
}

/** The runner's timings, as provider metadata. */
function metadata(result: GenerationResult): { hearth: JSONObject } {
  return { hearth: { timings: { ...result.timings }, finishReason: result.finishReason } };
}

/** The abort reason as the error a cancelled `fetch` would throw (the SDK recognises it). */
function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * A Hearth chat model as an AI SDK `LanguageModelV4`. Prompts go through the
 * model's chat template; every AI SDK sampling setting maps onto the runner's
 * (`maxOutputTokens` → `maxTokens`, `stopSequences` → `stop`, `temperature`,
 * `topP`, `topK`, `seed`, `presencePenalty`, `frequencyPenalty`); settings the
 * runner has no counterpart for (`responseFormat` JSON, `tools`, `toolChoice`,
 * `reasoning`) are reported as `unsupported` warnings.
 */
export class HearthLanguageModel implements LanguageModelV4 {
  readonly specificationVersion = 'v4';
  readonly provider = PROVIDER;
  readonly modelId: string;
  /** No URLs are fetched by the model: the SDK downloads any file parts (which then throw). */
  readonly supportedUrls: Record<string, RegExp[]> = {};
  #runner: LazyModel<LlamaRunner>;
  #defaults: HearthLanguageModelOptions;

  /** @internal Use `createHearth(…).languageModel(id)`. */
  constructor(
    modelId: string,
    runner: LazyModel<LlamaRunner>,
    defaults: HearthLanguageModelOptions = {},
  ) {
    this.modelId = modelId;
    this.#runner = runner;
    this.#defaults = defaults;
  }

  /** The runner's options for an AI SDK call, and the warnings for what it cannot honour. */
  #options(call: LanguageModelV4CallOptions): {
    options: GenerateOptions;
    warnings: SharedV4Warning[];
  } {
    const warnings: SharedV4Warning[] = [];
    const options: GenerateOptions = {};
    const set = <K extends keyof GenerateOptions>(
      key: K,
      value: GenerateOptions[K] | undefined,
    ) => {
      if (value !== undefined) options[key] = value;
    };
    set('maxTokens', call.maxOutputTokens);
    set('temperature', call.temperature);
    set('topP', call.topP);
    set('topK', call.topK);
    set('seed', call.seed);
    set('presencePenalty', call.presencePenalty);
    set('frequencyPenalty', call.frequencyPenalty);
    if (call.stopSequences !== undefined && call.stopSequences.length > 0) {
      options.stop = call.stopSequences;
    }
    const hearth = { ...this.#defaults, ...(call.providerOptions?.[PROVIDER] ?? {}) } as Record<
      string,
      unknown
    >;
    for (const [key, value] of Object.entries(hearth)) {
      if (value === undefined) continue;
      if ((RUNNER_OPTION_KEYS as readonly string[]).includes(key)) {
        (options as Record<string, unknown>)[key] = value;
      } else {
        warnings.push({
          type: 'unsupported',
          feature: `providerOptions.${PROVIDER}.${key}`,
          details: `known options: ${RUNNER_OPTION_KEYS.join(', ')}`,
        });
      }
    }
    if (call.responseFormat?.type === 'json') {
      warnings.push({
        type: 'unsupported',
        feature: 'responseFormat',
        details: 'JSON output is not constrained; the model answers in free text',
      });
    }
    if (call.tools !== undefined && call.tools.length > 0) {
      warnings.push({
        type: 'unsupported',
        feature: 'tools',
        details: 'tool calling is not supported',
      });
    }
    if (call.toolChoice !== undefined && call.toolChoice.type !== 'auto') {
      warnings.push({ type: 'unsupported', feature: 'toolChoice' });
    }
    if (call.reasoning !== undefined && call.reasoning !== 'provider-default') {
      warnings.push({ type: 'unsupported', feature: 'reasoning' });
    }
    if (call.abortSignal !== undefined) options.signal = call.abortSignal;
    return { options, warnings };
  }

  /** Generates the whole answer; an aborted call rejects with the abort reason. */
  async doGenerate(call: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    const { options, warnings } = this.#options(call);
    const messages = toChatMessages(call.prompt, warnings);
    const runner = await getUnlessAborted(this.#runner, call.abortSignal);
    const result = await runner.chat(messages, options).result;
    if (result.finishReason === 'cancelled' && call.abortSignal?.aborted) {
      throw abortError(call.abortSignal);
    }
    return {
      content: result.text === '' ? [] : [{ type: 'text', text: result.text }],
      finishReason: finishReason(result.finishReason),
      usage: usage(result),
      providerMetadata: metadata(result),
      request: { body: { messages, options: { ...options, signal: undefined } } },
      response: { timestamp: new Date(), modelId: this.modelId },
      warnings,
    };
  }

  /**
   * Streams the answer: `stream-start` (warnings), `response-metadata`, one text
   * block of `text-delta`s (one per token that adds text), `finish` (reason,
   * usage, the runner's timings). `includeRawChunks` adds each runner chunk
   * (`{ token, text }`) as a `raw` part. An abort ends the stream with the abort reason.
   */
  async doStream(call: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    const { options, warnings } = this.#options(call);
    const messages = toChatMessages(call.prompt, warnings);
    const signal = call.abortSignal;
    const runner = await getUnlessAborted(this.#runner, signal);
    // Our own signal: the caller's abort and a consumer cancelling the stream both stop the runner.
    const stop = new AbortController();
    const forward = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    const generation = runner.chat(messages, { ...options, signal: stop.signal });
    const modelId = this.modelId;
    let cancelled = false;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      async start(controller) {
        controller.enqueue({ type: 'stream-start', warnings });
        controller.enqueue({ type: 'response-metadata', timestamp: new Date(), modelId });
        const id = 'text-0';
        let open = false;
        try {
          for await (const chunk of generation) {
            if (cancelled) return;
            if (call.includeRawChunks) controller.enqueue({ type: 'raw', rawValue: { ...chunk } });
            if (chunk.text === '') continue;
            if (!open) {
              controller.enqueue({ type: 'text-start', id });
              open = true;
            }
            controller.enqueue({ type: 'text-delta', id, delta: chunk.text });
          }
          const result = await generation.result;
          if (cancelled) return;
          if (open) controller.enqueue({ type: 'text-end', id });
          if (result.finishReason === 'cancelled' && signal?.aborted) {
            controller.error(abortError(signal));
            return;
          }
          controller.enqueue({
            type: 'finish',
            finishReason: finishReason(result.finishReason),
            usage: usage(result),
            providerMetadata: metadata(result),
          });
          controller.close();
        } catch (e) {
          if (!cancelled) controller.error(e);
        } finally {
          signal?.removeEventListener('abort', forward);
        }
      },
      cancel() {
        cancelled = true;
        stop.abort();
      },
    });
    return { stream, request: { body: { messages, options: { ...options, signal: undefined } } } };
  }
}
