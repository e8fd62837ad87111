/**
 * `ModelStore`: the one `LlamaRunner` of a `<HearthProvider>`, loaded once per
 * model source and disposed when no longer used. React may run effects twice
 * (StrictMode) or re-run them on every prop identity change; the store keeps the
 * runner across a release that is followed by a use of the same source in the
 * same task, so those re-runs never load twice nor leak a worker.
 */

import {
  HearthError,
  LlamaRunner,
  type LoadOptions,
  type LoadProgress,
  type ModelSourceInput,
} from '@hearth/runner';

/** Where the model of a provider stands. */
export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

/** A snapshot of the model state (a new object on every change). */
export interface ModelState {
  status: ModelStatus;
  /** The loaded runner (`status === 'ready'`). */
  runner: LlamaRunner | undefined;
  /** The last load progress event (download bytes, then each later stage). */
  loadProgress: LoadProgress | undefined;
  /** Why loading failed (`status === 'error'`); a `HearthError` with a stable `code`. */
  error: Error | undefined;
}

/** The load options a provider passes on (its own `signal` aborts the load on unmount). */
export type ProviderLoadOptions = Omit<LoadOptions, 'signal'>;

const IDLE: ModelState = {
  status: 'idle',
  runner: undefined,
  loadProgress: undefined,
  error: undefined,
};

/** Load progress re-renders at most this often (ms); `onProgress` still sees every event. */
const PROGRESS_MS = 30;

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/**
 * A key naming one model source and the options that change the runner: equal
 * keys share a runner. URLs compare by text, `Blob`s and buffers by identity.
 */
export function sourceKey(source: ModelSourceInput, options: ProviderLoadOptions = {}): string {
  let what: string;
  if (typeof source === 'string') what = `url:${source}`;
  else if (source instanceof URL) what = `url:${source.href}`;
  else if (
    typeof source === 'object' &&
    source !== null &&
    'url' in source &&
    !(source instanceof Blob)
  ) {
    what = `url:${String(source.url)}#${source.sha256 ?? ''}`;
  } else {
    let id = objectIds.get(source as object);
    if (id === undefined) {
      id = nextObjectId++;
      objectIds.set(source as object, id);
    }
    what = `object:${id}`;
  }
  return `${what}|${options.backend ?? 'auto'}|${options.contextLength ?? 0}|${options.cache ?? ''}`;
}

/** The model of one provider; subscribe with `useSyncExternalStore`. */
export class ModelStore {
  #state: ModelState = IDLE;
  #listeners = new Set<() => void>();
  #key: string | undefined;
  #abort: AbortController | undefined;
  #pendingRelease: ReturnType<typeof setTimeout> | undefined;
  #progress: LoadProgress | undefined;
  #progressTimer: ReturnType<typeof setTimeout> | undefined;
  #waiters: { ok: (r: LlamaRunner) => void; fail: (e: Error) => void }[] = [];

  /** The current state. */
  getSnapshot = (): ModelState => this.#state;

  /** Registers a change listener; returns its removal. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  #set(patch: Partial<ModelState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const listener of [...this.#listeners]) listener();
  }

  /**
   * Uses `source` (loading it unless it is the source already loaded or
   * loading) and returns the release function. A release disposes the runner
   * at the end of the current task unless the same source is used again first.
   */
  use(source: ModelSourceInput, options: ProviderLoadOptions = {}): () => void {
    const key = sourceKey(source, options);
    if (this.#pendingRelease !== undefined) {
      clearTimeout(this.#pendingRelease);
      this.#pendingRelease = undefined;
    }
    if (key !== this.#key) {
      this.#unload();
      this.#load(key, source, options);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.#key !== key) return;
      this.#pendingRelease = setTimeout(() => {
        this.#pendingRelease = undefined;
        if (this.#key === key) this.#unload();
      });
    };
  }

  #load(key: string, source: ModelSourceInput, options: ProviderLoadOptions): void {
    const abort = new AbortController();
    this.#key = key;
    this.#abort = abort;
    this.#progress = undefined;
    this.#set({ status: 'loading', runner: undefined, loadProgress: undefined, error: undefined });
    const { onProgress } = options;
    const loading = LlamaRunner.load(source, {
      ...options,
      signal: abort.signal,
      onProgress: (progress) => {
        if (abort.signal.aborted) return;
        onProgress?.(progress);
        // Downloads report every chunk, often many per task: render at most every PROGRESS_MS.
        this.#progress = progress;
        this.#progressTimer ??= setTimeout(() => {
          this.#progressTimer = undefined;
          if (!abort.signal.aborted) this.#set({ loadProgress: this.#takeProgress() });
        }, PROGRESS_MS);
      },
    });
    loading.then(
      (runner) => {
        if (abort.signal.aborted) {
          runner.dispose();
          return;
        }
        this.#set({ status: 'ready', runner, loadProgress: this.#takeProgress() });
        for (const w of this.#waiters.splice(0)) w.ok(runner);
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        const error = e instanceof Error ? e : new Error(String(e));
        this.#set({ status: 'error', error, loadProgress: this.#takeProgress() });
        for (const w of this.#waiters.splice(0)) w.fail(error);
      },
    );
  }

  /** The latest progress event (cancelling its pending render). */
  #takeProgress(): LoadProgress | undefined {
    if (this.#progressTimer !== undefined) clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    return this.#progress;
  }

  /** Aborts the load in progress or disposes the loaded runner. */
  #unload(): void {
    const abort = this.#abort;
    if (abort === undefined) return;
    abort.abort();
    this.#state.runner?.dispose();
    this.#key = undefined;
    this.#abort = undefined;
    this.#takeProgress();
    this.#progress = undefined;
    for (const w of this.#waiters.splice(0)) {
      w.fail(new HearthError('MODEL_UNLOADED', 'the model was unloaded before it was ready'));
    }
    this.#set(IDLE);
  }

  /**
   * The runner once it is ready: resolves at once when loaded, waits while
   * loading, rejects with the load error, or with `NO_MODEL` when no model
   * source was given to the provider.
   */
  runner(): Promise<LlamaRunner> {
    const { status, runner, error } = this.#state;
    if (status === 'ready' && runner) return Promise.resolve(runner);
    if (status === 'error' && error) return Promise.reject(error);
    if (status === 'idle') {
      return Promise.reject(
        new HearthError('NO_MODEL', 'no model is loaded: give <HearthProvider> a `model` source'),
      );
    }
    return new Promise((ok, fail) => this.#waiters.push({ ok, fail }));
  }

  /** Unloads immediately (tests and explicit teardown). */
  dispose(): void {
    if (this.#pendingRelease !== undefined) clearTimeout(this.#pendingRelease);
    this.#pendingRelease = undefined;
    this.#unload();
  }
}
