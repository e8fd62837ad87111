/**
 * `ModelCache`: the public view of the model cache, to list, check and
 * delete the models `LlamaRunner.load` stored.
 */

import { HearthError, RunnerErrorCode } from '../errors.js';
import { createSha256 } from './hash.js';
import {
  absoluteUrl,
  type CacheStore,
  type CacheStoreKind,
  cacheKey,
  defaultStoreKind,
  isCacheKey,
  openStore,
  type StoredManifest,
} from './store.js';

/** One cached model. */
export interface CacheEntry {
  /** Stable id of the entry (derived from the URL). */
  key: string;
  url: string;
  name?: string;
  license?: string;
  /** Size of the whole model in bytes (0 while unknown). */
  size: number;
  /** Bytes stored so far (`size` once complete). */
  storedBytes: number;
  /** SHA-256 (lowercase hex) of the complete model, or the expected one of a partial download. */
  sha256?: string;
  etag?: string;
  /** The URL's host. */
  source: string;
  /** When the download started (ms since the epoch). */
  createdAt: number;
  /** When the model was last loaded (ms since the epoch). */
  lastUsedAt: number;
  /** All bytes are stored and verified; `false` for a download that can resume. */
  complete: boolean;
  store: CacheStoreKind;
}

function toEntry(m: StoredManifest, store: CacheStoreKind): CacheEntry {
  return {
    key: m.key,
    url: m.url,
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.license !== undefined ? { license: m.license } : {}),
    size: m.size,
    storedBytes: m.storedBytes,
    ...(m.sha256 !== undefined ? { sha256: m.sha256 } : {}),
    ...(m.etag !== undefined ? { etag: m.etag } : {}),
    source: m.source,
    createdAt: m.createdAt,
    lastUsedAt: m.lastUsedAt,
    complete: m.complete,
    store,
  };
}

/**
 * The models stored by `LlamaRunner.load` in one store: IndexedDB or OPFS
 * (browsers), a directory (Node).
 */
export class ModelCache {
  #store: CacheStore;

  private constructor(store: CacheStore) {
    this.#store = store;
  }

  /**
   * Opens a store: by default `indexeddb` in browsers and `fs` in Node
   * (`options.dir`, else `$HEARTH_CACHE_DIR`, else `~/.cache/hearth/models-cache`).
   *
   * @throws {HearthError} `INVALID_OPTION` (a store this environment lacks), `CACHE_ERROR`.
   */
  static async open(
    store?: 'indexeddb' | 'opfs' | 'fs',
    options: { dir?: string } = {},
  ): Promise<ModelCache> {
    const kind = store ?? defaultStoreKind();
    if (kind === undefined) {
      throw new HearthError(
        RunnerErrorCode.InvalidOption,
        'no model cache store is available here',
      );
    }
    return new ModelCache(await openStore(kind, options));
  }

  /** Which store this is. */
  get store(): CacheStoreKind {
    return this.#store.kind;
  }

  #key(urlOrKey: string): string {
    return isCacheKey(urlOrKey) ? urlOrKey : cacheKey(absoluteUrl(urlOrKey));
  }

  /** Every entry, complete or not, most recently used first. */
  async list(): Promise<CacheEntry[]> {
    const all = await this.#store.list();
    return all.map((m) => toEntry(m, this.#store.kind)).sort((a, b) => b.lastUsedAt - a.lastUsedAt);
  }

  /** The entry of a URL (as given to `load`) or key. */
  async get(urlOrKey: string): Promise<CacheEntry | undefined> {
    const m = await this.#store.get(this.#key(urlOrKey));
    return m && toEntry(m, this.#store.kind);
  }

  /**
   * Hashes the stored bytes again and compares them with the manifest's
   * SHA-256: `false` for a missing, incomplete or damaged entry.
   */
  async verify(urlOrKey: string): Promise<boolean> {
    const key = this.#key(urlOrKey);
    const m = await this.#store.get(key);
    if (!m?.complete || m.sha256 === undefined || m.storedBytes !== m.size) return false;
    const hash = createSha256();
    let n = 0;
    for await (const chunk of this.#store.read(key, 0, undefined)) {
      hash.update(new Uint8Array(chunk));
      n += chunk.byteLength;
    }
    return n === m.size && hash.hex() === m.sha256;
  }

  /** Deletes an entry (complete or partial); whether there was one. */
  delete(urlOrKey: string): Promise<boolean> {
    return this.#store.delete(this.#key(urlOrKey));
  }

  /** Deletes every entry. */
  clear(): Promise<void> {
    return this.#store.clear();
  }

  /** Bytes stored, and the quota (browsers: the origin's; Node: used + free disk space). */
  usage(): Promise<{ used: number; quota?: number }> {
    return this.#store.usage();
  }
}
