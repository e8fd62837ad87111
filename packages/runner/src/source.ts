/**
 * Model sources (URL, `Blob`/`File`, bytes) as a stream of chunks with a
 * known size, read on the main thread and transferred to the engine worker.
 */

import { HearthError, RunnerErrorCode } from './errors.js';

/** Where a model comes from. */
export type ModelSourceInput =
  | string
  | URL
  | Blob
  | ArrayBuffer
  | Uint8Array
  | {
      url: string | URL;
      /** Expected SHA-256 (hex); the download is verified before it is parsed. */
      sha256?: string;
      /** A display name. */
      name?: string;
      /** The model's license, for display. */
      license?: string;
    };

/** A source opened for reading. */
export interface OpenedSource {
  /** Size in bytes, when known before reading (Content-Length, Blob size). */
  total: number | undefined;
  /** Chunks whose buffers the caller may transfer (no one else holds them). */
  chunks: AsyncIterable<ArrayBuffer>;
  sha256: string | undefined;
  /** For error messages. */
  label: string;
  /** The progress stage reading it is (default `download`). */
  stage?: 'download' | 'cache-read';
  /** Forgets the cached copy (called when the engine rejects the bytes). */
  discard?: () => Promise<void>;
  /** Called once the load ended, either way (releases the cache entry's lock). */
  close?: () => void;
}

/** Chunk size used when slicing in-memory sources. */
const SLICE = 4 << 20;

function aborted(signal: AbortSignal | undefined): HearthError {
  const reason: unknown = signal?.reason;
  const detail =
    reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  return new HearthError(
    RunnerErrorCode.Aborted,
    `model loading was aborted${detail ? `: ${detail}` : ''}`,
    { cause: reason },
  );
}

/** Throws {@link RunnerErrorCode.Aborted} when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw aborted(signal);
}

/** A buffer that can be transferred: `chunk`'s own, or a copy when it is a view into more. */
function ownBuffer(chunk: Uint8Array): ArrayBuffer {
  const { buffer } = chunk;
  if (
    buffer instanceof ArrayBuffer &&
    chunk.byteOffset === 0 &&
    chunk.byteLength === buffer.byteLength
  ) {
    return buffer;
  }
  return copyOf(chunk);
}

/**
 * A copy of `bytes` in a buffer of its own. Not `bytes.slice()`: on a Node
 * `Buffer` that is a view of the same memory, whose transfer would detach it.
 */
function copyOf(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer as ArrayBuffer;
}

async function* readStream(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncIterable<ArrayBuffer> {
  const reader = stream.getReader();
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      throwIfAborted(signal);
      if (done) return;
      if (value.byteLength > 0) yield ownBuffer(value);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

/** Copies `bytes` out in slices (the caller's buffer is never transferred away). */
async function* sliceBytes(bytes: Uint8Array): AsyncIterable<ArrayBuffer> {
  for (let at = 0; at < bytes.byteLength; at += SLICE) {
    yield copyOf(bytes.subarray(at, at + SLICE));
  }
}

/** Throws `HTTP_<status>` or `NOT_A_MODEL` (an HTML page) for a response that cannot be a model. */
export function checkModelResponse(response: Response, label: string): void {
  if (!response.ok) {
    response.body?.cancel().catch(() => {});
    throw new HearthError(
      `HTTP_${response.status}`,
      `cannot download ${label}: ${response.status} ${response.statusText}`.trim(),
    );
  }
  const type = response.headers.get('content-type') ?? '';
  if (/^\s*text\/html\b/i.test(type)) {
    response.body?.cancel().catch(() => {});
    throw new HearthError(
      RunnerErrorCode.NotAModel,
      `${label} is not a model: the server sent an HTML page (${type})`,
    );
  }
}

async function openUrl(
  url: string | URL,
  signal: AbortSignal | undefined,
): Promise<Omit<OpenedSource, 'sha256'>> {
  const label = String(url);
  let response: Response;
  try {
    response = await fetch(url, signal ? { signal } : {});
  } catch (e) {
    if (signal?.aborted) throw aborted(signal);
    throw new HearthError(
      RunnerErrorCode.Network,
      `cannot download ${label}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  checkModelResponse(response, label);
  if (!response.body) {
    return { total: 0, chunks: sliceBytes(new Uint8Array()), label };
  }
  // A compressed response's Content-Length is not the model's size.
  const length = response.headers.get('content-length');
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const total = length !== null && !encoded && /^\d+$/.test(length) ? Number(length) : undefined;
  return { total, chunks: readStream(response.body, signal), label };
}

/** Opens `source` for reading. */
export async function openSource(
  source: ModelSourceInput,
  signal: AbortSignal | undefined,
): Promise<OpenedSource> {
  throwIfAborted(signal);
  if (typeof source === 'string' || source instanceof URL) {
    return { ...(await openUrl(source, signal)), sha256: undefined };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as { name?: unknown }).name;
    return {
      total: source.size,
      chunks: readStream(source.stream(), signal),
      sha256: undefined,
      label: typeof name === 'string' ? name : 'Blob',
    };
  }
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    return {
      total: bytes.byteLength,
      chunks: sliceBytes(bytes),
      sha256: undefined,
      label: 'bytes',
    };
  }
  if (typeof source === 'object' && source !== null && 'url' in source) {
    const { sha256 } = source;
    if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) {
      throw new HearthError(
        RunnerErrorCode.InvalidArgument,
        `sha256 must be 64 hex digits, got ${JSON.stringify(sha256)}`,
      );
    }
    return { ...(await openUrl(source.url, signal)), sha256 };
  }
  throw new HearthError(
    RunnerErrorCode.InvalidArgument,
    `expected a URL, Blob, ArrayBuffer, Uint8Array or { url }, got ${Object.prototype.toString.call(source)}`,
  );
}
