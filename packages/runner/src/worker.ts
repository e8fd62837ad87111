/**
 * The engine worker for browsers: a module Web Worker started by
 * `LlamaRunner.load` (`new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`).
 *
 * It walks the backend chain (`chain.ts`): WebGPU (the single-threaded build
 * `wasm/`, whose engine has the wgpu backend) when an adapter qualifies, else the
 * threaded wasm build (`wasm-threads/`: shared memory, a rayon pool of nested Web
 * Workers) when more than one thread is wanted and the page is cross-origin
 * isolated, else the single-threaded SIMD build (`wasm/`).
 *
 * @internal
 * @module
 */

import init, {
  hasGpu,
  ModelLoader,
  simdLevel,
  threadCount,
  WasmEmbeddingModel,
} from '../wasm/hearth_wasm.js';
import { type ChainStep, pickLayer, planChain, probeWebGpu, type WebGpuReport } from './chain.js';
import type { Request, Response, WasmEngineReport } from './protocol.js';
import { registerThreadPool } from './thread-pool.js';
import { createHost, type EngineWanted, type WasmEngineModule } from './worker-host.js';

/** The parts of `DedicatedWorkerGlobalScope` used here (the DOM lib lacks its types). */
interface WorkerScope {
  postMessage(message: Response): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
}

/**
 * Default pool size: the logical cores, at most 8 (decoding a small model is
 * bound by memory bandwidth; more threads mostly add synchronisation).
 */
const MAX_DEFAULT_THREADS = 8;

/** How long the threaded build may take to start its pool before the single-threaded one is used. */
const THREADS_TIMEOUT_MS = 30_000;

const ISOLATION_NOTICE =
  '@hearth/runner: the page is not cross-origin isolated, so the engine runs the single-threaded ' +
  'wasm build. Serve the page with `Cross-Origin-Opener-Policy: same-origin` and ' +
  '`Cross-Origin-Embedder-Policy: require-corp` (or `credentialless`) to enable SharedArrayBuffer ' +
  'and the multi-threaded build.';

const scope = globalThis as unknown as WorkerScope;

/** The single-threaded SIMD build. */
async function simdBuild(notice?: string): Promise<WasmEngineModule> {
  await init({ module_or_path: new URL('../wasm/hearth_wasm_bg.wasm', import.meta.url) });
  const report: WasmEngineReport = {
    simd: simdLevel() === 'simd128',
    threads: false,
    threadCount: threadCount(),
    build: 'simd',
  };
  if (notice !== undefined) report.notice = notice;
  return { ModelLoader, WasmEmbeddingModel, report };
}

/** The threaded build with a pool of `threads` workers. */
async function threadedBuild(threads: number): Promise<WasmEngineModule> {
  const wasm = await import('../wasm-threads/hearth_wasm.js');
  await wasm.default({
    module_or_path: new URL('../wasm-threads/hearth_wasm_bg.wasm', import.meta.url),
  });
  // Pool threads start as `worker-pool.js` workers (see thread-pool.ts): bundlers follow that.
  registerThreadPool();
  await wasm.initThreadPool(threads);
  return {
    // The threaded build has no GPU engine (`createGpuSession`), which the host never
    // calls on it (`gpu` is unset).
    ModelLoader: wasm.ModelLoader as unknown as typeof ModelLoader,
    WasmEmbeddingModel: wasm.WasmEmbeddingModel,
    report: {
      simd: wasm.simdLevel() === 'simd128',
      threads: true,
      threadCount: wasm.threadCount(),
      build: 'threads',
    },
  };
}

/** Picks a layer of the chain and instantiates its build (once per worker: one runner, one model). */
async function start(want: EngineWanted): Promise<WasmEngineModule> {
  const cores = scope.navigator?.hardwareConcurrency ?? 1;
  const wanted = want.threads ?? Math.max(1, Math.min(cores, MAX_DEFAULT_THREADS));
  const backend = want.backend ?? 'auto';
  const sharedMemory =
    scope.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  // The probe costs an adapter request: skip it when the CPU was asked for.
  const webgpuAdapter =
    backend === 'wasm'
      ? { available: false, reason: "backend 'wasm' was asked for" }
      : await probeWebGpu();
  const plan = (engineGpu: boolean) =>
    planChain({
      backend,
      allowFallbackAdapter: want.allowFallbackAdapter ?? false,
      gpu: webgpuAdapter,
      engineGpu,
      sharedMemory,
      threads: wanted,
    });
  let chain = plan(true);
  // The GPU engine is in the single-threaded build (see wasm/README.md): instantiate it
  // to ask, only when WebGPU would be picked.
  if (pickLayer(chain) === 'webgpu' && !(await simdHasGpu())) chain = plan(false);
  const layer = pickLayer(chain);
  const facts = { webgpuAdapter, chain };
  if (layer === undefined) {
    throw Object.assign(
      new Error(`backend 'webgpu' cannot run here: ${chain[0]?.reason ?? 'unknown'}`),
      { code: 'WEBGPU_UNAVAILABLE' },
    );
  }
  if (layer === 'webgpu') return withFacts(await simdBuild(), facts, layer, true);
  if (layer === 'wasm-simd') {
    // Say why not threads only where they were wanted and isolation was the obstacle.
    const notice = wanted > 1 && !sharedMemory ? ISOLATION_NOTICE : undefined;
    return withFacts(await simdBuild(notice), facts, layer);
  }
  return withFacts(await threadedOrSimd(wanted), facts);
}

/** Whether the single-threaded build's engine has the WebGPU backend. */
async function simdHasGpu(): Promise<boolean> {
  await simdBuild();
  return hasGpu();
}

/** `module`'s report with the chain's facts and the layer that runs (`layer`, or its build's). */
function withFacts(
  module: WasmEngineModule,
  facts: { webgpuAdapter: WebGpuReport; chain: ChainStep[] },
  layer?: 'webgpu' | 'wasm-simd',
  gpu = false,
): WasmEngineModule {
  const runsOn = layer ?? (module.report.build === 'threads' ? 'wasm-threads' : 'wasm-simd');
  return { ...module, gpu, report: { ...module.report, ...facts, runsOn } };
}

/** The threaded build, or the single-threaded one with a notice when the pool does not start. */
async function threadedOrSimd(wanted: number): Promise<WasmEngineModule> {
  try {
    // A pool worker that never starts must not hang the load: give up after a while.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no thread pool after ${THREADS_TIMEOUT_MS / 1000} s`)),
        THREADS_TIMEOUT_MS,
      );
    });
    return await Promise.race([threadedBuild(wanted), timeout]).finally(() => clearTimeout(timer));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return simdBuild(
      `@hearth/runner: the threaded wasm build failed to start (${reason}); using the single-threaded build`,
    );
  }
}

let engine: Promise<WasmEngineModule> | undefined;
const ready = (want: EngineWanted) => {
  engine ??= start(want);
  return engine;
};
const handle = createHost((m) => scope.postMessage(m), ready);
scope.onmessage = (event) => handle(event.data);
