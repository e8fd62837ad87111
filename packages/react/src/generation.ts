/**
 * What `useLlamaChat` and `useLlamaCompletion` share: the request status, the
 * options they take, and one in-flight generation at a time with `stop()`.
 */

import type {
  GenerateOptions,
  Generation,
  GenerationResult,
  LlamaRunner,
  TokenChunk,
} from '@hearth/runner';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ModelStore } from './model-store.js';

/**
 * A request's status, as in the AI SDK: `submitted` (sent, waiting for the
 * model or the first token), `streaming`, `ready` (idle or done; also after
 * `stop()`), `error`.
 */
export type RequestStatus = 'submitted' | 'streaming' | 'ready' | 'error';

/** Sampling and stopping options (everything of `GenerateOptions` but `signal`, which the hook owns). */
export type HookGenerateOptions = Omit<GenerateOptions, 'signal'>;

/** Options common to the generation hooks. */
export interface GenerationHookOptions {
  /** Sampling and stopping options of every request (read at request time). */
  generateOptions?: HookGenerateOptions;
  /** Called for every streamed chunk (tokens, and text that may be empty). */
  onChunk?: (chunk: TokenChunk) => void;
  /** Called when a request fails. */
  onError?: (error: Error) => void;
}

/** Rejects once `signal` fires, so a stop does not wait for a model still loading. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, fail) => {
    if (signal.aborted) fail(signal.reason);
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}

/** How a generation run reports to its hook; every call is skipped once a newer run started. */
export interface RunCallbacks {
  /** The first chunk arrived. */
  onStart(): void;
  /** The text so far, after each non-empty chunk. */
  onText(text: string): void;
  /** The generation ended (also after `stop()`). */
  onDone(text: string, result: GenerationResult): void;
}

/** One generation at a time: status, error, last result, `stop`. @internal */
export function useGenerationRunner(store: ModelStore, options: GenerationHookOptions) {
  const [status, setStatus] = useState<RequestStatus>('ready');
  const [error, setError] = useState<Error | undefined>(undefined);
  const [result, setResult] = useState<GenerationResult | undefined>(undefined);
  const current = useRef<AbortController | undefined>(undefined);
  const latest = useRef(options);
  latest.current = options;

  // Unmounting stops the generation in flight.
  useEffect(
    () => () => {
      current.current?.abort();
      current.current = undefined;
    },
    [],
  );

  const stop = useCallback(() => {
    current.current?.abort();
  }, []);

  const run = useCallback(
    async (
      start: (runner: LlamaRunner, options: GenerateOptions) => Generation,
      overrides: HookGenerateOptions | undefined,
      callbacks: RunCallbacks,
    ): Promise<void> => {
      current.current?.abort();
      const abort = new AbortController();
      current.current = abort;
      const live = () => current.current === abort;
      setStatus('submitted');
      setError(undefined);
      try {
        let runner: LlamaRunner;
        try {
          runner = await Promise.race([store.runner(), untilAborted(abort.signal)]);
        } catch (e) {
          if (abort.signal.aborted) {
            if (live()) setStatus('ready');
            return;
          }
          throw e;
        }
        const { generateOptions } = latest.current;
        const generation = start(runner, {
          ...generateOptions,
          ...overrides,
          signal: abort.signal,
        });
        let text = '';
        let started = false;
        for await (const chunk of generation) {
          if (!live()) return;
          latest.current.onChunk?.(chunk);
          if (!started) {
            started = true;
            callbacks.onStart();
            setStatus('streaming');
          }
          if (chunk.text !== '') {
            text += chunk.text;
            callbacks.onText(text);
          }
        }
        const done = await generation.result;
        if (!live()) return;
        callbacks.onDone(text, done);
        setResult(done);
        setStatus('ready');
      } catch (e) {
        if (!live()) return;
        const failure = e instanceof Error ? e : new Error(String(e));
        setError(failure);
        setStatus('error');
        latest.current.onError?.(failure);
      }
    },
    [store],
  );

  return { status, setStatus, error, setError, result, stop, run };
}
