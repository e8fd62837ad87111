// The browser backend chain (WebGPU → threaded wasm SIMD → wasm SIMD) as a pure
// decision over the probe's facts: every layer picked, every reason given.
// Chromium runs the real thing in playwright/tests/backend-chain.spec.ts.
import { describe, expect, it } from 'vitest';
import { type ChainInput, pickLayer, planChain, type WebGpuReport } from '../src/chain.js';

const GPU: WebGpuReport = {
  available: true,
  vendor: 'nvidia',
  architecture: 'ada',
  isFallbackAdapter: false,
  shaderF16: true,
  subgroups: true,
};
const SOFTWARE: WebGpuReport = {
  ...GPU,
  vendor: 'google',
  architecture: 'swiftshader',
  isFallbackAdapter: true,
};
const NONE: WebGpuReport = { available: false, reason: 'no navigator.gpu' };

const base: ChainInput = {
  backend: 'auto',
  allowFallbackAdapter: false,
  gpu: GPU,
  engineGpu: true,
  sharedMemory: true,
  threads: 4,
};
const pick = (input: Partial<ChainInput>) => pickLayer(planChain({ ...base, ...input }));

describe('backend chain', () => {
  it('auto takes WebGPU on a hardware adapter', () => {
    expect(planChain(base)).toEqual([
      { layer: 'webgpu', usable: true },
      { layer: 'wasm-threads', usable: true },
      { layer: 'wasm-simd', usable: true },
    ]);
    expect(pick({})).toBe('webgpu');
  });

  it('auto skips a fallback adapter unless allowFallbackAdapter', () => {
    const [webgpu] = planChain({ ...base, gpu: SOFTWARE });
    expect(webgpu?.usable).toBe(false);
    expect(webgpu?.reason).toContain('swiftshader');
    expect(webgpu?.reason).toContain('allowFallbackAdapter');
    expect(pick({ gpu: SOFTWARE })).toBe('wasm-threads');
    expect(pick({ gpu: SOFTWARE, allowFallbackAdapter: true })).toBe('webgpu');
  });

  it('auto goes to threaded wasm without an adapter or without a GPU engine', () => {
    expect(pick({ gpu: NONE })).toBe('wasm-threads');
    expect(planChain({ ...base, gpu: NONE })[0]?.reason).toBe('no navigator.gpu');
    expect(pick({ engineGpu: false })).toBe('wasm-threads');
    expect(planChain({ ...base, engineGpu: false })[0]?.reason).toContain('no WebGPU backend');
  });

  it('then to single-threaded wasm without shared memory or with one thread', () => {
    const isolated = planChain({ ...base, gpu: NONE, sharedMemory: false });
    expect(pickLayer(isolated)).toBe('wasm-simd');
    expect(isolated[1]?.reason).toContain('cross-origin isolated');
    expect(pick({ gpu: NONE, threads: 1 })).toBe('wasm-simd');
    expect(planChain({ ...base, threads: 1 })[1]?.reason).toBe('one thread was asked for');
  });

  it("backend 'wasm' never takes WebGPU, even a hardware adapter", () => {
    expect(pick({ backend: 'wasm' })).toBe('wasm-threads');
    expect(pick({ backend: 'wasm', sharedMemory: false })).toBe('wasm-simd');
    expect(planChain({ ...base, backend: 'wasm' })[0]).toEqual({
      layer: 'webgpu',
      usable: false,
      reason: "backend 'wasm' was asked for",
    });
  });

  it("backend 'webgpu' takes any adapter, software included, and nothing else", () => {
    expect(pick({ backend: 'webgpu', gpu: SOFTWARE })).toBe('webgpu');
    const none = planChain({ ...base, backend: 'webgpu', gpu: NONE });
    expect(pickLayer(none)).toBeUndefined();
    expect(none.map((s) => s.usable)).toEqual([false, false, false]);
    expect(pick({ backend: 'webgpu', engineGpu: false })).toBeUndefined();
  });
});
