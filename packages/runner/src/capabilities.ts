/** What the current JS environment offers the engine, and which wasm build a runner uses. */

import {
  type ChainLayer,
  type ChainStep,
  planChain,
  probeWebGpu,
  type WebGpuReport,
} from './chain.js';

import type { NativeDeviceReport } from './protocol.js';

export type { ChainLayer, ChainStep, WebGpuReport } from './chain.js';
export type { NativeDevice, NativeDeviceReport } from './protocol.js';

/** The wasm engine build a runner runs on; see `LlamaRunner.capabilities()`. */
export interface WasmEngine {
  /** 128-bit SIMD kernels (both builds have them). */
  simd: boolean;
  /** The threaded build: shared memory and a rayon pool of Web Workers (browsers, cross-origin isolated). */
  threads: boolean;
  /** Threads the matrix products run on: the pool's size, 1 in the single-threaded build. */
  threadCount: number;
  /** `threads`: `wasm-threads/` (atomics, shared memory); `simd`: `wasm/` (one thread). */
  build: 'threads' | 'simd';
}

/** Feature detection results; see {@link capabilities}. */
export interface Capabilities {
  /** WebAssembly 128-bit SIMD (required: the engine is built with it). */
  simd: boolean;
  /** Shared-memory wasm threads could be used (`SharedArrayBuffer`, cross-origin isolation in browsers). */
  threads: boolean;
  /** `navigator.gpu` exists (WebGPU). Whether it grants an adapter: `webgpuAdapter`. */
  webgpu: boolean;
  /** The page is cross-origin isolated (COOP/COEP); always `false` outside browsers. */
  crossOriginIsolated: boolean;
  /** Threads the engine runs on: the wasm pool's size for a runner on the threaded build, else 1. */
  engineThreads: number;
  /** The wasm build of a runner's engine (only from `runner.capabilities()` on the wasm engine). */
  wasm?: WasmEngine;
  /**
   * The WebGPU adapter (info, fallback or not, `shader-f16`, `subgroups`, limits): from
   * {@link detectCapabilities}, and from `runner.capabilities()` for browser runners.
   */
  webgpuAdapter?: WebGpuReport;
  /**
   * The backend chain, best first (WebGPU → threaded wasm SIMD → wasm SIMD), each layer
   * usable here or with the reason why not: for `backend: 'auto'` from
   * {@link detectCapabilities}, for the load's options from `runner.capabilities()`.
   */
  chain?: ChainStep[];
  /** The layer a runner's model runs on (only from `runner.capabilities()` in browsers). */
  runsOn?: ChainLayer;
  /**
   * On WebGPU, the optional features the engine's kernels use (`shader-f16` where the
   * adapter offers it; `subgroups` natively only for now): from `runner.capabilities()`.
   */
  gpuFeatures?: string[];
  /**
   * On WebGPU, how many of the model's blocks run there: all of them, or fewer when
   * `gpu.maxMemoryBytes` holds only some (the wasm CPU engine runs the rest): from
   * `runner.capabilities()`.
   */
  gpuLayers?: number;
  /**
   * Node, on the native addon's hearth-core engine: where the runner's session runs — the
   * GPU (wgpu on Vulkan, Metal or DX12: `adapter`, `gpuLayers`) or the CPU (`reason`: why
   * `device: 'auto'` did not take the GPU): from `runner.capabilities()`.
   */
  native?: NativeDeviceReport;
}

/** A module with one function using `i8x16.splat` (from wasm-feature-detect). */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

/** Detects SIMD, threads, WebGPU and cross-origin isolation (synchronously, without side effects). */
export function capabilities(): Capabilities {
  const g = globalThis as {
    crossOriginIsolated?: boolean;
    navigator?: { gpu?: unknown };
    process?: { versions?: { node?: string } };
  };
  let simd = false;
  try {
    simd = WebAssembly.validate(SIMD_PROBE);
  } catch {
    simd = false;
  }
  const isNode = typeof g.process?.versions?.node === 'string';
  const isolated = g.crossOriginIsolated === true;
  return {
    simd,
    threads: typeof SharedArrayBuffer === 'function' && (isolated || isNode),
    webgpu: g.navigator?.gpu !== undefined,
    crossOriginIsolated: isolated,
    engineThreads: 1,
  };
}

/**
 * {@link capabilities} plus what needs a promise: the WebGPU adapter (requested, no device
 * created) and the backend chain `backend: 'auto'` would walk with the default threads.
 * Whether the engine build has the WebGPU backend is only known to a runner's worker;
 * this assumes it does (the published build has it).
 */
export async function detectCapabilities(): Promise<Capabilities> {
  const caps = capabilities();
  const webgpuAdapter = await probeWebGpu();
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  const chain = planChain({
    backend: 'auto',
    allowFallbackAdapter: false,
    gpu: webgpuAdapter,
    engineGpu: true,
    sharedMemory: caps.threads && caps.crossOriginIsolated,
    threads: Math.min(cores ?? 1, 8),
  });
  return { ...caps, webgpuAdapter, chain };
}
