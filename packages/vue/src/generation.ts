/**
 * What `useLlamaChat` and `useLlamaCompletion` share: the request status, the
 * options they take, and one in-flight generation at a time with `stop()`,
 * aborted when the calling scope (component) is disposed.
 */

import {
  type GenerateOptions,
  type Generation,
  type GenerationResult,
  HearthError,
  type LlamaRunner,
  type TokenChunk,
} from '@hearth/runner';
import {
  type ComputedRef,
  computed,
  getCurrentScope,
  type MaybeRefOrGetter,
  markRaw,
  onScopeDispose,
  type ShallowRef,
  shallowRef,
  toValue,
} from 'vue';
import type { Hearth, ModelStatus } from './hearth.js';

/**
 * A request's status, as in the AI SDK: `submitted` (sent, waiting for the
 * model or the first token), `streaming`, `ready` (idle or done; also after
 * `stop()`), `error`.
 */
export type RequestStatus = 'submitted' | 'streaming' | 'ready' | 'error';

/** Sampling and stopping options (everything of `GenerateOptions` but `signal`, which the composable owns). */
export type ComposableGenerateOptions = Omit<GenerateOptions, 'signal'>;

/** Options common to the generation composables. */
export interface GenerationComposableOptions {
  /** Sampling and stopping options of every request: a ref or getter is read when a request starts. */
  generateOptions?: MaybeRefOrGetter<ComposableGenerateOptions | undefined>;
  /** Called for every streamed chunk (tokens, and text that may be empty). */
  onChunk?: (chunk: TokenChunk) => void;
  /** Called when a request fails. */
  onError?: (error: Error) => void;
}

/** The model state every generation composable returns, from its Hearth. */
export interface ModelRefs {
  /** The model: `idle`, `loading`, `ready` or `error`. */
  modelStatus: ComputedRef<ModelStatus>;
  /** The model's last load progress event (`{ stage, loaded, total }`). */
  loadProgress: ComputedRef<Hearth['loadProgress']['value']>;
  /** Why the model failed to load. */
  modelError: ComputedRef<Error | undefined>;
  /** The Hearth the composable runs on (to `load()` or `unload()` the model). */
  hearth: Hearth;
}

/** The model refs of `hearth`. @internal */
export function modelRefs(hearth: Hearth): ModelRefs {
  return {
    modelStatus: hearth.status,
    loadProgress: hearth.loadProgress,
    modelError: hearth.error,
    hearth,
  };
}

/** Rejects once `signal` fires, so a stop does not wait for a model still loading. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, fail) => {
    if (signal.aborted) fail(signal.reason);
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}

/** How a generation run reports to its composable; every call is skipped once a newer run started. */
export interface RunCallbacks {
  /** The first chunk arrived. */
  onStart(): void;
  /** The text so far, after each non-empty chunk. */
  onText(text: string): void;
  /** The generation ended (also after `stop()`). */
  onDone(text: string, result: GenerationResult): void;
}

/** One generation at a time: status, error, last result, `stop`. @internal */
export function useGeneration(hearth: Hearth, options: GenerationComposableOptions) {
  const status = shallowRef<RequestStatus>('ready');
  const error = shallowRef<Error | undefined>(undefined);
  const result = shallowRef<GenerationResult | undefined>(undefined);
  let current: AbortController | undefined;
  let disposed = false;

  // Disposing the scope (unmounting the component) aborts the generation in flight.
  if (getCurrentScope()) {
    onScopeDispose(() => {
      disposed = true;
      current?.abort();
      current = undefined;
    });
  }

  const stop = () => current?.abort();

  async function run(
    start: (runner: LlamaRunner, options: GenerateOptions) => Generation,
    overrides: ComposableGenerateOptions | undefined,
    callbacks: RunCallbacks,
  ): Promise<void> {
    current?.abort();
    if (disposed) {
      error.value = new HearthError(
        'HEARTH_DISPOSED',
        'the component of this composable unmounted',
      );
      status.value = 'error';
      return;
    }
    const abort = new AbortController();
    current = abort;
    const live = () => current === abort;
    status.value = 'submitted';
    error.value = undefined;
    try {
      let runner: LlamaRunner;
      try {
        runner = await Promise.race([hearth.ready(), untilAborted(abort.signal)]);
      } catch (e) {
        if (abort.signal.aborted) {
          if (live()) status.value = 'ready';
          return;
        }
        throw e;
      }
      const generation = start(runner, {
        ...toValue(options.generateOptions),
        ...overrides,
        signal: abort.signal,
      });
      let text = '';
      let started = false;
      for await (const chunk of generation) {
        if (!live()) return;
        options.onChunk?.(chunk);
        if (!started) {
          started = true;
          callbacks.onStart();
          status.value = 'streaming';
        }
        if (chunk.text !== '') {
          text += chunk.text;
          callbacks.onText(text);
        }
      }
      const done = await generation.result;
      if (!live()) return;
      callbacks.onDone(text, done);
      result.value = markRaw(done);
      status.value = 'ready';
    } catch (e) {
      if (!live()) return;
      const failure = e instanceof Error ? e : new Error(String(e));
      error.value = failure;
      status.value = 'error';
      options.onError?.(failure);
    } finally {
      if (live()) current = undefined;
    }
  }

  return {
    status: computed(() => status.value),
    statusRef: status as ShallowRef<RequestStatus>,
    error: computed(() => error.value),
    errorRef: error as ShallowRef<Error | undefined>,
    result: computed(() => result.value),
    stop,
    run,
  };
}
