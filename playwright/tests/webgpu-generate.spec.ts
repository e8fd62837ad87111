// Hearth on WebGPU in Chromium: SwiftShader's software adapter, forced with
// `backend: 'webgpu'`. SwiftShader runs the GPU kernels on the CPU (about half a
// SmolLM2 token per second on 2 cores), so CI checks a few SmolLM2 GPU tokens, the
// device-lost paths and both models' 16 greedy tokens against the wasm CPU engine's
// (about 80 s for Gemma-3-270M, 30 s for SmolLM2). Near-ties (see core/src/gpu/README.md)
// go whichever way the summation order tips them, so SmolLM2's prompt has none.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, modelsDir, test } from './fixtures.js';

const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const GEMMA3 = 'gemma-3-270m-q4_k_m.gguf';
/** A short context: the GPU KV cache and attention scratch stay small. */
const CONTEXT = '&contextLength=64';

interface Summary {
  text: string;
  tokenIds: number[];
  backend: string;
  decodeTokS: number;
  ttftMs: number;
  capabilities: {
    runsOn?: string;
    gpuFeatures?: string[];
    webgpuAdapter?: { shaderF16?: boolean; subgroups?: boolean };
  };
}

/** Loads `model` on the generate page with `query`, greedy: the summary, or the error. */
async function generate(
  page: Page,
  model: string,
  query: string,
): Promise<Summary | { code: string; message: string }> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/generate.html?model=/models/${model}${query}`);
  await expect(page.locator('#status')).toHaveText(/done|failed/, { timeout: 1_500_000 });
  expect(errors).toEqual([]);
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
  if ('code' in s) throw new Error(`failed: ${s.message}`);
  return s;
}

test.beforeAll(() => {
  for (const model of [SMOLLM2, GEMMA3]) {
    expect(existsSync(join(modelsDir, model)), `run scripts/fetch-models (${modelsDir})`).toBe(
      true,
    );
  }
});

test("SmolLM2 on WebGPU continues the prompt with the wasm CPU engine's first greedy tokens", async ({
  page,
}) => {
  test.setTimeout(120_000);
  // Five tokens: the GPU backend's numerics still part from the CPU's at the sixth
  // (" answer" for " United"), natively on lavapipe too (core/tests/gpu_models.rs).
  const query = `&maxTokens=5${CONTEXT}`;
  const started = Date.now();
  const gpu = summary(await generate(page, SMOLLM2, `${query}&backend=webgpu`));
  const gpuMs = Date.now() - started;
  const cpu = summary(await generate(page, SMOLLM2, `${query}&backend=wasm&threads=1`));
  console.log(
    `SmolLM2 on WebGPU (SwiftShader): ${gpuMs} ms for load + 5 tokens, ttft ${gpu.ttftMs.toFixed(0)} ms, ${gpu.decodeTokS.toFixed(2)} tok/s`,
  );
  expect(gpu.capabilities.runsOn).toBe('webgpu');
  expect(gpu.backend).toBe('webgpu');
  expect(gpu.tokenIds).toEqual(cpu.tokenIds);
  expect(gpu.text).toBe(cpu.text);
  // The optional features the kernels use: shader-f16 exactly where the adapter offers it
  // (subgroups stay native-only with wgpu 30); nothing else.
  const { gpuFeatures, webgpuAdapter } = gpu.capabilities;
  console.log(
    `SwiftShader offers shader-f16: ${webgpuAdapter?.shaderF16}, subgroups: ${webgpuAdapter?.subgroups}; the kernels use ${JSON.stringify(gpuFeatures)}`,
  );
  expect(gpuFeatures).toEqual(webgpuAdapter?.shaderF16 ? ['shader-f16'] : []);
  expect(cpu.capabilities.gpuFeatures).toBeUndefined();
});

test('a device lost mid-generation continues on the CPU with onDeviceLost: cpu, same tokens', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const started = Date.now();
  const gpu = summary(
    await generate(
      page,
      SMOLLM2,
      `&maxTokens=4${CONTEXT}&backend=webgpu&onDeviceLost=cpu&loseDeviceAfter=1`,
    ),
  );
  const gpuMs = Date.now() - started;
  const cpu = summary(
    await generate(page, SMOLLM2, `&maxTokens=4${CONTEXT}&backend=wasm&threads=1`),
  );
  console.log(
    `WebGPU (SwiftShader) then CPU after the loss: ${gpuMs} ms; ${JSON.stringify(gpu.text)}`,
  );
  // The first token came from the GPU, the rest from the CPU after the loss.
  expect(gpu.capabilities.runsOn).toBe('wasm-simd');
  expect(gpu.backend).toBe('wasm');
  expect(gpu.tokenIds).toEqual(cpu.tokenIds);
  expect(gpu.text).toBe(cpu.text);
});

test('a device lost without the opt-in fails the generation with GPU_DEVICE_LOST', async ({
  page,
}) => {
  test.setTimeout(180_000);
  const failed = await generate(
    page,
    SMOLLM2,
    `&maxTokens=4${CONTEXT}&backend=webgpu&loseDeviceAfter=0`,
  );
  expect(failed).toMatchObject({ code: 'GPU_DEVICE_LOST' });
});

test('a GPU memory budget for some blocks: those run on WebGPU, the rest on the wasm CPU engine', async ({
  page,
}) => {
  test.setTimeout(300_000);
  // SmolLM2 needs ~90 MiB on the GPU for its 30 blocks; 16 MiB holds a few of them.
  const query = `&gpuMemoryMiB=16&maxTokens=2${CONTEXT}`;
  const part = summary(await generate(page, SMOLLM2, `${query}&backend=webgpu`));
  const caps = part.capabilities as { runsOn?: string; gpuLayers?: number };
  expect(caps.runsOn).toBe('webgpu');
  expect(caps.gpuLayers).toBeGreaterThanOrEqual(1);
  expect(caps.gpuLayers).toBeLessThan(30);
  expect(part.text).toBe(' Paris.');
  // `gpu.layers` picks the count itself.
  const seven = summary(
    await generate(page, SMOLLM2, `&gpuLayers=7&maxTokens=2${CONTEXT}&backend=webgpu`),
  );
  expect((seven.capabilities as { gpuLayers?: number }).gpuLayers).toBe(7);
  expect(seven.text).toBe(' Paris.');
});

test('not one block in the GPU memory budget: auto runs on the CPU with the reason, webgpu fails with GPU_DOES_NOT_FIT', async ({
  page,
}) => {
  test.setTimeout(120_000);
  // One SmolLM2 block with its cache and scratch needs a few MiB; 1 MiB is refused before
  // anything is uploaded.
  const budget = `&gpuMemoryMiB=1&maxTokens=2${CONTEXT}`;
  const auto = summary(
    await generate(page, SMOLLM2, `${budget}&backend=auto&allowFallbackAdapter&threads=1`),
  );
  const caps = auto.capabilities as {
    runsOn?: string;
    chain?: { layer: string; reason?: string }[];
  };
  expect(caps.runsOn).toBe('wasm-simd');
  expect(auto.backend).toBe('wasm');
  const webgpu = caps.chain?.find((s) => s.layer === 'webgpu');
  expect(webgpu?.reason).toMatch(/GPU_DOES_NOT_FIT.*needs [\d.]+ MiB.*allows 1\.0 MiB/);
  expect(auto.text).toBe(' Paris.');
  const failed = await generate(page, SMOLLM2, `${budget}&backend=webgpu`);
  expect(failed).toMatchObject({ code: 'GPU_DOES_NOT_FIT' });
  expect((failed as { message: string }).message).toMatch(/allows 1\.0 MiB/);
});

test("sampling on WebGPU from the GPU's top k draws the tokens sampling all logits draws", async ({
  page,
}) => {
  test.setTimeout(180_000);
  // The engine reads back the 40 largest logits (324 bytes, the top_k kernel on SwiftShader)
  // unless a logit bias makes the sampler ask for all of them; same seed, same tokens.
  const query = `&maxTokens=3${CONTEXT}&backend=webgpu&temperature=1.2&topK=40&seed=7`;
  const top = summary(await generate(page, SMOLLM2, query));
  const all = summary(await generate(page, SMOLLM2, `${query}&zeroLogitBias`));
  console.log(`sampled on WebGPU: ${JSON.stringify(top.text)}`);
  expect(top.capabilities.runsOn).toBe('webgpu');
  expect(top.tokenIds).toHaveLength(3);
  expect(top.tokenIds).toEqual(all.tokenIds);
});

// The prompts of core/tests/gpu_models.rs (SmolLM2's: 16 greedy steps none of which is a
// near-tie on the CPU).
const PROMPTS: Record<string, string> = {
  [SMOLLM2]: 'The largest ocean on Earth is the',
  [GEMMA3]: 'The capital of France is',
};

for (const model of [SMOLLM2, GEMMA3]) {
  test(`${model}: 16 greedy tokens on WebGPU equal the wasm CPU engine's`, async ({ page }) => {
    test.setTimeout(1_800_000);
    const prompt = encodeURIComponent(PROMPTS[model] ?? '');
    const query = `&maxTokens=16${CONTEXT}&prompt=${prompt}`;
    const started = Date.now();
    const gpu = summary(await generate(page, model, `${query}&backend=webgpu`));
    const gpuMs = Date.now() - started;
    const cpu = summary(await generate(page, model, `${query}&backend=wasm&threads=1`));
    console.log(
      `${model}: WebGPU (SwiftShader) ${gpuMs} ms in all, ttft ${gpu.ttftMs.toFixed(0)} ms, ${gpu.decodeTokS.toFixed(3)} tok/s; wasm ${cpu.decodeTokS.toFixed(1)} tok/s; ${JSON.stringify(gpu.text)}`,
    );
    expect(gpu.capabilities.runsOn).toBe('webgpu');
    expect(gpu.backend).toBe('webgpu');
    expect(gpu.tokenIds).toHaveLength(16);
    expect(gpu.tokenIds).toEqual(cpu.tokenIds);
  });
}
