// The browser backend chain in Chromium (SwiftShader's WebGPU is a *fallback*
// adapter): which layer `LlamaRunner.load` picks for each `backend` option, and
// what `capabilities()` reports about every layer. SmolLM2, 8 greedy tokens each.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, modelsDir, test } from './fixtures.js';

const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';

interface Step {
  layer: string;
  usable: boolean;
  reason?: string;
}
interface Summary {
  text: string;
  tokens: number;
  backend: string;
  capabilities: {
    runsOn?: string;
    chain?: Step[];
    webgpuAdapter?: { available: boolean; isFallbackAdapter?: boolean; architecture?: string };
    wasm?: { build: string; threadCount: number };
  };
}

test.beforeAll(() => {
  expect(existsSync(join(modelsDir, SMOLLM2)), `run scripts/fetch-models (${modelsDir})`).toBe(
    true,
  );
});

/** Loads SmolLM2 on the generate page with `query`; the summary, or the error's code. */
async function load(
  page: Page,
  query: string,
  maxTokens = 8,
): Promise<Summary | { code: string; message: string }> {
  await page.goto(`/generate.html?model=/models/${SMOLLM2}&maxTokens=${maxTokens}${query}`);
  await expect(page.locator('#status')).toHaveText(/done|failed/, { timeout: 50_000 });
  const error = page.locator('#error');
  if (await error.isVisible()) {
    return {
      code: (await error.getAttribute('data-code')) ?? '',
      message: (await error.textContent()) ?? '',
    };
  }
  return JSON.parse((await page.locator('#result').textContent()) ?? '');
}

function summary(s: Summary | { code: string; message: string }): Summary {
  if ('code' in s) throw new Error(`load failed: ${s.message}`);
  return s;
}

const PARIS = ' Paris.\n\nThe United States';

test('auto skips the fallback adapter and runs threaded wasm on an isolated page', async ({
  page,
}) => {
  const s = summary(await load(page, '&threads=2'));
  expect(s.capabilities.runsOn).toBe('wasm-threads');
  expect(s.backend).toBe('wasm');
  expect(s.capabilities.wasm).toMatchObject({ build: 'threads', threadCount: 2 });
  expect(s.capabilities.webgpuAdapter).toMatchObject({
    available: true,
    isFallbackAdapter: true,
    architecture: 'swiftshader',
  });
  const [webgpu, threads, simd] = s.capabilities.chain ?? [];
  expect(webgpu).toMatchObject({ layer: 'webgpu', usable: false });
  expect(webgpu?.reason).toContain('fallback adapter');
  expect(threads).toEqual({ layer: 'wasm-threads', usable: true });
  expect(simd).toEqual({ layer: 'wasm-simd', usable: true });
  expect(s.text.startsWith(PARIS)).toBe(true);
});

test("backend 'wasm' with one thread runs single-threaded wasm SIMD", async ({ page }) => {
  const s = summary(await load(page, '&backend=wasm&threads=1'));
  expect(s.capabilities.runsOn).toBe('wasm-simd');
  expect(s.capabilities.wasm).toMatchObject({ build: 'simd', threadCount: 1 });
  expect(s.capabilities.chain?.map((step) => step.usable)).toEqual([false, false, true]);
  expect(s.capabilities.chain?.[1]?.reason).toBe('one thread was asked for');
  expect(s.text.startsWith(PARIS)).toBe(true);
});

test('auto with allowFallbackAdapter takes WebGPU, even on the fallback adapter', async ({
  page,
}) => {
  // Two tokens: SwiftShader runs about half a token per second (webgpu-generate.spec.ts).
  const s = summary(await load(page, '&allowFallbackAdapter=1&contextLength=64', 2));
  expect(s.capabilities.runsOn).toBe('webgpu');
  expect(s.backend).toBe('webgpu');
  expect(s.capabilities.chain?.[0]).toEqual({ layer: 'webgpu', usable: true });
  expect(s.capabilities.wasm).toMatchObject({ build: 'simd' });
  expect(s.text).toBe(' Paris.');
});
