/**
 * The model cache's storage interface, shared by the IndexedDB, OPFS and
 * file-system stores, and the registry the package's entry modules fill
 * (browsers: IndexedDB and OPFS; Node: the file system).
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { HearthError, RunnerErrorCode } from '../errors.js';

/** Where cached models live. */
export type CacheStoreKind = 'indexeddb' | 'opfs' | 'fs';

/** What a store keeps about one model, next to its bytes. */
export interface Manifest {
  /** {@link cacheKey} of the URL. */
  key: string;
  /** The absolute URL the model was downloaded from. */
  url: string;
  /** Size of the whole model in bytes (0 while unknown). */
  size: number;
  /** SHA-256 (lowercase hex): the expected one while downloading, the computed one once complete. */
  sha256?: string;
  /** The server's strong ETag, used with `If-Range` to resume. */
  etag?: string;
  license?: string;
  name?: string;
  /** Where it came from: the URL's host (`huggingface.co`, `127.0.0.1:8080` …). */
  source: string;
  createdAt: number;
  lastUsedAt: number;
  /** All bytes are stored and verified. */
  complete: boolean;
}

/** A manifest with the number of bytes actually stored. */
export interface StoredManifest extends Manifest {
  storedBytes: number;
}

/** Appends bytes to one entry. */
export interface CacheWriter {
  /** Stores `bytes` (the caller may reuse or transfer them once this resolves). */
  write(bytes: Uint8Array): Promise<void>;
  /** Makes what was written durable (also after an interruption). */
  close(): Promise<void>;
}

/** One storage backend of the model cache. */
export interface CacheStore {
  readonly kind: CacheStoreKind;
  list(): Promise<StoredManifest[]>;
  get(key: string): Promise<StoredManifest | undefined>;
  /** Writes `manifest` (its `storedBytes`, if any, is ignored). */
  put(manifest: Manifest): Promise<void>;
  /** Opens the entry for writing at `offset`: stored bytes from there on are dropped. */
  write(key: string, offset: number): Promise<CacheWriter>;
  /** The entry's stored bytes from `start` up to `end` (default: all), in chunks the caller owns. */
  read(
    key: string,
    start: number,
    end: number | undefined,
    signal?: AbortSignal,
  ): AsyncIterable<ArrayBuffer>;
  /** Writes the completed (verified) `manifest` and makes the bytes final. */
  commit(manifest: Manifest): Promise<void>;
  delete(key: string): Promise<boolean>;
  clear(): Promise<void>;
  /** Bytes the cache holds, and its quota where the platform has one. */
  usage(): Promise<{ used: number; quota?: number }>;
  /** Bytes that can still be stored, when known. */
  available(): Promise<number | undefined>;
}

/** The cache key of a URL: 32 hex digits of its SHA-256 (usable as a file name). */
export function cacheKey(url: string): string {
  return bytesToHex(sha256(utf8ToBytes(url))).slice(0, 32);
}

/** Whether `s` is a cache key rather than a URL. */
export function isCacheKey(s: string): boolean {
  return /^[0-9a-f]{32}$/.test(s);
}

/** `url` made absolute (against the page's address in browsers). */
export function absoluteUrl(url: string | URL): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(String(url), base).href;
  } catch (e) {
    throw new HearthError(RunnerErrorCode.InvalidArgument, `invalid model URL ${String(url)}`, {
      cause: e,
    });
  }
}

/** Maps a storage failure onto `QUOTA_EXCEEDED` or `CACHE_ERROR`. */
export function storageError(e: unknown, what: string, needed?: number): HearthError {
  if (e instanceof HearthError) return e;
  const name = (e as { name?: unknown })?.name;
  const code = (e as { code?: unknown })?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (name === 'QuotaExceededError' || code === 'ENOSPC') {
    return new HearthError(
      RunnerErrorCode.QuotaExceeded,
      `the model cache is full while ${what}${needed !== undefined ? ` (model: ${needed} bytes)` : ''}: ${message}`,
      { cause: e },
    );
  }
  return new HearthError(RunnerErrorCode.Cache, `model cache failed while ${what}: ${message}`, {
    cause: e,
  });
}

/** Opens a store; `dir` is the file-system store's directory. */
export type StoreFactory = (options: { dir?: string }) => Promise<CacheStore>;

const factories = new Map<CacheStoreKind, StoreFactory>();
let defaultKind: CacheStoreKind | undefined;

/** Registers a store (done by the package's entry modules). @internal */
export function registerStore(
  kind: CacheStoreKind,
  factory: StoreFactory,
  isDefault = false,
): void {
  factories.set(kind, factory);
  if (isDefault) defaultKind = kind;
}

/** The store used when none is named: `indexeddb` in browsers, `fs` in Node. */
export function defaultStoreKind(): CacheStoreKind | undefined {
  return defaultKind;
}

const opened = new Map<string, Promise<CacheStore>>();

/** Opens (once per kind and directory) the store `kind`. */
export function openStore(
  kind: CacheStoreKind,
  options: { dir?: string } = {},
): Promise<CacheStore> {
  const factory = factories.get(kind);
  if (!factory) {
    return Promise.reject(
      new HearthError(
        RunnerErrorCode.InvalidOption,
        `model cache '${kind}' is not available here (available: ${[...factories.keys()].join(', ') || 'none'})`,
      ),
    );
  }
  const id = `${kind}\0${options.dir ?? ''}`;
  let store = opened.get(id);
  if (!store) {
    store = factory(options).catch((e: unknown) => {
      opened.delete(id);
      throw storageError(e, `opening the ${kind} store`);
    });
    opened.set(id, store);
  }
  return store;
}
