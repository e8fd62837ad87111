/**
 * Opens a model URL through the cache: a complete entry is read back with no
 * request; otherwise the model is downloaded (resuming a partial entry with
 * `Range` + `If-Range`), written to the store and hashed as it streams to the
 * engine, checked against the expected SHA-256, and only then marked
 * complete. Whatever goes wrong, no entry is ever marked complete without
 * all its bytes verified.
 */

import { HearthError, RunnerErrorCode } from '../errors.js';
import type { LoadProgress } from '../runner.js';
import { checkModelResponse, type OpenedSource, throwIfAborted } from '../source.js';
import { createSha256, type Sha256 } from './hash.js';
import { lockEntry } from './lock.js';
import {
  absoluteUrl,
  type CacheStore,
  type CacheWriter,
  cacheKey,
  type Manifest,
  type StoredManifest,
  storageError,
} from './store.js';

/** A model URL with what the caller knows about it. */
export interface CachedSourceInput {
  url: string | URL;
  sha256?: string;
  name?: string;
  license?: string;
}

/** `GGUF` in ASCII: the first four bytes of every model LlamaRunner loads. */
const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46];

function abortError(signal: AbortSignal | undefined, cause?: unknown): HearthError {
  return new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted', {
    cause: cause ?? signal?.reason,
  });
}

