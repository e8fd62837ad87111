/**
 * The IndexedDB store (database `hearth-models`): a `manifests` record per
 * model and its bytes as fixed-size `chunks` records keyed `[key, index]`
 * (16 MiB: large enough to keep transactions few, small enough to write one
 * at a time). A chunk and the manifest's `storedBytes` are written in one
 * transaction, so an interrupted download always knows what it holds.
 */

import { HearthError, RunnerErrorCode } from '../errors.js';
import {
  type CacheStore,
  type CacheWriter,
  type Manifest,
  type StoredManifest,
  storageError,
} from './store.js';

/** Bytes per chunk record. */
export const IDB_CHUNK = 16 << 20;
const DB = 'hearth-models';
const MANIFESTS = 'manifests';
const CHUNKS = 'chunks';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
  });
}

/** All chunk records of `key`. */
function chunksOf(key: string, from = 0): IDBKeyRange {
  return IDBKeyRange.bound([key, from], [key, Number.MAX_SAFE_INTEGER]);
}

/** The model cache in IndexedDB. */
export class IndexedDbStore implements CacheStore {
  readonly kind = 'indexeddb';
  #db: IDBDatabase;

  private constructor(db: IDBDatabase) {
    this.#db = db;
  }

  /** Opens (creating it) the `hearth-models` database. */
  static async open(): Promise<IndexedDbStore> {
    if (typeof indexedDB === 'undefined') {
      throw new HearthError(RunnerErrorCode.Cache, 'IndexedDB is not available here');
    }
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(MANIFESTS))
        db.createObjectStore(MANIFESTS, { keyPath: 'key' });
      if (!db.objectStoreNames.contains(CHUNKS)) db.createObjectStore(CHUNKS);
    };
    const db = await request(req);
    // Another tab upgrading the schema: let it.
    db.onversionchange = () => db.close();
    return new IndexedDbStore(db);
  }

  async #run<T>(
    stores: string[],
    mode: IDBTransactionMode,
    what: string,
    body: (tx: IDBTransaction) => Promise<T> | T,
  ): Promise<T> {
    try {
      const tx = this.#db.transaction(stores, mode);
      const finished = done(tx);
      // Awaited below; a body that throws first must not leave it unhandled.
      finished.catch(() => {});
      const value = await body(tx);
      await finished;
      return value;
    } catch (e) {
      throw storageError(e, what);
    }
  }

  list(): Promise<StoredManifest[]> {
    return this.#run([MANIFESTS], 'readonly', 'listing models', (tx) =>
      request(tx.objectStore(MANIFESTS).getAll() as IDBRequest<StoredManifest[]>),
    );
  }

  get(key: string): Promise<StoredManifest | undefined> {
    return this.#run([MANIFESTS], 'readonly', 'reading a manifest', (tx) =>
      request(tx.objectStore(MANIFESTS).get(key) as IDBRequest<StoredManifest | undefined>),
    );
  }

  put(manifest: Manifest): Promise<void> {
    return this.#run([MANIFESTS], 'readwrite', 'writing a manifest', async (tx) => {
      const store = tx.objectStore(MANIFESTS);
      const old = await request(store.get(manifest.key) as IDBRequest<StoredManifest | undefined>);
      const { storedBytes: _, ...m } = manifest as StoredManifest;
      store.put({ ...m, storedBytes: old?.storedBytes ?? 0 });
    });
  }

  async write(key: string, offset: number): Promise<CacheWriter> {
    const first = Math.floor(offset / IDB_CHUNK);
    const buffer = new Uint8Array(IDB_CHUNK);
    let filled = offset - first * IDB_CHUNK;
    let index = first;
    // Drop what lies past `offset`, keeping the head of a partly used chunk.
    await this.#run([MANIFESTS, CHUNKS], 'readwrite', 'opening a model for writing', async (tx) => {
      const chunks = tx.objectStore(CHUNKS);
      if (filled > 0) {
        const last = await request(chunks.get([key, first]) as IDBRequest<ArrayBuffer | undefined>);
        if (!last || last.byteLength < filled) {
          throw new HearthError(
            RunnerErrorCode.Cache,
            `cached chunk ${first} of ${key} is missing`,
          );
        }
        buffer.set(new Uint8Array(last, 0, filled));
      }
      chunks.delete(chunksOf(key, filled > 0 ? first + 1 : first));
      if (filled > 0) chunks.put(buffer.slice(0, filled).buffer, [key, first]);
      const manifests = tx.objectStore(MANIFESTS);
      const m = await request(manifests.get(key) as IDBRequest<StoredManifest | undefined>);
      if (m) manifests.put({ ...m, storedBytes: offset });
    });
    /** Stores the buffer's `filled` bytes as chunk `index`, with the manifest's count. */
    const flush = () =>
      this.#run([MANIFESTS, CHUNKS], 'readwrite', 'writing a model', async (tx) => {
        tx.objectStore(CHUNKS).put(buffer.slice(0, filled).buffer, [key, index]);
        const manifests = tx.objectStore(MANIFESTS);
        const m = await request(manifests.get(key) as IDBRequest<StoredManifest | undefined>);
        if (m) manifests.put({ ...m, storedBytes: index * IDB_CHUNK + filled });
      });
    let flushed = filled;
    return {
      async write(bytes) {
        let at = 0;
        while (at < bytes.byteLength) {
          const n = Math.min(IDB_CHUNK - filled, bytes.byteLength - at);
          buffer.set(bytes.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled === IDB_CHUNK) {
            await flush();
            index += 1;
            filled = 0;
            flushed = 0;
          }
        }
      },
      async close() {
        if (filled > flushed) {
          await flush();
          flushed = filled;
        }
      },
    };
  }

  async *read(
    key: string,
    start: number,
    end: number | undefined,
    signal?: AbortSignal,
  ): AsyncIterable<ArrayBuffer> {
    const entry = await this.get(key);
    if (!entry) throw new HearthError(RunnerErrorCode.Cache, `no cached model ${key}`);
    const stop = Math.min(end ?? entry.storedBytes, entry.storedBytes);
    for (let i = Math.floor(start / IDB_CHUNK); i * IDB_CHUNK < stop; i += 1) {
      if (signal?.aborted) {
        throw new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted', {
          cause: signal.reason,
        });
      }
      const chunk = await this.#run([CHUNKS], 'readonly', 'reading a cached model', (tx) =>
        request(tx.objectStore(CHUNKS).get([key, i]) as IDBRequest<ArrayBuffer | undefined>),
      );
      if (!chunk)
        throw new HearthError(RunnerErrorCode.Cache, `cached chunk ${i} of ${key} is missing`);
      const from = Math.max(start - i * IDB_CHUNK, 0);
      const to = Math.min(stop - i * IDB_CHUNK, chunk.byteLength);
      yield from === 0 && to === chunk.byteLength ? chunk : chunk.slice(from, to);
    }
  }

  commit(manifest: Manifest): Promise<void> {
    return this.put(manifest);
  }

  delete(key: string): Promise<boolean> {
    return this.#run([MANIFESTS, CHUNKS], 'readwrite', 'deleting a model', async (tx) => {
      const manifests = tx.objectStore(MANIFESTS);
      const existed = (await request(manifests.count(key))) > 0;
      manifests.delete(key);
      tx.objectStore(CHUNKS).delete(chunksOf(key));
      return existed;
    });
  }

  clear(): Promise<void> {
    return this.#run([MANIFESTS, CHUNKS], 'readwrite', 'clearing the cache', (tx) => {
      tx.objectStore(MANIFESTS).clear();
      tx.objectStore(CHUNKS).clear();
    });
  }

  async usage(): Promise<{ used: number; quota?: number }> {
    const used = (await this.list()).reduce((n, e) => n + e.storedBytes, 0);
    const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
    return estimate?.quota !== undefined ? { used, quota: estimate.quota } : { used };
  }

  available(): Promise<number | undefined> {
    return originAvailable();
  }
}

/** The origin's quota minus its usage (`navigator.storage.estimate()`), when known. */
export async function originAvailable(): Promise<number | undefined> {
  const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
  if (estimate?.quota === undefined) return undefined;
  return estimate.quota - (estimate.usage ?? 0);
}
