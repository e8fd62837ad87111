/**
 * `@hearth/runner` for Node: the same API as the browser entry. Models run in
 * the native addon (`@hearth/node`: hearth-core or llama.cpp, memory-mapped
 * files, generation on native threads) when it loads, else in the wasm engine
 * in a `worker_threads` worker (read from the package directory: Node's
 * `fetch` cannot read `file:` URLs). Local file paths are accepted as sources.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import init, { WasmTokenizer } from '../wasm/hearth_wasm.js';
import { registerAdapter } from './adapters.js';
import './embedding.js';
import { FsStore } from './cache/fs.js';
import { setSha256 } from './cache/hash.js';
import { registerStore } from './cache/store.js';
import { lazyLoader, readModelInfoWith, versionWith } from './engine.js';
import { HearthError, RunnerErrorCode } from './errors.js';
import { loadAddon, NativePort } from './native-host.js';
import { type OrtModule, onnxAdapter } from './onnx.js';
import type { Backend, Request, Response, WorkerPort } from './protocol.js';
import { setLocalFiles, setWorkerFactory } from './runner.js';
import type { ModelSourceInput, OpenedSource } from './source.js';
import type { ModelInfo, ModelSource } from './types.js';

export * from './api.js';

/** The wasm engine in a worker_threads worker, unref'd while idle (a script that forgets `dispose()` still exits). */
function wasmWorker(): WorkerPort {
  const worker = new Worker(new URL('./worker-node.js', import.meta.url), {
    // Workers inherit the parent's flags; `--input-type` (from `node -e`) would refuse the worker's file.
    execArgv: process.execArgv.filter((flag) => !flag.startsWith('--input-type')),
  });
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
}

let noticed = false;

/**
 * `auto`: the native addon, unless `HEARTH_RUNTIME=wasm`; when the addon does
 * not load, the wasm worker with a one-line notice (`HEARTH_RUNTIME=native`
 * makes that an error instead).
 */
setWorkerFactory((backend: Backend) => {
  const runtime = process.env.HEARTH_RUNTIME;
  if (backend === 'webgpu') {
    throw new HearthError(
      RunnerErrorCode.WebGpuUnavailable,
      "backend 'webgpu' runs in browsers; Node runs the native addon ('hearth') or 'wasm'",
    );
  }
  if (backend === 'wasm' || (backend === 'auto' && runtime === 'wasm')) return wasmWorker();
  let addon: ReturnType<typeof loadAddon>;
  try {
    addon = loadAddon();
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    if (backend === 'auto' && runtime !== 'native') {
      if (!noticed) {
        noticed = true;
        console.warn(
          `@hearth/runner: native addon unavailable (${reason}); using the wasm engine in a worker thread`,
        );
      }
      return wasmWorker();
    }
    throw new HearthError(
      RunnerErrorCode.NativeUnavailable,
      `backend ${backend === 'auto' ? 'native (HEARTH_RUNTIME)' : backend} needs the @hearth/node addon, which cannot be loaded: ${reason}`,
      { cause: e },
    );
  }
  return new NativePort(addon, backend === 'llama.cpp' ? 'llama.cpp' : 'hearth');
});

/** A string with a URL scheme (`https:`, `data:` …), not a drive letter. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]+:/i;

setLocalFiles({
  pathOf(source: ModelSourceInput): string | undefined {
    if (source instanceof URL)
      return source.protocol === 'file:' ? fileURLToPath(source) : undefined;
    if (typeof source !== 'string') return undefined;
    if (source.startsWith('file:')) return fileURLToPath(source);
    if (URL_SCHEME.test(source)) return undefined;
    return isAbsolute(source) ? source : resolve(source);
  },
  async open(path: string, signal: AbortSignal | undefined): Promise<OpenedSource> {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (e) {
      throw new HearthError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    async function* chunks(): AsyncIterable<ArrayBuffer> {
      const stream = createReadStream(path, {
        highWaterMark: 4 << 20,
        ...(signal ? { signal } : {}),
      });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        // A copy in a buffer of its own: read streams share pooled memory.
        yield new Uint8Array(chunk).buffer as ArrayBuffer;
      }
    }
    return { total: size, chunks: chunks(), sha256: undefined, label: path };
  },
  async isDirectory(path: string): Promise<boolean> {
    return stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
  },
});

// Model cache: a directory ($HEARTH_CACHE_DIR, ~/.cache/hearth/models-cache), hashed with node:crypto.
registerStore('fs', ({ dir }) => FsStore.open(dir), true);
setSha256(() => {
  const h = createHash('sha256');
  return {
    update: (bytes) => {
      h.update(bytes);
    },
    hex: () => h.digest('hex'),
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

registerAdapter(
  onnxAdapter({
    runtime: () => import('onnxruntime-node') as Promise<unknown> as Promise<OrtModule>,
    runtimeName: 'onnxruntime-node',
    sessionOptions: { executionProviders: ['cpu'] },
    // Hearth's tokenizer: the native addon's, else hearth-wasm's.
    async tokenizer(json) {
      if (process.env.HEARTH_RUNTIME !== 'wasm') {
        try {
          return loadAddon().NativeTokenizer.fromJson(json);
        } catch (e) {
          if ((e as { code?: unknown }).code !== undefined) throw e;
        }
      }
      await ready();
      return new WasmTokenizer(json);
    },
  }),
);
