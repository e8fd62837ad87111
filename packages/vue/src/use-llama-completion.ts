/** `useLlamaCompletion`: streams a plain-text continuation, in the shapes of the AI SDK 5 `useCompletion`. */

import type { GenerateTextOptions, GenerationResult } from '@hearth/runner';
import { type ComputedRef, type MaybeRefOrGetter, type Ref, ref, toValue } from 'vue';
import {
  type ComposableGenerateOptions,
  type GenerationComposableOptions,
  type ModelRefs,
  modelRefs,
  type RequestStatus,
  useGeneration,
} from './generation.js';
import { type ModelOptions, resolveHearth } from './hearth.js';

/** Options of {@link useLlamaCompletion}. */
export interface UseLlamaCompletionOptions extends GenerationComposableOptions, ModelOptions {
  /** Let control-token text such as `<|im_start|>` in prompts become those tokens (read per request). */
  parseSpecial?: MaybeRefOrGetter<boolean | undefined>;
  /** Called when a completion is complete (also after `stop()`). */
  onFinish?: (event: { prompt: string; completion: string; result: GenerationResult }) => void;
}

/** What {@link useLlamaCompletion} returns. */
export interface UseLlamaCompletionReturn extends ModelRefs {
  /** The text generated so far for the last prompt (without the prompt). */
  completion: Ref<string>;
  /** Continues `prompt`; resolves with the completion (`undefined` after an error or a newer request). */
  complete: (prompt: string, options?: ComposableGenerateOptions) => Promise<string | undefined>;
  /** Stops between two tokens; the text so far is kept. */
  stop: () => void;
  status: ComputedRef<RequestStatus>;
  error: ComputedRef<Error | undefined>;
  /** The last finished completion's result: tokens, finish reason, timings. */
  result: ComputedRef<GenerationResult | undefined>;
}

/** Text completion on the injected Hearth (or `options.hearth`, or an own `options.model`). */
export function useLlamaCompletion(
  options: UseLlamaCompletionOptions = {},
): UseLlamaCompletionReturn {
  const hearth = resolveHearth(options);
  const completion = ref('');
  const { status, error, result, stop, run } = useGeneration(hearth, options);

  async function complete(
    prompt: string,
    overrides?: ComposableGenerateOptions,
  ): Promise<string | undefined> {
    completion.value = '';
    let finished: string | undefined;
    const parseSpecial = toValue(options.parseSpecial);
    await run(
      (runner, o) =>
        runner.generateText(prompt, {
          ...o,
          ...(parseSpecial !== undefined ? { parseSpecial } : {}),
        } satisfies GenerateTextOptions),
      overrides,
      {
        onStart: () => {},
        onText: (text) => {
          completion.value = text;
        },
        onDone: (text, done) => {
          finished = text;
          completion.value = text;
          options.onFinish?.({ prompt, completion: text, result: done });
        },
      },
    );
    return finished;
  }

  return { completion, complete, stop, status, error, result, ...modelRefs(hearth) };
}
