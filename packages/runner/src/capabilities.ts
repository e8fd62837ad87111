/** What the current JS environment offers the engine. */

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
  /** Threads the engine uses today: 1 (the wasm build is single-threaded). */
  engineThreads: number;
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