/** Reads a response body as chunks the caller owns. */
async function* body(
  response: Response,
  signal: AbortSignal | undefined,
  label: string,
): AsyncIterable<Uint8Array> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        if (signal?.aborted) throw abortError(signal, e);
        throw new HearthError(
          RunnerErrorCode.Network,
          `download of ${label} was interrupted: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e },
        );
      }
      throwIfAborted(signal);
      if (next.done) return;
      if (next.value.byteLength > 0) yield next.value;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => {});
  }
}

/** A strong validator for `If-Range` (weak ETags cannot be used for ranges). */
function strongEtag(response: Response): string | undefined {
  const etag = response.headers.get('etag');
  return etag && !etag.startsWith('W/') ? etag : undefined;
}

async function get(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<Response> {
  try {
    // `no-store`: the bytes go to our cache; the HTTP cache would hold a second copy.
    return await fetch(url, { headers, cache: 'no-store', ...(signal ? { signal } : {}) });
  } catch (e) {
    if (signal?.aborted) throw abortError(signal, e);
    throw new HearthError(
      RunnerErrorCode.Network,
      `cannot download ${url}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/** `bytes <start>-<end>/<size>` → start and size. */
function contentRange(response: Response): { start: number; size: number } | undefined {
  const m = response.headers.get('content-range')?.match(/^bytes (\d+)-\d+\/(\d+)$/);
  return m ? { start: Number(m[1]), size: Number(m[2]) } : undefined;
}

/**
 * Opens `input` through `store`. `progress` receives `verify` (when a
 * SHA-256 is expected); the caller reports the chunks as they are read.
 */
export async function openCached(
  store: CacheStore,
  input: CachedSourceInput,
  signal: AbortSignal | undefined,
  progress: (p: LoadProgress) => void,
): Promise<OpenedSource> {
  const url = absoluteUrl(input.url);
  const key = cacheKey(url);
  throwIfAborted(signal);
  // Held until the caller closes the source (the load ended, either way).
  const release = await lockEntry(key, signal);
  try {
    const opened = await openLocked(store, input, url, key, signal, progress);
    return {
      ...opened,
      close: () => {
        opened.close?.();
        release();
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}

async function openLocked(
  store: CacheStore,
  input: CachedSourceInput,
  url: string,
  key: string,
  signal: AbortSignal | undefined,
  progress: (p: LoadProgress) => void,
): Promise<OpenedSource> {
  const expected = input.sha256?.toLowerCase();
  /** What the caller says about the model now (kept over what was stored). */
  const described = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.license !== undefined ? { license: input.license } : {}),
  };
  throwIfAborted(signal);
  let entry: StoredManifest | undefined;
  try {
    entry = await store.get(key);
  } catch (e) {
    throw storageError(e, 'looking up a model');
  }

  if (entry?.complete && entry.storedBytes === entry.size) {
    if (expected === undefined || entry.sha256 === expected) {
      const { storedBytes: _, ...manifest } = entry;
      await store.put({ ...manifest, ...described, lastUsedAt: Date.now() });
      return {
        total: entry.size,
        chunks: store.read(key, 0, entry.size, signal),
        sha256: undefined,
        label: url,
        stage: 'cache-read',
        discard: () => store.delete(key).then(() => {}),
      };
    }
  }
  // Resume only a partial download of the same model with a validator.
  let resumeFrom =
    entry &&
    !entry.complete &&
    entry.etag !== undefined &&
    entry.storedBytes > 0 &&
    entry.storedBytes < entry.size &&
    (expected === undefined || entry.sha256 === undefined || entry.sha256 === expected)
      ? entry.storedBytes
      : 0;
  let response = await get(
    url,
    resumeFrom > 0 && entry?.etag ? { Range: `bytes=${resumeFrom}-`, 'If-Range': entry.etag } : {},
    signal,
  );
  if (resumeFrom > 0) {
    const range = response.status === 206 ? contentRange(response) : undefined;
    const etag = strongEtag(response);
    const resumed =
      range !== undefined &&
      range.start === resumeFrom &&
      range.size === entry?.size &&
      (etag === undefined || etag === entry.etag);
    if (!resumed) {
      resumeFrom = 0;
      // A 200 is the whole (changed) file: use it. Anything else: ask again for all of it.
      if (response.status !== 200) {
        response.body?.cancel().catch(() => {});
        response = await get(url, {}, signal);
      }
    }
  }
  try {
    checkModelResponse(response, url);
    if (resumeFrom === 0 && response.status === 206) {
      response.body?.cancel().catch(() => {});
      throw new HearthError(RunnerErrorCode.Network, `${url}: unexpected partial content (206)`);
    }
  } catch (e) {
    // Not a model (any more): nothing of it stays in the cache.
    if (entry) await store.delete(key).catch(() => {});
    throw e;
  }

  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const length = response.headers.get('content-length');
  const total =
    resumeFrom > 0
      ? entry?.size
      : length !== null && !encoded && /^\d+$/.test(length)
        ? Number(length)
        : undefined;

  if (total !== undefined) {
    const needed = total - resumeFrom;
    const available = await store.available().catch(() => undefined);
    if (available !== undefined && needed > available) {
      response.body?.cancel().catch(() => {});
      throw await quotaError(store, url, needed, `${available} are free`);
    }
  }

  const now = Date.now();
  const manifest: Manifest =
    resumeFrom > 0 && entry
      ? (({ storedBytes: _, ...m }) => ({
          ...m,
          ...described,
          ...(expected !== undefined ? { sha256: expected } : {}),
          lastUsedAt: now,
        }))(entry)
      : {
          key,
          url,
          size: total ?? 0,
          // Without a strong validator (or on a compressed response) a partial download cannot resume.
          ...(strongEtag(response) !== undefined && !encoded
            ? { etag: strongEtag(response) as string }
            : {}),
          ...(expected !== undefined ? { sha256: expected } : {}),
          ...described,
          source: new URL(url).host || new URL(url).protocol,
          createdAt: now,
          lastUsedAt: now,
          complete: false,
        };
  return {
    total,
    chunks: download(store, manifest, response, resumeFrom, expected, signal, progress, !!entry),
    sha256: undefined,
    label: url,
    stage: 'download',
    discard: () => store.delete(key).then(() => {}),
    // A load that failed before reading (e.g. the engine refused the size) leaves the body unread.
    close: () => {
      if (!response.bodyUsed) response.body?.cancel().catch(() => {});
    },
  };
}

/**
 * Streams the stored prefix (when resuming) then the response, storing and
 * hashing every chunk before handing it on, and completes the entry.
 */
async function* download(
  store: CacheStore,
  manifest: Manifest,
  response: Response,
  resumeFrom: number,
  expected: string | undefined,
  signal: AbortSignal | undefined,
  progress: (p: LoadProgress) => void,
  replaces: boolean,
): AsyncIterable<ArrayBuffer> {
  const { key, url } = manifest;
  // Nothing is written before the engine asks for the first chunk.
  if (resumeFrom === 0 && replaces) await store.delete(key);
  await store.put(manifest);
  const hash: Sha256 = createSha256();
  let writer: CacheWriter | undefined;
  let received = resumeFrom;
  let completed = false;
  /** Whether the partial bytes are worth keeping for a resume. */
  let keep = manifest.etag !== undefined && manifest.size > 0;
  try {
    // The hash state is not stored: hash the stored prefix again on resume.
    let prefix = 0;
    const head: number[] = [];
    const prefixChunks = resumeFrom > 0 ? store.read(key, 0, resumeFrom, signal) : [];
    for await (const chunk of prefixChunks) {
      const bytes = new Uint8Array(chunk);
      if (head.length < 4) head.push(...bytes.subarray(0, 4 - head.length));
      hash.update(bytes);
      prefix += chunk.byteLength;
      yield chunk;
    }
    if (prefix !== resumeFrom) {
      keep = false;
      throw new HearthError(
        RunnerErrorCode.Cache,
        `the cached part of ${url} is shorter than recorded`,
      );
    }
    writer = await store.write(key, resumeFrom);
    for await (const bytes of body(response, signal, url)) {
      if (head.length < 4) {
        head.push(...bytes.subarray(0, 4 - head.length));
        if (head.length === 4 && !isGguf(head)) {
          keep = false;
          throw notGguf(head, url);
        }
      }
      if (manifest.size > 0 && received + bytes.byteLength > manifest.size) {
        keep = false;
        throw new HearthError(
          RunnerErrorCode.Network,
          `${url} sent more than the announced ${manifest.size} bytes`,
        );
      }
      try {
        await writer.write(bytes);
      } catch (e) {
        keep = false;
        const error = storageError(e, `storing ${url}`);
        if (error.code !== RunnerErrorCode.QuotaExceeded) throw error;
        const needed = manifest.size > 0 ? manifest.size - resumeFrom : received + bytes.byteLength;
        throw await quotaError(store, url, needed, `storing failed after ${received} bytes`, e);
      }
      hash.update(bytes);
      received += bytes.byteLength;
      // Stored and hashed: the chunk may now be transferred to the engine.
      yield bytes.buffer instanceof ArrayBuffer &&
      bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer
        : (new Uint8Array(bytes).buffer as ArrayBuffer);
    }
    throwIfAborted(signal);
    if (!isGguf(head)) {
      keep = false;
      throw notGguf(head, url);
    }
    if (manifest.size > 0 && received !== manifest.size) {
      throw new HearthError(
        RunnerErrorCode.Network,
        `download of ${url} ended after ${received} of ${manifest.size} bytes`,
      );
    }
    await writer.close();
    writer = undefined;
    if (expected !== undefined) progress({ stage: 'verify', loaded: 0, total: 1 });
    const digest = hash.hex();
    if (expected !== undefined && digest !== expected) {
      keep = false;
      throw new HearthError(
        RunnerErrorCode.Sha256Mismatch,
        `SHA-256 mismatch for ${url}: expected ${expected}, got ${digest}`,
      );
    }
    await store.commit({ ...manifest, size: received, sha256: digest, complete: true });
    completed = true;
    if (expected !== undefined) progress({ stage: 'verify', loaded: 1, total: 1 });
  } finally {
    if (!completed) {
      // Keep the partial bytes (marked incomplete) for a resume, or drop them.
      await writer?.close().catch(() => {});
      if (!keep) await store.delete(key).catch(() => {});
    }
  }
}

/** `QUOTA_EXCEEDED`, naming the model's size and the cache's usage and quota. */
async function quotaError(
  store: CacheStore,
  url: string,
  needed: number,
  detail: string,
  cause?: unknown,
): Promise<HearthError> {
  const { used, quota } = await store.usage().catch(() => ({ used: 0, quota: undefined }));
  return new HearthError(
    RunnerErrorCode.QuotaExceeded,
    `the ${store.kind} model cache has no room for ${url}: the model needs ${needed} bytes, ${detail} ` +
      `(the cache holds ${used} bytes${quota !== undefined ? `, quota ${quota}` : ''}); ` +
      "delete cached models (ModelCache) or load with { cache: 'none' }",
    { cause },
  );
}

function isGguf(head: number[]): boolean {
  return GGUF_MAGIC.every((b, i) => head[i] === b);
}

function notGguf(head: number[], url: string): HearthError {
  const shown = head.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return new HearthError(
    'GGUF_BAD_MAGIC',
    `${url} is not a GGUF model: it starts with ${shown || 'nothing'}, not "GGUF"`,
  );
}
