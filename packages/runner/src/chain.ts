/**
 * The browser's backend chain, best first: WebGPU → threaded wasm SIMD → wasm SIMD.
 * {@link probeWebGpu} asks the browser for an adapter (page or worker);
 * {@link planChain} says, for a load's options, which layers could run the model
 * and why the others cannot, and {@link pickLayer} takes the first usable one.
 * Pure functions over the probe's facts, so every branch is unit-tested.
 */

/** A layer of the chain. */
export type ChainLayer = 'webgpu' | 'wasm-threads' | 'wasm-simd';

/** What the browser's WebGPU adapter is (see {@link probeWebGpu}). */
export interface WebGpuReport {
  /** `navigator.gpu` exists and granted an adapter. */
  available: boolean;
  /** Why not, when not `available`. */
  reason?: string;
  /** `GPUAdapterInfo` (empty strings where the browser hides them). */
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /**
   * A software adapter (SwiftShader, WARP, lavapipe behind the browser): usually
   * slower than the wasm CPU engine, so `auto` skips it unless `allowFallbackAdapter`.
   */
  isFallbackAdapter?: boolean;
  /** The `shader-f16` feature (half-precision arithmetic in shaders). */
  shaderF16?: boolean;
  /** The `subgroups` feature (subgroup reductions). */
  subgroups?: boolean;
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
}

/** One layer of the chain for a load: whether it can run the model here, and why not. */
export interface ChainStep {
  layer: ChainLayer;
  usable: boolean;
  /** Why the layer is not usable (absent when it is). */
  reason?: string;
}

/** The facts and options {@link planChain} decides on. */
export interface ChainInput {
  /** The `backend` load option, browser side (`auto`, `webgpu` or `wasm`). */
  backend: 'auto' | 'webgpu' | 'wasm';
  /** `auto` may use a fallback (software) adapter. */
  allowFallbackAdapter: boolean;
  gpu: WebGpuReport;
  /** The engine build has the WebGPU backend (hearth-wasm built with `gpu`). */
  engineGpu: boolean;
  /** `crossOriginIsolated` and `SharedArrayBuffer`: the threaded build can start. */
  sharedMemory: boolean;
  /** Threads wanted for the CPU engine (the `threads` load option or its default). */
  threads: number;
}

/** The layers for `input`, best first, each usable or with its reason. */
export function planChain(input: ChainInput): ChainStep[] {
  const { backend, gpu } = input;
  let webgpu: string | undefined;
  if (backend === 'wasm') webgpu = "backend 'wasm' was asked for";
  else if (!gpu.available) webgpu = gpu.reason ?? 'no WebGPU adapter';
  else if (!input.engineGpu) webgpu = 'this hearth-wasm build has no WebGPU backend';
  else if (gpu.isFallbackAdapter && backend === 'auto' && !input.allowFallbackAdapter) {
    webgpu = `the adapter (${gpu.architecture || gpu.vendor || 'unknown'}) is a software fallback adapter; allowFallbackAdapter: true uses it`;
  }
  let threads: string | undefined;
  if (backend === 'webgpu') threads = "backend 'webgpu' was asked for";
  else if (input.threads <= 1) threads = 'one thread was asked for';
  else if (!input.sharedMemory) {
    threads = 'the page is not cross-origin isolated (COOP/COEP), so it has no shared memory';
  }
  const simd = backend === 'webgpu' ? "backend 'webgpu' was asked for" : undefined;
  const step = (layer: ChainLayer, reason: string | undefined): ChainStep =>
    reason === undefined ? { layer, usable: true } : { layer, usable: false, reason };
  return [step('webgpu', webgpu), step('wasm-threads', threads), step('wasm-simd', simd)];
}

/** The first usable layer of `chain`, or `undefined` (only when `webgpu` was forced and cannot run). */
export function pickLayer(chain: ChainStep[]): ChainLayer | undefined {
  return chain.find((s) => s.usable)?.layer;
}

/** The parts of `navigator.gpu` used here (TypeScript's DOM lib has no WebGPU types). */
interface GpuAdapterLike {
  readonly info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  /** Older Chromium put it on the adapter. */
  readonly isFallbackAdapter?: boolean;
  readonly features: { has(name: string): boolean };
  readonly limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

/**
 * Asks `navigator.gpu` (window or worker) for an adapter and reports it; never throws.
 * No device is created, so this is cheap and leaves nothing behind.
 */
export async function probeWebGpu(): Promise<WebGpuReport> {
  const gpu = (
    globalThis as {
      navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } };
    }
  ).navigator?.gpu;
  if (gpu === undefined) {
    return { available: false, reason: 'no navigator.gpu (WebGPU is off or unsupported here)' };
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { available: false, reason: `requestAdapter failed: ${String(e)}` };
  }
  if (adapter === null)
    return { available: false, reason: 'the browser granted no WebGPU adapter' };
  const info = adapter.info ?? {};
  return {
    available: true,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
    shaderF16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}
