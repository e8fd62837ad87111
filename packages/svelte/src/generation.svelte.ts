/**
 * What `LlamaChat` and `LlamaCompletion` share: the model they use, the
 * request status, and one generation in flight at a time with `stop()`.
 */

import type {
  GenerateOptions,
  Generation,
  GenerationResult,
  LlamaRunner,
  LoadProgress,
  ModelSourceInput,
  TokenChunk,
} from '@hearth/runner';
import { getHearthContext } from './context.js';
import { HearthModel, type ModelLoadOptions, type ModelStatus } from './model.svelte.js';
import { onOwnerDestroy } from './owner.svelte.js';

/**
 * A request's status, as in the AI SDK: `submitted` (sent, waiting for the
 * model or the first token), `streaming`, `ready` (idle or done; also after
 * `stop()`), `error`.
 */
export type RequestStatus = 'submitted' | 'streaming' | 'ready' | 'error';

/** Sampling and stopping options (everything of `GenerateOptions` but `signal`, which the class owns). */
export type LlamaGenerateOptions = Omit<GenerateOptions, 'signal'>;

/** Options common to `LlamaChat`, `LlamaCompletion` and `LlamaEmbedding`: which model. */
export interface ModelOptions {
  /**
   * A shared {@link HearthModel}, or a model source to load for this object
   * alone (disposed with it). Default: the model of `getHearthContext()`.
   */
  model?: HearthModel | ModelSourceInput | undefined;
  /** Load options when `model` is a source. */
  loadOptions?: ModelLoadOptions | undefined;
}

/** Options common to `LlamaChat` and `LlamaCompletion`, read when each request starts (getters work). */
export interface GenerationOptions extends ModelOptions {
  /** Sampling and stopping options of every request. */
  generateOptions?: LlamaGenerateOptions | undefined;
  /** Called for every streamed chunk (tokens, and text that may be empty). */
  onChunk?: ((chunk: TokenChunk) => void) | undefined;
  /** Called when a request fails. */
  onError?: ((error: Error) => void) | undefined;
}

/** The model given by `options` (owned: created here, disposed by `destroy`). @internal */
export function resolveModel(options: ModelOptions): { model: HearthModel; owned: boolean } {
  const { model, loadOptions } = options;
  if (model instanceof HearthModel) return { model, owned: false };
  if (model !== undefined) return { model: new HearthModel(model, loadOptions), owned: true };
  return { model: getHearthContext(), owned: false };
}

/** Rejects once `signal` fires, so a stop does not wait for a model still loading. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, fail) => {
    if (signal.aborted) fail(signal.reason);
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}

/** How a run reports to its class; no call is made once a newer run started (or after `destroy`). @internal */
export interface RunCallbacks {
  /** The first chunk arrived. */
  onStart(): void;
  /** The text so far, after each non-empty chunk. */
  onText(text: string): void;
  /** The generation ended (also after `stop()`). */
  onDone(text: string, result: GenerationResult): void;
}

/** One generation at a time over a {@link HearthModel}: status, error, last result, `stop`. */
export abstract class GenerationState {
  /** `submitted` → `streaming` → `ready`, or `error`. */
  status: RequestStatus = $state('ready');
  /** The last request's error (a `HearthError` with a stable `code`), until the next request. */
  error: Error | undefined = $state.raw(undefined);
  /** The last finished request's result: tokens, finish reason, timings (`ttftMs`, `decodeTokS`). */
  result: GenerationResult | undefined = $state.raw(undefined);
  /** The model requests run on. */
  readonly model: HearthModel;

  protected readonly options: GenerationOptions;
  #owned: boolean;
  #current: AbortController | undefined;

  constructor(options: GenerationOptions) {
    this.options = options;
    const { model, owned } = resolveModel(options);
    this.model = model;
    this.#owned = owned;
    onOwnerDestroy(() => this.destroy());
  }

  /** The model's status (`idle`, `loading`, `ready`, `error`). */
  get modelStatus(): ModelStatus {
    return this.model.status;
  }

  /** The model's last load progress event. */
  get loadProgress(): LoadProgress | undefined {
    return this.model.loadProgress;
  }

  /** Why the model failed to load. */
  get modelError(): Error | undefined {
    return this.model.error;
  }

  /** Stops the request in flight between two tokens; the text so far is kept and `status` becomes `ready`. */
  stop = (): void => {
    this.#current?.abort();
  };

  /** Clears `error` (and an `error` status). */
  clearError = (): void => {
    this.error = undefined;
    if (this.status === 'error') this.status = 'ready';
  };

  /**
   * Stops the request in flight and ignores its late events; disposes the
   * model if this object loaded it. Runs by itself when the component that
   * created this object is destroyed.
   */
  destroy(): void {
    const current = this.#current;
    this.#current = undefined;
    current?.abort();
    if (this.#owned) this.model.dispose();
  }

  /** Runs one generation (aborting the previous one); resolves when it ends, never rejects. */
  protected async run(
    start: (runner: LlamaRunner, options: GenerateOptions) => Generation,
    overrides: LlamaGenerateOptions | undefined,
    callbacks: RunCallbacks,
  ): Promise<void> {
    this.#current?.abort();
    const abort = new AbortController();
    this.#current = abort;
    const live = () => this.#current === abort;
    this.status = 'submitted';
    this.error = undefined;
    try {
      let runner: LlamaRunner;
      try {
        runner = await Promise.race([this.model.ready(), untilAborted(abort.signal)]);
      } catch (e) {
        if (abort.signal.aborted) {
          if (live()) this.status = 'ready';
          return;
        }
        throw e;
      }
      const generation = start(runner, {
        ...this.options.generateOptions,
        ...overrides,
        signal: abort.signal,
      });
      let text = '';
      let started = false;
      for await (const chunk of generation) {
        if (!live()) return;
        this.options.onChunk?.(chunk);
        if (!started) {
          started = true;
          callbacks.onStart();
          this.status = 'streaming';
        }
        if (chunk.text !== '') {
          text += chunk.text;
          callbacks.onText(text);
        }
      }
      const done = await generation.result;
      if (!live()) return;
      callbacks.onDone(text, done);
      this.result = done;
      this.status = 'ready';
    } catch (e) {
      if (!live()) return;
      const failure = e instanceof Error ? e : new Error(String(e));
      this.error = failure;
      this.status = 'error';
      this.options.onError?.(failure);
    }
  }
}
