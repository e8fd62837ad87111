/**
 * `@hearth/runner` for Node: the same API as the browser entry, with the wasm
 * module read from the package directory (Node's `fetch` cannot read `file:` URLs).
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import init from '../wasm/hearth_wasm.js';
import { lazyLoader, readModelInfoWith, versionWith } from './engine.js';
import type { Request, Response } from './protocol.js';
import { setWorkerFactory } from './runner.js';
import type { ModelInfo, ModelSource } from './types.js';

export type { Capabilities } from './capabilities.js';
export { capabilities } from './capabilities.js';
export { HearthError, RunnerErrorCode } from './errors.js';
export type { GenerateOptions } from './options.js';
export type {
  ChatMessage,
  EngineConfig,
  FinishReason,
  GenerateTextOptions,
  GenerationResult,
  LoadOptions,
  LoadProgress,
  RunnerInfo,
  Timings,
  TokenChunk,
} from './runner.js';
export { Generation, LlamaRunner } from './runner.js';
export type { ModelSourceInput } from './source.js';
export type { ModelInfo, ModelSource, TokenizerInfo, TypeStats } from './types.js';

// Each runner's engine runs in a worker_threads worker. It is unref'd while idle,
// so a script that forgets `dispose()` still exits.
setWorkerFactory(() => {
  const worker = new Worker(new URL('./worker-node.js', import.meta.url));
  return {
    postMessage: (message: Request, transfer: Transferable[] = []) =>
      worker.postMessage(message, transfer as never[]),
    listen(onMessage, onFailure) {
      worker.on('message', (message: Response) => onMessage(message));
      worker.on('error', onFailure);
      worker.on('exit', (code) => onFailure(new Error(`the worker exited (code ${code})`)));
    },
    terminate: () => {
      worker.terminate().catch(() => {});
    },
    setBusy: (busy) => (busy ? worker.ref() : worker.unref()),
  };
});

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
