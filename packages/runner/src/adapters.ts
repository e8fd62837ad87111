/**
 * The adapter registry: how a model format or engine plugs into `@hearth/runner` without
 * changes to the engine. `EmbeddingRunner.load(source)` asks each registered adapter, newest
 * first, whether it `canLoad` the source (seeing its first bytes when the source is bytes or
 * a `Blob`), and loads with the first that does. The built-in adapters go through it too:
 * `hearth` (SafeTensors model directories in hearth-core) and `onnx` (onnxruntime).
 */

import type { EmbeddingEngine } from './embedding.js';
import { HearthError } from './errors.js';

/** Options every adapter receives (plus its own, passed through untouched). */
export interface AdapterLoadOptions {
  /** Aborts loading; the promise rejects with code `ABORTED`. */
  signal?: AbortSignal;
  /** Load with this adapter only (by name), skipping `canLoad`. */
  adapter?: string;
  [option: string]: unknown;
}

/** A format or engine that loads embedding models. */
export interface ModelAdapter {
  /** A unique name (`hearth`, `onnx` …); registering the same name again replaces it. */
  name: string;
  /**
   * Whether this adapter loads `source`. `header`: the first bytes (up to 64) when the source
   * is in memory (`ArrayBuffer`, `Uint8Array`, `Blob`), else `undefined` (decide by the
   * source's shape or name). Must not throw.
   */
  canLoad(source: unknown, header: Uint8Array | undefined): boolean;
  /** Loads the model; errors should be `HearthError`s with a stable `code`. */
  load(source: unknown, options: AdapterLoadOptions): Promise<EmbeddingEngine>;
}

/** Newest first. */
const registry: ModelAdapter[] = [];

/**
 * Registers an adapter; it is asked before those registered earlier (so it can take over
 * sources a built-in one would load). Returns a function that unregisters it.
 */
export function registerAdapter(adapter: ModelAdapter): () => void {
  if (
    typeof adapter?.name !== 'string' ||
    typeof adapter.canLoad !== 'function' ||
    typeof adapter.load !== 'function'
  ) {
    throw new HearthError(
      'HEARTH_INVALID_ARGUMENT',
      'an adapter needs a name, canLoad(source, header) and load(source, options)',
    );
  }
  const old = registry.findIndex((a) => a.name === adapter.name);
  if (old >= 0) registry.splice(old, 1);
  registry.unshift(adapter);
  return () => {
    const i = registry.indexOf(adapter);
    if (i >= 0) registry.splice(i, 1);
  };
}

/** The registered adapters' names, in the order they are asked. */
export function adapterNames(): string[] {
  return registry.map((a) => a.name);
}

async function headerOf(source: unknown): Promise<Uint8Array | undefined> {
  if (source instanceof Uint8Array) return source.subarray(0, 64);
  if (source instanceof ArrayBuffer)
    return new Uint8Array(source, 0, Math.min(64, source.byteLength));
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return new Uint8Array(await source.slice(0, 64).arrayBuffer());
  }
  return undefined;
}

/** Loads `source` with the adapter named in `options.adapter`, or the first that accepts it. */
export async function loadWithAdapters(
  source: unknown,
  options: AdapterLoadOptions,
): Promise<EmbeddingEngine> {
  if (options.adapter !== undefined) {
    const named = registry.find((a) => a.name === options.adapter);
    if (!named) {
      throw new HearthError(
        'NO_ADAPTER',
        `no adapter named ${JSON.stringify(options.adapter)} (registered: ${adapterNames().join(', ')})`,
      );
    }
    return named.load(source, options);
  }
  const header = await headerOf(source);
  for (const adapter of registry) {
    let ok = false;
    try {
      ok = adapter.canLoad(source, header);
    } catch {
      ok = false;
    }
    if (ok) return adapter.load(source, options);
  }
  throw new HearthError(
    'NO_ADAPTER',
    `no registered adapter loads this source (registered: ${adapterNames().join(', ')})`,
  );
}
