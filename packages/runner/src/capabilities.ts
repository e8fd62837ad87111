/** What the current JS environment offers the engine, and which wasm build a runner uses. */

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
  /** `navigator.gpu` exists (WebGPU; not used by the engine yet). */
  webgpu: boolean;
  /** The page is cross-origin isolated (COOP/COEP); always `false` outside browsers. */
  crossOriginIsolated: boolean;
  /** Threads the engine runs on: the wasm pool's size for a runner on the threaded build, else 1. */
  engineThreads: number;
  /** The wasm build of a runner's engine (only from `runner.capabilities()` on the wasm engine). */
  wasm?: WasmEngine;
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
