/**
 * One download per cache entry at a time: a second load of the same URL
 * waits for the first, then finds the entry complete (or resumes it). Web
 * Locks carry this across tabs where they exist; otherwise it holds within
 * one page or process.
 */

import { HearthError, RunnerErrorCode } from '../errors.js';

const chains = new Map<string, Promise<void>>();

function aborted(signal: AbortSignal | undefined): HearthError {
  return new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted', {
    cause: signal?.reason,
  });
}

/** Waits for the lock on `key`; resolves with its release (idempotent). */
export function lockEntry(key: string, signal: AbortSignal | undefined): Promise<() => void> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (locks?.request) {
    return new Promise((resolve, reject) => {
      locks
        .request(
          `hearth-model-cache:${key}`,
          signal ? { signal } : {},
          () => new Promise<void>((release) => resolve(release)),
        )
        .catch((e: unknown) => reject(signal?.aborted ? aborted(signal) : e));
    });
  }
  const previous = chains.get(key) ?? Promise.resolve();
  let release = () => {};
  const mine = new Promise<void>((r) => {
    release = r;
  });
  const chain = previous.then(() => mine);
  chains.set(key, chain);
  void chain.then(() => {
    if (chains.get(key) === chain) chains.delete(key);
  });
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      release();
      reject(aborted(signal));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    void previous.then(() => {
      signal?.removeEventListener('abort', onAbort);
      if (!signal?.aborted) resolve(release);
    });
  });
}
