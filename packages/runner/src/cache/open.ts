/**
 * Which loads go through the model cache: http(s) URL sources (a string URL,
 * `URL` or `{ url }`), with the `cache` load option or the environment's default
 * store. Blobs, bytes and local paths are read directly.
 */

import { HearthError, RunnerErrorCode } from '../errors.js';
import type { LoadProgress } from '../runner.js';
import { type ModelSourceInput, type OpenedSource, openSource } from '../source.js';
import { openCached } from './download.js';
import { type CacheStore, type CacheStoreKind, defaultStoreKind, openStore } from './store.js';

/** The `cache` load option. */
export type CacheOption = CacheStoreKind | 'none';

const OPTIONS: readonly CacheOption[] = ['indexeddb', 'opfs', 'fs', 'none'];

/** Throws `INVALID_OPTION` unless `cache` is a {@link CacheOption} or undefined. */
export function checkCacheOption(cache: unknown): void {
  if (cache !== undefined && !OPTIONS.includes(cache as CacheOption)) {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option cache: ${JSON.stringify(cache)} (expected one of ${OPTIONS.join(', ')})`,
    );
  }
}

/** Only http(s) downloads are cached (not `data:` or `blob:` URLs, which are local already). */
function isHttp(url: string | URL): boolean {
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    return /^https?:$/.test(new URL(String(url), base).protocol);
  } catch {
    return false;
  }
}

/** Opens `source`, through the cache when it is a URL and caching is on. */
export async function openModelSource(
  source: ModelSourceInput,
  cache: CacheOption | undefined,
  signal: AbortSignal | undefined,
  progress: (p: LoadProgress) => void,
): Promise<OpenedSource> {
  const input =
    typeof source === 'string' || source instanceof URL
      ? { url: source }
      : typeof source === 'object' && source !== null && 'url' in source
        ? source
        : undefined;
  const kind = cache ?? defaultStoreKind();
  if (!input || kind === undefined || kind === 'none' || !isHttp(input.url)) {
    return openSource(source, signal);
  }
  // Validates the sha256 and the source's shape as an uncached load would.
  if (input.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(input.sha256)) {
    return openSource(source, signal);
  }
  let store: CacheStore;
  try {
    store = await openStore(kind);
  } catch (e) {
    // The default store may be missing (private browsing, no IndexedDB): load without it.
    if (cache === undefined) return openSource(source, signal);
    throw e;
  }
  return openCached(store, input, signal, progress);
}
