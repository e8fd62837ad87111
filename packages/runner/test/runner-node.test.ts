// LlamaRunner in Node only (HEARTH_RUNTIME=native|wasm): file paths and
// file: URLs as sources, and the native addon's llama.cpp backend, event loop
// and memory. The behaviour shared with the browser is in runner.test.ts.

import { pathToFileURL } from 'node:url';
import { HearthError, LlamaRunner, type TokenChunk } from '@hearth/runner';
import { describe, expect, inject, it } from 'vitest';
import { runtime as RUNTIME } from '#test-env';
import { modelPath, SMOLLM2 } from './models.js';

const REFERENCE = inject('reference');
const PROMPT = REFERENCE.prompt;
const ENGINE = RUNTIME === 'native' ? 'hearth' : 'wasm';

/** Awaits a rejection (or catches a throw) and returns it as a HearthError. */
async function rejection(f: () => unknown): Promise<HearthError> {
  let error: unknown;
  try {
    await f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HearthError);
  return error as HearthError;
}

describe(`LlamaRunner from a file path, ${RUNTIME}`, () => {
  it('loads a path (memory-mapped by the addon, streamed from disk to wasm) and a file: URL', async () => {
    const path = modelPath(SMOLLM2);
    const stages: string[] = [];
    const runner = await LlamaRunner.load(path, { onProgress: (p) => stages.push(p.stage) });
    try {
      expect(runner.info().source.label).toBe(path);
      expect(runner.info().backend).toBe(ENGINE);
      expect(stages.includes('download')).toBe(RUNTIME === 'wasm');
      expect(stages).toContain('parse');
      const result = await runner.generateText(PROMPT, { temperature: 0, maxTokens: 2 }).result;
      expect(result.text).toBe(' Paris.');
    } finally {
      runner.dispose();
    }
    const viaUrl = await LlamaRunner.load(pathToFileURL(path));
    expect(viaUrl.info().model.architecture).toBe('llama');
    viaUrl.dispose();
  });

  it('rejects a missing file with IO_ERROR', async () => {
    const e = await rejection(() => LlamaRunner.load('/nonexistent/model.gguf'));
    expect(e.code).toBe('IO_ERROR');
  });

  it('rejects an unknown backend with INVALID_OPTION', async () => {
    const e = await rejection(() =>
      LlamaRunner.load(modelPath(SMOLLM2), { backend: 'onnx' as never }),
    );
    expect(e.code).toBe('INVALID_OPTION');
  });

  it("rejects backend 'webgpu' (browsers only) and bad GPU options", async () => {
    const webgpu = await rejection(() =>
      LlamaRunner.load(modelPath(SMOLLM2), { backend: 'webgpu' }),
    );
    expect(webgpu.code).toBe('WEBGPU_UNAVAILABLE');
    for (const bad of [
      { allowFallbackAdapter: 'yes' as never },
      { onDeviceLost: 'retry' as never },
      { gpu: { maxMemoryBytes: -1 } },
      { gpu: { maxMemoryBytes: 1.5 } },
      { gpu: { layers: 0 } },
      { gpu: { layers: 2.5 } },
      { gpu: 'lots' as never },
      { device: 'cuda' as never },
    ]) {
      const e = await rejection(() => LlamaRunner.load(modelPath(SMOLLM2), bad));
      expect(e.code, JSON.stringify(bad)).toBe('INVALID_OPTION');
    }
  });
});

