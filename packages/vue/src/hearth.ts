/**
 * `Hearth`: one `LlamaRunner` shared by the composables of an app or a
 * component subtree. `createHearth()` makes one (also a Vue plugin:
 * `app.use(hearth)`), `provideHearth()` provides one to a subtree, and
 * `useHearth()` injects it.
 */

import {
  HearthError,
  LlamaRunner,
  type LoadOptions,
  type LoadProgress,
  type ModelSourceInput,
} from '@hearth/runner';
import {
  type App,
  type ComputedRef,
  computed,
  effectScope,
  getCurrentScope,
  hasInjectionContext,
  type InjectionKey,
  inject,
  type MaybeRefOrGetter,
  markRaw,
  onScopeDispose,
  provide,
  shallowRef,
  toValue,
  watch,
} from 'vue';

/** Where a Hearth's model stands. */
export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

/** Load options of a Hearth (it owns the `signal`: `unload()` and `dispose()` abort the load). */
export type HearthLoadOptions = Omit<LoadOptions, 'signal'>;

/** Options of {@link createHearth}. */
export interface HearthOptions {
  /**
   * The model: a URL, `{ url, sha256?, name?, license? }`, a `File`/`Blob`,
   * bytes (in Node also a file path), or a ref/getter of one. Watched: a new
   * source (URLs compare by text, files by identity) or new load options
   * reload the runner; `undefined` unloads it. Leave it out to load with `load()`.
   */
  model?: MaybeRefOrGetter<ModelSourceInput | undefined>;
  /** Load options (`backend`, `contextLength`, `cache`, `threads`, `onProgress`); watched like `model`. */
  loadOptions?: MaybeRefOrGetter<HearthLoadOptions | undefined>;
}

/** One shared model and its state, as read-only refs. */
export interface Hearth {
  /** `idle` (no model), `loading`, `ready` or `error`. */
  readonly status: ComputedRef<ModelStatus>;
  /** The loaded runner (`status === 'ready'`). */
  readonly runner: ComputedRef<LlamaRunner | undefined>;
  /** The last load progress event: `{ stage, loaded, total }` (download bytes, then each later stage). */
  readonly loadProgress: ComputedRef<LoadProgress | undefined>;
  /** Why loading failed (`status === 'error'`): a `HearthError` with a stable `code` (e.g. `HTTP_404`). */
  readonly error: ComputedRef<Error | undefined>;
  /**
   * Loads `source` (default: the `model` option's current value, or the last
   * source loaded) and resolves with the runner. Loading the source that is
   * already loaded or loading returns that runner; after an error it retries.
   */
  load(source?: ModelSourceInput, options?: HearthLoadOptions): Promise<LlamaRunner>;
  /** Aborts the load in progress or disposes the loaded runner; `status` becomes `idle`. */
  unload(): void;
  /**
   * The runner once it is ready: at once when loaded, after the load while
   * loading; rejects with the load error, or `NO_MODEL` when no model is set.
   */
  ready(): Promise<LlamaRunner>;
  /** Unloads and stops watching the options; later loads reject with `HEARTH_DISPOSED`. */
  dispose(): void;
  /** Vue plugin: `app.use(hearth)` provides it to the whole app and disposes it on `app.unmount()`. */
  install(app: App): void;
}

/** The injection key of the provided {@link Hearth}. */
export const HEARTH_KEY: InjectionKey<Hearth> = Symbol('hearth');

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/**
 * A key naming one model source and the options that change the runner: equal
 * keys share a runner. URLs compare by text, `Blob`s and buffers by identity.
 */
export function sourceKey(source: ModelSourceInput, options: HearthLoadOptions = {}): string {
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
  const { backend, contextLength, cache, threads } = options;
  return `${what}|${backend ?? 'auto'}|${contextLength ?? 0}|${cache ?? ''}|${threads ?? 0}`;
}

type Waiter = { ok: (r: LlamaRunner) => void; fail: (e: Error) => void };

