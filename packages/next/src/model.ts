/**
 * One loaded model per process, kept on `globalThis`: Next.js re-evaluates
 * route modules on every hot reload in `next dev`, and a module-level variable
 * would load the model again (and leak the old one) each time.
 *
 * @module
 */

import type { LlamaRunner, LoadOptions, ModelSourceInput } from '@hearth/runner';

/** A model source that names the model the same way after a reload: a file path, a URL or `{ url, sha256? … }`. */
export type SharedModelSource = Extract<ModelSourceInput, string | URL | { url: string | URL }>;

import { assertNodeRuntime } from './runtime.js';

/**
 * `@hearth/runner`, imported by Node at run time, never by the bundler: its
 * native addon cannot be bundled, and `serverExternalPackages` does not apply
 * to packages linked from a workspace (they are bundled as project code).
 */
function loadRunnerModule(): Promise<typeof import('@hearth/runner')> {
  return import(/* webpackIgnore: true */ /* turbopackIgnore: true */ '@hearth/runner');
}

/** Survives module re-evaluation: one registry per process, whichever copy of this module asks. */
const REGISTRY = Symbol.for('@hearth/next.models');

type Registry = Map<string, Promise<LlamaRunner>>;

function registry(): Registry {
  const g = globalThis as { [REGISTRY]?: Registry };
  g[REGISTRY] ??= new Map();
  return g[REGISTRY];
}

/** Options of {@link sharedModel}: `LlamaRunner.load`'s, less the per-call `signal`. */
export type SharedModelOptions = Omit<LoadOptions, 'signal'>;

function keyOf(source: SharedModelSource, options: SharedModelOptions): string {
  const { onProgress: _, ...rest } = options;
  const label =
    typeof source === 'string' || source instanceof URL
      ? String(source)
      : typeof source === 'object' && source !== null && 'url' in source
        ? JSON.stringify(source)
        : undefined;
  if (label === undefined) {
    throw new TypeError(
      '@hearth/next: sharedModel takes a file path, a URL or { url }, so that reloads find the same model',
    );
  }
  return JSON.stringify([label, rest]);
}

/**
 * The runner for `source`, loaded once per process (a file path or URL, and
 * the load options that change the engine: `backend`, `contextLength` …).
 * Concurrent callers share one load; a failed load is forgotten, so the next
 * call tries again; a disposed runner is loaded again.
 */
export async function sharedModel(
  source: SharedModelSource,
  options: SharedModelOptions = {},
): Promise<LlamaRunner> {
  assertNodeRuntime();
  const models = registry();
  const key = keyOf(source, options);
  const cached = models.get(key);
  if (cached) {
    const runner = await cached.catch(() => undefined);
    if (runner && !runner.disposed) return runner;
    if (models.get(key) === cached) models.delete(key);
    return sharedModel(source, options);
  }
  const loading = loadRunnerModule().then(({ LlamaRunner }) => LlamaRunner.load(source, options));
  models.set(key, loading);
  loading.catch(() => {
    if (models.get(key) === loading) models.delete(key);
  });
  return loading;
}

/** Disposes every shared model and forgets it (tests, graceful shutdown). */
export async function disposeSharedModels(): Promise<void> {
  const models = registry();
  const all = [...models.values()];
  models.clear();
  for (const loading of all) (await loading.catch(() => undefined))?.dispose();
}
