/**
 * `@hearth/runner` for Node: the same API as the browser entry, with the wasm
 * module read from the package directory (Node's `fetch` cannot read `file:` URLs).
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import init from '../wasm/hearth_wasm.js';
import { lazyLoader, readModelInfoWith, versionWith } from './engine.js';
import type { ModelInfo, ModelSource } from './types.js';

export { HearthError, RunnerErrorCode } from './errors.js';
export type { ModelInfo, ModelSource, TokenizerInfo, TypeStats } from './types.js';

const ready = lazyLoader(async () =>
  init({
    module_or_path: await readFile(new URL('../wasm/hearth_wasm_bg.wasm', import.meta.url)),
  }),
);

/**
 * Reads a GGUF model's header and returns its summary (architecture, tensor
 * count, vocabulary, chat template …).
 *
 * @param source the model file's bytes (the whole file: tensor bounds are checked).
 * @throws {HearthError} rejects with a stable `code` such as `GGUF_BAD_MAGIC`
 *   (not a GGUF file) or `GGUF_TRUNCATED` (incomplete download).
 */
export function readModelInfo(source: ModelSource): Promise<ModelInfo> {
  return readModelInfoWith(ready, source);
}

/** The version of the Hearth engine (hearth-core) inside the wasm module. */
export function version(): Promise<string> {
  return versionWith(ready);
}
