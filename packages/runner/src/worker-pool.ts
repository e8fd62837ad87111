/**
 * One thread of the threaded wasm build's rayon pool: a module Web Worker that
 * the engine worker starts (see `thread-pool.ts`) once per pool thread.
 *
 * It imports the wasm-bindgen glue statically (not back by URL, as
 * wasm-bindgen-rayon's own helper does), so bundlers keep the exports it uses
 * and bundle it like any worker; it instantiates the module and memory the
 * engine worker sends, so every thread runs the same wasm over one memory.
 *
 * @internal
 * @module
 */

import init, { wbg_rayon_start_worker } from '../wasm-threads/hearth_wasm.js';
import type { PoolThreadInit, PoolThreadReport } from './thread-pool.js';

/** The parts of `DedicatedWorkerGlobalScope` used here (the DOM lib lacks its types). */
interface WorkerScope {
  postMessage(message: PoolThreadReport): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<PoolThreadInit>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.addEventListener('message', ({ data }) => {
  if (data?.type !== 'hearth-pool-init') return;
  init({ module_or_path: data.module, memory: data.memory }).then(
    () => {
      scope.postMessage({ type: 'hearth-pool-ready' });
      // Runs rayon's worker loop: this never returns while the pool lives.
      wbg_rayon_start_worker(data.receiver);
    },
    (e: unknown) => scope.postMessage({ type: 'hearth-pool-error', message: String(e) }),
  );
});
