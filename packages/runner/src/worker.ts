/**
 * The engine worker for browsers: a module Web Worker started by
 * `LlamaRunner.load` (`new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`).
 *
 * @internal
 * @module
 */

import init from '../wasm/hearth_wasm.js';
import type { Request, Response } from './protocol.js';
import { createHost } from './worker-host.js';

/** The parts of `DedicatedWorkerGlobalScope` used here (the DOM lib lacks its types). */
interface WorkerScope {
  postMessage(message: Response): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
let wasm: Promise<void> | undefined;
const ready = () => {
  wasm ??= init({
    module_or_path: new URL('../wasm/hearth_wasm_bg.wasm', import.meta.url),
  }).then(() => undefined);
  return wasm;
};
const handle = createHost((m) => scope.postMessage(m), ready);
scope.onmessage = (event) => handle(event.data);