/** Creates a {@link Hearth}: loads `options.model` (when given) and follows its changes. */
export function createHearth(options: HearthOptions = {}): Hearth {
  const status = shallowRef<ModelStatus>('idle');
  const runner = shallowRef<LlamaRunner | undefined>(undefined);
  const loadProgress = shallowRef<LoadProgress | undefined>(undefined);
  const error = shallowRef<Error | undefined>(undefined);
  let key: string | undefined;
  let abort: AbortController | undefined;
  let last: { source: ModelSourceInput; options: HearthLoadOptions } | undefined;
  let waiters: Waiter[] = [];
  let disposed = false;

  const settle = (outcome: { runner: LlamaRunner } | { error: Error }) => {
    const all = waiters;
    waiters = [];
    for (const w of all) 'runner' in outcome ? w.ok(outcome.runner) : w.fail(outcome.error);
  };

  function unload(): void {
    if (abort === undefined) return;
    abort.abort();
    runner.value?.dispose();
    abort = undefined;
    key = undefined;
    status.value = 'idle';
    runner.value = undefined;
    loadProgress.value = undefined;
    error.value = undefined;
    settle({
      error: new HearthError('MODEL_UNLOADED', 'the model was unloaded before it was ready'),
    });
  }

  function ready(): Promise<LlamaRunner> {
    if (status.value === 'ready' && runner.value) return Promise.resolve(runner.value);
    if (status.value === 'error' && error.value) return Promise.reject(error.value);
    if (status.value === 'idle') {
      return Promise.reject(
        new HearthError(
          'NO_MODEL',
          'no model is loaded: give createHearth/provideHearth a `model`, or call load(source)',
        ),
      );
    }
    return new Promise((ok, fail) => waiters.push({ ok, fail }));
  }

  function load(source?: ModelSourceInput, loadOptions?: HearthLoadOptions): Promise<LlamaRunner> {
    if (disposed) {
      return Promise.reject(new HearthError('HEARTH_DISPOSED', 'this Hearth was disposed'));
    }
    const current = toValue(options.model);
    let what: ModelSourceInput;
    let opts: HearthLoadOptions;
    if (source !== undefined || current !== undefined) {
      what = (source ?? current) as ModelSourceInput;
      opts = loadOptions ?? { ...toValue(options.loadOptions) };
    } else if (last !== undefined) {
      what = last.source;
      opts = loadOptions ?? last.options;
    } else {
      return ready();
    }
    const wanted = sourceKey(what, opts);
    if (wanted === key && status.value !== 'error') return ready();
    unload();
    last = { source: what, options: opts };
    key = wanted;
    const mine = new AbortController();
    abort = mine;
    status.value = 'loading';
    const waiting = ready();
    LlamaRunner.load(what, {
      ...opts,
      signal: mine.signal,
      onProgress: (progress) => {
        if (mine.signal.aborted) return;
        opts.onProgress?.(progress);
        loadProgress.value = progress;
      },
    }).then(
      (loaded) => {
        if (mine.signal.aborted) {
          loaded.dispose();
          return;
        }
        // Vue must not wrap the runner in a proxy (its private fields would break).
        runner.value = markRaw(loaded);
        status.value = 'ready';
        settle({ runner: loaded });
      },
      (e: unknown) => {
        if (mine.signal.aborted) return;
        const failure = e instanceof Error ? e : new Error(String(e));
        error.value = failure;
        status.value = 'error';
        settle({ error: failure });
      },
    );
    return waiting;
  }

  // A detached scope: the watcher lives as long as the Hearth, not as the component creating it.
  const scope = effectScope(true);
  if (options.model !== undefined) {
    scope.run(() => {
      watch(
        () => {
          const source = toValue(options.model);
          return source === undefined ? undefined : sourceKey(source, toValue(options.loadOptions));
        },
        (wanted) => {
          if (wanted === undefined) {
            last = undefined;
            unload();
            return;
          }
          const source = toValue(options.model) as ModelSourceInput;
          load(source, { ...toValue(options.loadOptions) }).catch(() => {
            // The failure is in `error`/`status`; nobody awaits this load.
          });
        },
        { immediate: true },
      );
    });
  }

  const hearth: Hearth = {
    status: computed(() => status.value),
    runner: computed(() => runner.value),
    loadProgress: computed(() => loadProgress.value),
    error: computed(() => error.value),
    load,
    unload,
    ready,
    dispose() {
      if (disposed) return;
      disposed = true;
      scope.stop();
      unload();
    },
    install(app: App) {
      app.provide(HEARTH_KEY, hearth);
      app.onUnmount(() => hearth.dispose());
    },
  };
  return hearth;
}

function isHearth(value: Hearth | HearthOptions): value is Hearth {
  return typeof (value as Hearth).ready === 'function';
}

/**
 * Provides a Hearth to the calling component's descendants (call it in
 * `setup`). Given options, it creates the Hearth and disposes it when the
 * component unmounts; given a Hearth, it only provides it.
 */
export function provideHearth(hearthOrOptions: Hearth | HearthOptions = {}): Hearth {
  const given = isHearth(hearthOrOptions);
  const hearth = given ? hearthOrOptions : createHearth(hearthOrOptions);
  provide(HEARTH_KEY, hearth);
  if (!given && getCurrentScope()) onScopeDispose(() => hearth.dispose());
  return hearth;
}

/** The provided Hearth, or `undefined` (outside a component, or none provided). */
export function injectHearth(): Hearth | undefined {
  return hasInjectionContext() ? inject(HEARTH_KEY, undefined) : undefined;
}

/**
 * The Hearth provided by `app.use(createHearth(…))` or a parent's
 * `provideHearth()`. Throws `HearthError` `NO_HEARTH` when there is none.
 */
export function useHearth(): Hearth {
  const hearth = injectHearth();
  if (hearth === undefined) throw noHearth();
  return hearth;
}

/** The error of a composable that found no Hearth. @internal */
export function noHearth(): HearthError {
  return new HearthError(
    'NO_HEARTH',
    'no Hearth here: app.use(createHearth({ model })), provideHearth() in a parent component, or pass { model } or { hearth } to the composable',
  );
}

/** Options naming the model of a composable (else the injected Hearth). */
export interface ModelOptions {
  /** The Hearth to use instead of the injected one. */
  hearth?: Hearth;
  /**
   * A model of this composable's own (a source or a ref/getter of one): loaded
   * by a Hearth the composable creates and disposes with its scope.
   */
  model?: MaybeRefOrGetter<ModelSourceInput | undefined>;
  /** Load options of `model`. */
  loadOptions?: MaybeRefOrGetter<HearthLoadOptions | undefined>;
}

/** The composable's Hearth: `hearth`, an own one for `model`, or the injected one. @internal */
export function resolveHearth(options: ModelOptions): Hearth {
  if (options.hearth) return options.hearth;
  if (options.model !== undefined) {
    const own = createHearth({
      model: options.model,
      ...(options.loadOptions !== undefined ? { loadOptions: options.loadOptions } : {}),
    });
    if (getCurrentScope()) onScopeDispose(() => own.dispose());
    return own;
  }
  return useHearth();
}
