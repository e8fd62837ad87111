/**
 * `@hearth/runner` for browsers and bundlers: the wasm module is fetched from
 * next to this file (`new URL(…, import.meta.url)`, which bundlers understand).
 *
 * @module
 */

import init, { WasmTokenizer } from '../wasm/hearth_wasm.js';
import { registerAdapter } from './adapters.js';
import './embedding.js';
import { IndexedDbStore } from './cache/indexeddb.js';
import { OpfsStore } from './cache/opfs.js';
import { registerStore } from './cache/store.js';
import { lazyLoader, readModelInfoWith, versionWith } from './engine.js';
import { HearthError, RunnerErrorCode } from './errors.js';
import { type OrtModule, onnxAdapter } from './onnx.js';
import type { Request, Response } from './protocol.js';
import { setWorkerFactory } from './runner.js';
import type { ModelInfo, ModelSource } from './types.js';

export * from './api.js';

// Each runner's engine runs in a module Web Worker. The `new Worker(new URL(…))`
// form is the one bundlers (Vite, webpack, esbuild plugins) recognize.
setWorkerFactory((backend) => {
  if (backend === 'llama.cpp') {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      "backend 'llama.cpp' needs Node's native addon; browsers run the wasm engine",
    );
  }
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return {
    postMessage: (message: Request, transfer: Transferable[] = []) =>
      worker.postMessage(message, transfer),
    listen(onMessage, onFailure) {
      worker.onmessage = (event: MessageEvent<Response>) => onMessage(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        onFailure(new Error(event.message || 'the worker script could not be loaded'));
      };
      worker.onmessageerror = () => onFailure(new Error('a message could not be deserialized'));
    },
    terminate: () => worker.terminate(),
  };
});

// Model cache: IndexedDB by default, OPFS on request.
registerStore('indexeddb', () => IndexedDbStore.open(), true);
registerStore('opfs', () => OpfsStore.open());

const ready = lazyLoader(() =>
  init({ module_or_path: new URL('../wasm/hearth_wasm_bg.wasm', import.meta.url) }),
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

registerAdapter(
  onnxAdapter({
    runtime: () => import('onnxruntime-web') as Promise<unknown> as Promise<OrtModule>,
    runtimeName: 'onnxruntime-web',
    sessionOptions: { executionProviders: ['wasm'] },
    async tokenizer(json) {
      await ready();
      return new WasmTokenizer(json);
    },
  }),
);
