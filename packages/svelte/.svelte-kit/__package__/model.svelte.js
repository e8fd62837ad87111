/**
 * `HearthModel`: one `LlamaRunner` and its loading state as runes, shared by
 * the chat, completion and embedding classes (and the autocomplete action).
 */
import { HearthError, LlamaRunner } from '@hearth/runner';
import { untrack } from 'svelte';
import { onOwnerDestroy } from './owner.svelte.js';
/**
 * A model loaded with `@hearth/runner` (a Web Worker in browsers). Its fields
 * are `$state`: read them in markup or effects and they update.
 *
 * Created in a component's `<script>` (or an `$effect.root`), it is disposed
 * with it; elsewhere call {@link HearthModel.dispose}.
 */
export class HearthModel {
  /** `idle` (nothing loaded), `loading`, `ready` or `error`. */
  status = $state('idle');
  /** The last progress event: `download`/`cache-read` bytes, then `verify`, `parse`, `init`. */
  loadProgress = $state.raw(undefined);
  /** Why the last load failed: a `HearthError` with a stable `code` (`HTTP_404`, `GGUF_BAD_MAGIC` …). */
  error = $state.raw(undefined);
  /** The loaded runner (`status === 'ready'`). */
  runner = $state.raw(undefined);
  #abort;
  #waiters = [];
  /** Starts loading `source` at once when given; otherwise the model stays idle until {@link load}. */
  constructor(source, options) {
    onOwnerDestroy(() => this.dispose());
    if (source !== undefined) void this.load(source, options);
  }
  /**
   * Loads `source` (a URL, `{ url, sha256? }`, a `File`/`Blob`, bytes; in Node
   * also a path), replacing (disposing) the runner loaded before. Resolves when
   * the load settles; it never rejects: a failure sets `status` and `error`.
   */
  load(source, options = {}) {
    // Untracked: `$effect(() => model.load(url))` reloads when `url` changes, not when the model's own state does.
    return untrack(() => this.#load(source, options));
  }
  #load(source, options) {
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
      (e) => {
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
  ready() {
    return untrack(() => this.#ready());
  }
  #ready() {
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
  dispose() {
    untrack(() => this.#unload());
  }
  #unload() {
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
