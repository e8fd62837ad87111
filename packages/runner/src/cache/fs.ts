/**
 * The Node file-system store: per model `<key>.json` (the manifest) and the
 * bytes, in `<key>.part` while downloading and renamed to `<key>.bin` once
 * verified, so a `.bin` file is always a complete model. Default directory:
 * `$HEARTH_CACHE_DIR`, else `~/.cache/hearth/models-cache`.
 */

import { createReadStream } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  statfs,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HearthError, RunnerErrorCode } from '../errors.js';
import {
  type CacheStore,
  type CacheWriter,
  isCacheKey,
  type Manifest,
  type StoredManifest,
  storageError,
} from './store.js';

/** `$HEARTH_CACHE_DIR`, else `~/.cache/hearth/models-cache`. */
export function defaultCacheDir(): string {
  return process.env.HEARTH_CACHE_DIR || join(homedir(), '.cache', 'hearth', 'models-cache');
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** The model cache in a directory. */
export class FsStore implements CacheStore {
  readonly kind = 'fs';
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens (creating it) the cache directory `dir`. */
  static async open(dir: string = defaultCacheDir()): Promise<FsStore> {
    await mkdir(dir, { recursive: true });
    return new FsStore(dir);
  }

  #path(key: string, ext: 'json' | 'part' | 'bin'): string {
    if (!isCacheKey(key)) {
      throw new HearthError(RunnerErrorCode.InvalidArgument, `invalid cache key ${key}`);
    }
    return join(this.dir, `${key}.${ext}`);
  }

  async list(): Promise<StoredManifest[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const entries = await Promise.all(
      names
        .filter((n) => n.endsWith('.json') && isCacheKey(n.slice(0, -5)))
        .map((n) => this.get(n.slice(0, -5))),
    );
    return entries.filter((e): e is StoredManifest => e !== undefined);
  }

  async get(key: string): Promise<StoredManifest | undefined> {
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(this.#path(key, 'json'), 'utf8')) as Manifest;
    } catch {
      return undefined;
    }
    const stored = manifest.complete
      ? await sizeOf(this.#path(key, 'bin'))
      : await sizeOf(this.#path(key, 'part'));
    // A complete manifest without its file is not complete.
    if (manifest.complete && stored === undefined) manifest.complete = false;
    return { ...manifest, storedBytes: stored ?? 0 };
  }

  async put(manifest: Manifest): Promise<void> {
    const { storedBytes: _, ...m } = manifest as StoredManifest;
    // Write then rename: a reader never sees half a manifest.
    const path = this.#path(m.key, 'json');
    try {
      await writeFile(`${path}.tmp`, JSON.stringify(m, null, 2));
      await rename(`${path}.tmp`, path);
    } catch (e) {
      throw storageError(e, 'writing a manifest');
    }
  }

  async write(key: string, offset: number): Promise<CacheWriter> {
    const part = this.#path(key, 'part');
    await rm(this.#path(key, 'bin'), { force: true });
    let file: FileHandle;
    try {
      file = await open(part, offset > 0 ? 'r+' : 'w');
      await file.truncate(offset);
    } catch (e) {
      throw storageError(e, 'opening a model file');
    }
    let at = offset;
    return {
      async write(bytes) {
        try {
          await file.write(bytes, 0, bytes.byteLength, at);
        } catch (e) {
          throw storageError(e, 'writing a model');
        }
        at += bytes.byteLength;
      },
      async close() {
        await file.close();
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
    const last = (end ?? entry.storedBytes) - 1;
    if (last < start) return;
    const stream = createReadStream(this.#path(key, entry.complete ? 'bin' : 'part'), {
      start,
      end: last,
      highWaterMark: 4 << 20,
      ...(signal ? { signal } : {}),
    });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        // A copy in a buffer of its own: read streams share pooled memory.
        yield new Uint8Array(chunk).buffer as ArrayBuffer;
      }
    } catch (e) {
      if (signal?.aborted) {
        throw new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted', { cause: e });
      }
      throw storageError(e, 'reading a cached model');
    }
  }

  async commit(manifest: Manifest): Promise<void> {
    try {
      await rename(this.#path(manifest.key, 'part'), this.#path(manifest.key, 'bin'));
    } catch (e) {
      throw storageError(e, 'completing a model file');
    }
    await this.put(manifest);
  }

  async delete(key: string): Promise<boolean> {
    const existed = (await sizeOf(this.#path(key, 'json'))) !== undefined;
    // The manifest first: a crash in between leaves no manifest pointing at missing bytes.
    for (const ext of ['json', 'bin', 'part'] as const) {
      await rm(this.#path(key, ext), { force: true });
    }
    return existed;
  }

  async clear(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const n of names) {
      if (/^[0-9a-f]{32}\.(json|bin|part|json\.tmp)$/.test(n)) {
        await rm(join(this.dir, n), { force: true });
      }
    }
  }

  async usage(): Promise<{ used: number; quota?: number }> {
    const used = (await this.list()).reduce((n, e) => n + e.storedBytes, 0);
    const free = await this.available();
    return free === undefined ? { used } : { used, quota: used + free };
  }

  /** Free space on the cache's file system. */
  async available(): Promise<number | undefined> {
    try {
      const s = await statfs(this.dir);
      return s.bavail * s.bsize;
    } catch {
      return undefined;
    }
  }
}