describe.runIf(RUNTIME === 'native')('the native addon', () => {
  // hearth-core's wgpu backend through the addon: lavapipe (a software Vulkan adapter) in CI.
  // SmolLM2's 16 greedy tokens on this prompt are the CPU's (core/tests/gpu_models.rs).
  const GPU_PROMPT = 'The largest ocean on Earth is the';
  const greedy16 = { temperature: 0, maxTokens: 16, ignoreEos: true };

  it("runs hearth-core on the GPU with device: 'gpu', the CPU's greedy tokens", async () => {
    const path = modelPath(SMOLLM2);
    const cpu = await LlamaRunner.load(path, { device: 'cpu', contextLength: 64 });
    const want = await cpu.generateText(GPU_PROMPT, greedy16).result;
    expect(cpu.capabilities().native).toEqual({
      device: 'cpu',
      adapter: null,
      reason: null,
      gpuLayers: 0,
    });
    cpu.dispose();
    const gpu = await LlamaRunner.load(path, { device: 'gpu', contextLength: 64 });
    try {
      const native = gpu.capabilities().native;
      expect(native?.device).toBe('gpu');
      expect(native?.gpuLayers).toBe(30);
      expect(native?.adapter?.name).toBeTruthy();
      const got = await gpu.generateText(GPU_PROMPT, greedy16).result;
      console.log(
        `Node on the GPU (${native?.adapter?.name}): ${JSON.stringify(got.text)}, ${got.timings.decodeTokS.toFixed(1)} tok/s`,
      );
      expect(gpu.info().backend).toBe('hearth');
      expect(got.tokens).toEqual(want.tokens);
    } finally {
      gpu.dispose();
    }
  }, 120_000);

  it("a GPU device lost mid-generation: onDeviceLost 'cpu' goes on on the CPU, else GPU_DEVICE_LOST", async () => {
    const path = modelPath(SMOLLM2);
    const cpu = await LlamaRunner.load(path, { device: 'cpu', contextLength: 64 });
    const want = await cpu.generateText(GPU_PROMPT, greedy16).result;
    cpu.dispose();
    /** Generates, destroying the GPU device (the runner's test hook) after 4 tokens. */
    const loseAfter4 = async (runner: LlamaRunner) => {
      const lose = (runner as unknown as Record<symbol, () => Promise<void>>)[
        Symbol.for('hearth.loseGpuDevice')
      ];
      const generation = runner.generateText(GPU_PROMPT, greedy16);
      let seen = 0;
      for await (const chunk of generation) {
        if (chunk.token !== null && ++seen === 4) await lose?.call(runner);
      }
      return generation.result;
    };
    const moved = await LlamaRunner.load(path, {
      device: 'gpu',
      contextLength: 64,
      onDeviceLost: 'cpu',
    });
    try {
      expect(moved.capabilities().native?.device).toBe('gpu');
      const got = await loseAfter4(moved);
      expect(got.tokens).toEqual(want.tokens);
      expect(moved.capabilities().native).toMatchObject({ device: 'cpu', gpuLayers: 0 });
      expect(moved.capabilities().native?.reason).toMatch(/device was lost/);
    } finally {
      moved.dispose();
    }
    const strict = await LlamaRunner.load(path, { device: 'gpu', contextLength: 64 });
    try {
      const e = await rejection(() => loseAfter4(strict));
      expect(e.code).toBe('GPU_DEVICE_LOST');
    } finally {
      strict.dispose();
    }
  }, 120_000);

  it('auto takes a hardware GPU only; a budget offloads some blocks or none', async () => {
    const path = modelPath(SMOLLM2);
    const auto = await LlamaRunner.load(path, { contextLength: 64 });
    const adapter = auto.capabilities().native;
    auto.dispose();
    if (adapter?.device === 'cpu') {
      // No hardware adapter here (CI: only lavapipe), and auto says so.
      expect(adapter.reason).toMatch(/^only the software adapter |^no GPU adapter available/);
    }
    const partial = await LlamaRunner.load(path, {
      device: 'auto',
      allowFallbackAdapter: true,
      contextLength: 64,
      gpu: { maxMemoryBytes: 16 * 2 ** 20 },
    });
    try {
      const native = partial.capabilities().native;
      expect(native?.device).toBe('gpu');
      expect(native?.gpuLayers).toBeGreaterThan(0);
      expect(native?.gpuLayers).toBeLessThan(30);
      const r = await partial.generateText(PROMPT, { temperature: 0, maxTokens: 2 }).result;
      expect(r.text).toBe(' Paris.');
    } finally {
      partial.dispose();
    }
    const tiny = { contextLength: 64, gpu: { maxMemoryBytes: 2 ** 20 } };
    const fallback = await LlamaRunner.load(path, { ...tiny, allowFallbackAdapter: true });
    expect(fallback.capabilities().native).toMatchObject({ device: 'cpu', gpuLayers: 0 });
    expect(fallback.capabilities().native?.reason).toMatch(/GPU_DOES_NOT_FIT/);
    fallback.dispose();
    const refused = await rejection(() => LlamaRunner.load(path, { ...tiny, device: 'gpu' }));
    expect(refused.code).toBe('GPU_DOES_NOT_FIT');
    const layers = await LlamaRunner.load(path, {
      device: 'gpu',
      contextLength: 64,
      gpu: { layers: 7 },
    });
    expect(layers.capabilities().native?.gpuLayers).toBe(7);
    layers.dispose();
    const llama = await rejection(() =>
      LlamaRunner.load(path, { backend: 'llama.cpp', device: 'gpu' }),
    );
    expect(llama.code).toBe('INVALID_OPTION');
  }, 120_000);

  it('runs llama.cpp as a second backend with the same options, events and errors', async () => {
    const runner = await LlamaRunner.load(modelPath(SMOLLM2), { backend: 'llama.cpp' });
    try {
      expect(runner.info().backend).toBe('llama.cpp');
      expect(runner.info().config.nVocab).toBe(49152);
      expect(await runner.tokenize(PROMPT)).toEqual(REFERENCE.promptTokens);
      const generation = runner.generateText(PROMPT, { temperature: 0, maxTokens: 30 });
      const chunks: TokenChunk[] = [];
      for await (const chunk of generation) chunks.push(chunk);
      const result = await generation.result;
      console.log(
        `llama.cpp in Node: ${JSON.stringify(result.text)}; decode ${result.timings.decodeTokS.toFixed(1)} tok/s`,
      );
      expect(result.text.startsWith(' Paris.')).toBe(true);
      expect(result.tokens.slice(0, 13)).toEqual(REFERENCE.tokens.slice(0, 13));
      expect(result.finishReason).toBe('length');
      expect(chunks.map((c) => c.text).join('')).toBe(result.text);
      // Sampling reuses hearth-core's sampler: one seed, one output.
      const sample = { temperature: 0.9, topK: 40, seed: 42, maxTokens: 12 };
      const s1 = await runner.generateText(PROMPT, sample).result;
      const s2 = await runner.generateText(PROMPT, sample).result;
      expect(s2.tokens).toEqual(s1.tokens);
      // Chat templates are hearth-core's; stop strings and errors are shared.
      const template = await runner.applyChatTemplate([{ role: 'user', content: 'Hi' }]);
      expect(template).toContain('<|im_start|>user\nHi<|im_end|>');
      const chat = await runner.chat(
        [{ role: 'user', content: 'What is the capital of France?' }],
        {
          temperature: 0,
          maxTokens: 20,
        },
      ).result;
      console.log(`llama.cpp chat: ${JSON.stringify(chat.text)}`);
      expect(chat.text.length).toBeGreaterThan(0);
      const stopped = await runner.generateText(PROMPT, { temperature: 0, stop: '\n' }).result;
      expect(stopped.text).toBe(' Paris.');
      expect(stopped.finishReason).toBe('stop');
      const e = await rejection(() => runner.generateText([60000]).result);
      expect(e.code).toBe('TOKEN_OUT_OF_RANGE');
      const controller = new AbortController();
      const aborted = runner.generateText(PROMPT, {
        temperature: 0,
        maxTokens: 30,
        signal: controller.signal,
      });
      let seen = 0;
      for await (const chunk of aborted) {
        if (chunk.token !== null && ++seen === 3) controller.abort();
      }
      expect((await aborted.result).finishReason).toBe('cancelled');
    } finally {
      runner.dispose();
    }
  }, 180_000); // Several generations on llama.cpp: slow on a busy 2-core runner.

  it('keeps the event loop free while generating', async () => {
    const runner = await LlamaRunner.load(modelPath(SMOLLM2));
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const result = await runner.generateText(PROMPT, { temperature: 0, maxTokens: 30 }).result;
      clearInterval(timer);
      expect(result.tokens).toEqual(REFERENCE.tokens);
      expect(ticks).toBeGreaterThan(20);
    } finally {
      runner.dispose();
    }
  });

  it('keeps memory bounded over 100 load/dispose cycles (memory-mapped SmolLM2)', async () => {
    const path = modelPath(SMOLLM2);
    const cycle = async () => {
      const runner = await LlamaRunner.load(path);
      await runner.generateText(PROMPT, { temperature: 0, maxTokens: 1 }).result;
      runner.dispose();
    };
    for (let i = 0; i < 5; i++) await cycle();
    const before = process.memoryUsage();
    for (let i = 0; i < 100; i++) await cycle();
    // The last cycle's model may still be unmapped on its generation thread (it drops its
    // share after the result): give it up to 2 s before measuring.
    let after = process.memoryUsage();
    for (let i = 0; i < 20 && after.rss - before.rss > 50 * 2 ** 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = process.memoryUsage();
    }
    const growth = (after.rss - before.rss) / 2 ** 20;
    const external = (after.external - before.external) / 2 ** 20;
    console.log(
      `growth over 100 native load/dispose cycles: RSS ${growth.toFixed(1)} MiB, external ${external.toFixed(1)} MiB`,
    );
    // One model is ~94 MiB: a leak of one per cycle would be gigabytes.
    expect(growth).toBeLessThan(50);
    expect(external).toBeLessThan(10);
  }, 300_000);
});
