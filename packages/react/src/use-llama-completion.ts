/** `useLlamaCompletion`: streams a plain-text continuation, shaped like the AI SDK 5 `useCompletion`. */

import type { GenerateTextOptions, GenerationResult, LoadProgress } from '@hearth/runner';
import { useCallback, useRef, useState } from 'react';
import {
  type GenerationHookOptions,
  type HookGenerateOptions,
  type RequestStatus,
  useGenerationRunner,
} from './generation.js';
import type { ModelStatus } from './model-store.js';
import { useHearthModel, useModelStore } from './provider.js';

/** Options of {@link useLlamaCompletion}. */
export interface UseLlamaCompletionOptions extends GenerationHookOptions {
  /** Let control-token text such as `<|im_start|>` in prompts become those tokens. */
  parseSpecial?: boolean;
  /** Called when a completion is complete (also after `stop()`). */
  onFinish?: (event: { prompt: string; completion: string; result: GenerationResult }) => void;
}

/** What {@link useLlamaCompletion} returns. */
export interface UseLlamaCompletionHelpers {
  /** The text generated so far for the last prompt (without the prompt). */
  completion: string;
  setCompletion: (completion: string) => void;
  /** Continues `prompt`; resolves with the completion (`undefined` after an error or a newer request). */
  complete: (prompt: string, options?: HookGenerateOptions) => Promise<string | undefined>;
  /** Stops between two tokens; the text so far is kept. */
  stop: () => void;
  status: RequestStatus;
  error: Error | undefined;
  /** The last finished completion's result: tokens, finish reason, timings. */
  result: GenerationResult | undefined;
  modelStatus: ModelStatus;
  loadProgress: LoadProgress | undefined;
  modelError: Error | undefined;
}

/** Text completion with the model of the nearest `<HearthProvider>`. */
export function useLlamaCompletion(
  options: UseLlamaCompletionOptions = {},
): UseLlamaCompletionHelpers {
  const store = useModelStore();
  const model = useHearthModel();
  const [completion, setCompletion] = useState('');
  const latest = useRef(options);
  latest.current = options;
  const { status, error, result, stop, run } = useGenerationRunner(store, options);

  const complete = useCallback(
    async (prompt: string, overrides?: HookGenerateOptions): Promise<string | undefined> => {
      setCompletion('');
      let finished: string | undefined;
      const { parseSpecial } = latest.current;
      await run(
        (runner, o) =>
          runner.generateText(prompt, {
            ...o,
            ...(parseSpecial !== undefined ? { parseSpecial } : {}),
          } satisfies GenerateTextOptions),
        overrides,
        {
          onStart: () => {},
          onText: setCompletion,
          onDone: (text, done) => {
            finished = text;
            setCompletion(text);
            latest.current.onFinish?.({ prompt, completion: text, result: done });
          },
        },
      );
      return finished;
    },
    [run],
  );

  return {
    completion,
    setCompletion,
    complete,
    stop,
    status,
    error,
    result,
    modelStatus: model.status,
    loadProgress: model.loadProgress,
    modelError: model.error,
  };
}
