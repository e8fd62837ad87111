/**
 * The engine worker for Node: a `worker_threads` worker started by
 * `LlamaRunner.load`; the wasm module is read from the package directory.
 *
 * @internal
 * @module
 */

import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import init, {
  ModelLoader,
  simdLevel,
  threadCount,
  WasmEmbeddingModel,
} from '../wasm/hearth_wasm.js';
import type { Request } from './protocol.js';
import { createHost, type WasmEngineModule } from './worker-host.js';

const port = parentPort;
if (!port) throw new Error('@hearth/runner: worker-node.js must run in a worker thread');

// The single-threaded build: the threaded one's rayon pool needs Web Workers.
let wasm: Promise<WasmEngineModule> | undefined;
const ready = () => {
  wasm ??= readFile(new URL('../wasm/hearth_wasm_bg.wasm', import.meta.url))
    .then((bytes) => init({ module_or_path: bytes }))
    .then(() => ({
      ModelLoader,
      WasmEmbeddingModel,
      report: {
        simd: simdLevel() === 'simd128',
        threads: false,
        threadCount: threadCount(),
        build: 'simd' as const,
      },
    }));
  return wasm;
};
const handle = createHost((m) => port.postMessage(m), ready);
port.on('message', (req: Request) => handle(req));
