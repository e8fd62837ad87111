/**
 * `HearthModel`: one `LlamaRunner` and its loading state as runes, shared by
 * the chat, completion and embedding classes (and the autocomplete action).
 */

import {
  HearthError,
  LlamaRunner,
  type LoadOptions,
  type LoadProgress,
  type ModelSourceInput,
} from '@hearth/runner';
import { BROWSER } from 'esm-env';
import { untrack } from 'svelte';
import { onOwnerDestroy } from './owner.svelte.js';

/** Where a model stands. */
export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

/** Load options (`backend`, `contextLength`, `cache`, `threads`, `onProgress`); the model owns the `signal`. */
export type ModelLoadOptions = Omit<LoadOptions, 'signal'>;

interface Waiter {
  ok: (runner: LlamaRunner) => void;
  fail: (error: Error) => void;
}

/**
 * A model loaded with `@hearth/runner` (a Web Worker in browsers). Its fields
 * are `$state`: read them in markup or effects and they update.
 *
 * Created in a component's `<script>` (or an `$effect.root`), it is disposed
 * with it; elsewhere call {@link HearthModel.dispose}.
 */
export class HearthModel {
  /** `idle` (nothing loaded), `loading`, `ready` or `error`. */
  status: ModelStatus = $state('idle');
  /** The last progress event: `download`/`cache-read` bytes, then `verify`, `parse`, `init`. */
  loadProgress: LoadProgress | undefined = $state.raw(undefined);
  /** Why the last load failed: a `HearthError` with a stable `code` (`HTTP_404`, `GGUF_BAD_MAGIC` …). */
  error: Error | undefined = $state.raw(undefined);
  /** The loaded runner (`status === 'ready'`). */
  runner: LlamaRunner | undefined = $state.raw(undefined);

  #abort: AbortController | undefined;
  #waiters: Waiter[] = [];

  /**
   * Starts loading `source` at once when given (in the browser: during
   * server-side rendering, where nothing would dispose it, the model stays
   * idle); otherwise the model stays idle until {@link load}.
   */
  constructor(source?: ModelSourceInput, options?: ModelLoadOptions) {
    onOwnerDestroy(() => this.dispose());
    if (source !== undefined && BROWSER) void this.load(source, options);
  }

  /**
   * Loads `source` (a URL, `{ url, sha256? }`, a `File`/`Blob`, bytes; in Node
   * also a path), replacing (disposing) the runner loaded before. Resolves when
   * the load settles; it never rejects: a failure sets `status` and `error`.
   */
  load(source: ModelSourceInput, options: ModelLoadOptions = {}): Promise<void> {
    // Untracked: `$effect(() => model.load(url))` reloads when `url` changes, not when the model's own state does.
    return untrack(() => this.#load(source, options));
  }

  #load(source: ModelSourceInput, options: ModelLoadOptions): Promise<void> {
    this.#unload();
    const abort = new AbortController();
    this.#abort = abort;
    this.status = 'loading';
    this.loadProgress = undefined;
    this.error = undefined;
    const { onProgress } = options;
    return LlamaRunner.load(source, {
      ...options,
      signal: abort.signal,
      onProgress: (progress) => {
        if (abort.signal.aborted) return;
        onProgress?.(progress);
        this.loadProgress = progress;
      },
    }).then(
      (runner) => {
        if (abort.signal.aborted) {
          runner.dispose();
          return;
        }
        this.runner = runner;
        this.status = 'ready';
        for (const w of this.#waiters.splice(0)) w.ok(runner);
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        const error = e instanceof Error ? e : new Error(String(e));
        this.error = error;
        this.status = 'error';
        for (const w of this.#waiters.splice(0)) w.fail(error);
      },
    );
  }

  /**
   * The runner once it is ready: at once when loaded, after the load while
   * loading; rejects with the load error, or `NO_MODEL` while idle.
   */
  ready(): Promise<LlamaRunner> {
    return untrack(() => this.#ready());
  }

  #ready(): Promise<LlamaRunner> {
    if (this.status === 'ready' && this.runner) return Promise.resolve(this.runner);
    if (this.status === 'error' && this.error) return Promise.reject(this.error);
    if (this.status === 'idle') {
      return Promise.reject(
        new HearthError('NO_MODEL', 'no model is loaded: call model.load(source) first'),
      );
    }
    return new Promise((ok, fail) => this.#waiters.push({ ok, fail }));
  }

  /** Aborts the load in progress or disposes the runner (its worker ends); the model is idle again. */
  dispose(): void {
    untrack(() => this.#unload());
  }

  #unload(): void {
    this.#abort?.abort();
    this.#abort = undefined;
    this.runner?.dispose();
    for (const w of this.#waiters.splice(0)) {
      w.fail(new HearthError('MODEL_UNLOADED', 'the model was unloaded before it was ready'));
    }
    this.runner = undefined;
    this.status = 'idle';
    this.loadProgress = undefined;
    this.error = undefined;
  }
}
