/**
 * The platform-independent half of the API: everything but how the wasm
 * module's bytes are found. `index.ts` (browsers, bundlers) and `node.ts`
 * (Node) supply the loader.
 */

import { ggufInfo, version as wasmVersion } from '../wasm/hearth_wasm.js';
import { HearthError, RunnerErrorCode, toHearthError } from './errors.js';
import type { ModelInfo, ModelSource } from './types.js';

/** Instantiates the wasm module once; a failed attempt is retried on the next call. */
export function lazyLoader(load: () => Promise<unknown>): () => Promise<void> {
  let pending: Promise<void> | undefined;
  return () => {
    pending ??= load().then(
      () => undefined,
      (e: unknown) => {
        pending = undefined;
        throw toHearthError(e, RunnerErrorCode.WasmLoad);
      },
    );
    return pending;
  };
}

/** Views `source` as bytes without copying; rejects anything else. */
function asBytes(source: ModelSource): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  throw new HearthError(
    RunnerErrorCode.InvalidArgument,
    `expected an ArrayBuffer or Uint8Array, got ${Object.prototype.toString.call(source)}`,
  );
}

/** `readModelInfo` over a given loader. */
export async function readModelInfoWith(
  ready: () => Promise<void>,
  source: ModelSource,
): Promise<ModelInfo> {
  const bytes = asBytes(source);
  await ready();
  try {
    return ggufInfo(bytes) as ModelInfo;
  } catch (e) {
    throw toHearthError(e);
  }
}

/** `version` over a given loader. */
export async function versionWith(ready: () => Promise<void>): Promise<string> {
  await ready();
  return wasmVersion();
}
