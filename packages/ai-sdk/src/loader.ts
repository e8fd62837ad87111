/**
 * A model loaded once, on first use, by whoever asks for it first; later callers
 * share the load in flight (and its progress events) or the loaded runner.
 */

import type { LoadProgress } from '@hearth/runner';

/** Something loaded once: a runner, or the promise of one. */
export type Loadable<T> = T | PromiseLike<T>;

/** Loads `T` on first `get()` and hands every caller the same instance. @internal */
export class LazyModel<T extends { dispose(): void }> {
  #load: (onProgress: (p: LoadProgress) => void) => PromiseLike<T>;
  #loading: Promise<T> | undefined;
  #loaded: T | undefined;
  #owned: boolean;
  #listeners = new Set<(p: LoadProgress) => void>();

  /**
   * `owned`: the loader made the instance (from a source), so `dispose()` frees it; an
   * instance the caller passed in stays the caller's.
   */
  constructor(load: (onProgress: (p: LoadProgress) => void) => PromiseLike<T>, owned: boolean) {
    this.#load = load;
    this.#owned = owned;
  }

  /** A loader of an instance (or promise) the caller owns. */
  static of<T extends { dispose(): void }>(value: Loadable<T>): LazyModel<T> {
    return new LazyModel(() => Promise.resolve(value), false);
  }

  /** The instance once loaded, else `undefined` (no load starts). */
  get loaded(): T | undefined {
    return this.#loaded;
  }

  /**
   * The instance, loading it on the first call. `onProgress` sees this load's progress
   * events from now on (nothing once it is loaded). A failed load is retried by the next call.
   */
  get(onProgress?: (p: LoadProgress) => void): Promise<T> {
    if (this.#loaded !== undefined) return Promise.resolve(this.#loaded);
    if (onProgress) this.#listeners.add(onProgress);
    if (this.#loading === undefined) {
      const loading = Promise.resolve(
        this.#load((p) => {
          for (const listener of [...this.#listeners]) listener(p);
        }),
      );
      this.#loading = loading;
      loading.then(
        (value) => {
          this.#loaded = value;
          this.#listeners.clear();
        },
        () => {
          this.#loading = undefined;
          this.#listeners.clear();
        },
      );
    }
    const loading = this.#loading;
    if (onProgress) {
      const remove = () => this.#listeners.delete(onProgress);
      loading.then(remove, remove);
    }
    return loading;
  }

  /** Frees the instance if this loader made it (also one still loading, once it arrives). */
  dispose(): void {
    if (!this.#owned) return;
    const loading = this.#loading;
    this.#loading = undefined;
    this.#loaded = undefined;
    loading?.then(
      (value) => value.dispose(),
      () => {},
    );
  }
}

/** Rejects with the abort reason once `signal` aborts (never settles without a signal). */
export function untilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, fail) => {
    if (signal === undefined) return;
    if (signal.aborted) fail(signal.reason);
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
}

/** `get()` of `model`, given up (not the load itself) when `signal` aborts. @internal */
export function getUnlessAborted<T extends { dispose(): void }>(
  model: LazyModel<T>,
  signal: AbortSignal | undefined,
  onProgress?: (p: LoadProgress) => void,
): Promise<T> {
  const loading = model.get(onProgress);
  return signal === undefined ? loading : Promise.race([loading, untilAborted(signal)]);
}
