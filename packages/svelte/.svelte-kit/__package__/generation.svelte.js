/**
 * What `LlamaChat` and `LlamaCompletion` share: the model they use, the
 * request status, and one generation in flight at a time with `stop()`.
 */
import { getHearthContext } from './context.js';
import { HearthModel } from './model.svelte.js';
import { onOwnerDestroy } from './owner.svelte.js';
/** The model given by `options` (owned: created here, disposed by `destroy`). @internal */
export function resolveModel(options) {
  const { model, loadOptions } = options;
  if (model instanceof HearthModel) return { model, owned: false };
  if (model !== undefined) return { model: new HearthModel(model, loadOptions), owned: true };
  return { model: getHearthContext(), owned: false };
}
/** Rejects once `signal` fires, so a stop does not wait for a model still loading. */
function untilAborted(signal) {
  return new Promise((_, fail) => {
    if (signal.aborted) fail(signal.reason);
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}
/** One generation at a time over a {@link HearthModel}: status, error, last result, `stop`. */
export class GenerationState {
  /** `submitted` → `streaming` → `ready`, or `error`. */
  status = $state('ready');
  /** The last request's error (a `HearthError` with a stable `code`), until the next request. */
  error = $state.raw(undefined);
  /** The last finished request's result: tokens, finish reason, timings (`ttftMs`, `decodeTokS`). */
  result = $state.raw(undefined);
  /** The model requests run on. */
  model;
  options;
  #owned;
  #current;
  constructor(options) {
    this.options = options;
    const { model, owned } = resolveModel(options);
    this.model = model;
    this.#owned = owned;
    onOwnerDestroy(() => this.destroy());
  }
  /** The model's status (`idle`, `loading`, `ready`, `error`). */
  get modelStatus() {
    return this.model.status;
  }
  /** The model's last load progress event. */
  get loadProgress() {
    return this.model.loadProgress;
  }
  /** Why the model failed to load. */
  get modelError() {
    return this.model.error;
  }
  /** Stops the request in flight between two tokens; the text so far is kept and `status` becomes `ready`. */
  stop = () => {
    this.#current?.abort();
  };
  /** Clears `error` (and an `error` status). */
  clearError = () => {
    this.error = undefined;
    if (this.status === 'error') this.status = 'ready';
  };
  /**
   * Stops the request in flight and ignores its late events; disposes the
   * model if this object loaded it. Runs by itself when the component that
   * created this object is destroyed.
   */
  destroy() {
    const current = this.#current;
    this.#current = undefined;
    current?.abort();
    if (this.#owned) this.model.dispose();
  }
  /** Runs one generation (aborting the previous one); resolves when it ends, never rejects. */
  async run(start, overrides, callbacks) {
    this.#current?.abort();
    const abort = new AbortController();
    this.#current = abort;
    const live = () => this.#current === abort;
    this.status = 'submitted';
    this.error = undefined;
    try {
      let runner;
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
