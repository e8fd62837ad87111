/**
 * The Origin Private File System store (directory `hearth-models`): per
 * model `<key>.bin` (the bytes) and `<key>.json` (the manifest). Writes go
 * through `createWritable()`, which commits on `close()`: an interrupted
 * download keeps what was written before the interruption was handled (a
 * tab that is killed loses the unclosed part).
 */

import { HearthError, RunnerErrorCode } from '../errors.js';
import { originAvailable } from './indexeddb.js';
import {
  type CacheStore,
  type CacheWriter,
  isCacheKey,
  type Manifest,
  type StoredManifest,
  storageError,
} from './store.js';

const DIR = 'hearth-models';
/** Bytes per chunk read back. */
const READ_CHUNK = 8 << 20;

function isNotFound(e: unknown): boolean {
  return (e as { name?: unknown })?.name === 'NotFoundError';
}

/** The model cache in the origin private file system. */
export class OpfsStore implements CacheStore {
  readonly kind = 'opfs';
  #dir: FileSystemDirectoryHandle;

  private constructor(dir: FileSystemDirectoryHandle) {
    this.#dir = dir;
  }

  /** Opens (creating it) the `hearth-models` directory. */
  static async open(): Promise<OpfsStore> {
    if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) {
      throw new HearthError(
        RunnerErrorCode.Cache,
        'the origin private file system is not available',
      );
    }
    const root = await navigator.storage.getDirectory();
    return new OpfsStore(await root.getDirectoryHandle(DIR, { create: true }));
  }

  async #file(
    key: string,
    ext: 'json' | 'bin',
    create = false,
  ): Promise<FileSystemFileHandle | undefined> {
    if (!isCacheKey(key))
      throw new HearthError(RunnerErrorCode.InvalidArgument, `invalid cache key ${key}`);
    try {
      return await this.#dir.getFileHandle(`${key}.${ext}`, { create });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw storageError(e, 'opening a cached file');
    }
  }

  async list(): Promise<StoredManifest[]> {
    const keys: string[] = [];
    // `keys()` is in lib.dom's async-iterable part, not in our lib setting.
    for await (const name of (this.#dir as unknown as { keys(): AsyncIterable<string> }).keys()) {
      if (name.endsWith('.json') && isCacheKey(name.slice(0, -5))) keys.push(name.slice(0, -5));
    }
    const entries = await Promise.all(keys.map((k) => this.get(k)));
    return entries.filter((e): e is StoredManifest => e !== undefined);
  }

  async get(key: string): Promise<StoredManifest | undefined> {
    const json = await this.#file(key, 'json');
    if (!json) return undefined;
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await (await json.getFile()).text()) as Manifest;
    } catch {
      return undefined;
    }
    const bin = await this.#file(key, 'bin');
    const storedBytes = bin ? (await bin.getFile()).size : 0;
    if (manifest.complete && storedBytes !== manifest.size) manifest.complete = false;
    return { ...manifest, storedBytes };
  }

  async put(manifest: Manifest): Promise<void> {
    const { storedBytes: _, ...m } = manifest as StoredManifest;
    try {
      const file = (await this.#file(m.key, 'json', true)) as FileSystemFileHandle;
      const w = await file.createWritable();
      await w.write(JSON.stringify(m));
      await w.close();
    } catch (e) {
      throw storageError(e, 'writing a manifest');
    }
  }

  async write(key: string, offset: number): Promise<CacheWriter> {
    let w: FileSystemWritableFileStream;
    try {
      const file = (await this.#file(key, 'bin', true)) as FileSystemFileHandle;
      w = await file.createWritable({ keepExistingData: offset > 0 });
      if (offset > 0) {
        await w.truncate(offset);
        await w.seek(offset);
      }
    } catch (e) {
      throw storageError(e, 'opening a model file');
    }
    return {
      async write(bytes) {
        try {
          await w.write(bytes as Uint8Array<ArrayBuffer>);
        } catch (e) {
          throw storageError(e, 'writing a model');
        }
      },
      async close() {
        try {
          await w.close();
        } catch (e) {
          throw storageError(e, 'saving a model');
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
    const bin = await this.#file(key, 'bin');
    if (!bin) throw new HearthError(RunnerErrorCode.Cache, `no cached model ${key}`);
    const file = await bin.getFile();
    const stop = Math.min(end ?? file.size, file.size);
    for (let at = start; at < stop; at += READ_CHUNK) {
      if (signal?.aborted) {
        throw new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted', {
          cause: signal.reason,
        });
      }
      try {
        yield await file.slice(at, Math.min(at + READ_CHUNK, stop)).arrayBuffer();
      } catch (e) {
        throw storageError(e, 'reading a cached model');
      }
    }
  }

  commit(manifest: Manifest): Promise<void> {
    return this.put(manifest);
  }

  async delete(key: string): Promise<boolean> {
    let existed = false;
    // The manifest first: no manifest ever points at missing bytes.
    for (const ext of ['json', 'bin'] as const) {
      try {
        await this.#dir.removeEntry(`${key}.${ext}`);
        if (ext === 'json') existed = true;
      } catch (e) {
        if (!isNotFound(e)) throw storageError(e, 'deleting a model');
      }
    }
    return existed;
  }

  async clear(): Promise<void> {
    const names: string[] = [];
    for await (const name of (this.#dir as unknown as { keys(): AsyncIterable<string> }).keys()) {
      names.push(name);
    }
    for (const name of names) await this.#dir.removeEntry(name).catch(() => {});
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
