// LlamaRunner end to end: the built package and the real SmolLM2 model,
// greedy. One suite, three runtimes (`npm test`), picked by HEARTH_RUNTIME:
// `native` (the @hearth/node addon; the default when it is built), `wasm`
// (hearth-wasm in a worker_threads worker) and `browser` (hearth-wasm in a Web
// Worker in Chromium, vitest browser mode). All three must produce the Rust
// CLI's greedy tokens (computed by test/global-setup.ts). Node-only sources
// (file paths) and the addon's extras are in runner-node.test.ts.
import {
  type GenerationResult,
  HearthError,
  LlamaRunner,
  type LoadProgress,
  type TokenChunk,
} from '@hearth/runner';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { modelBytes, runtime as RUNTIME, serveModel } from '#test-env';
import { SMOLLM2 } from './model-files.js';

/** The Rust CLI's greedy continuation (30 tokens) of the reference prompt. */
const REFERENCE = inject('reference');
const PROMPT = REFERENCE.prompt;
/** Which engine `auto` runs here. */
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

describe(`LlamaRunner on SmolLM2-135M (Q4_1), ${RUNTIME}`, () => {
  let bytes: Uint8Array;
  let runner: LlamaRunner;
  const progress: LoadProgress[] = [];

  beforeAll(async () => {
    bytes = await modelBytes(SMOLLM2);
    runner = await LlamaRunner.load(bytes, { onProgress: (p) => progress.push({ ...p }) });
  });
  afterAll(() => runner?.dispose());

  it('loads from bytes with progress through download, parse and init', () => {
    const stages = [...new Set(progress.map((p) => p.stage))];
    expect(stages).toEqual(['download', 'parse', 'init']);
    const downloads = progress.filter((p) => p.stage === 'download');
    expect(downloads.at(-1)).toEqual({
      stage: 'download',
      loaded: bytes.byteLength,
      total: bytes.byteLength,
    });
    const info = runner.info();
    expect(info.model.architecture).toBe('llama');
    expect(info.config.nVocab).toBe(49152);
    expect(info.config.hasChatTemplate).toBe(true);
    expect(info.contextLength).toBe(8192);
    expect(info.backend).toBe(ENGINE);
    // Which wasm build runs: none on the addon, the single-threaded one in Node, the
    // threaded one in the (isolated) browser page, whose pool workers Vite serves too.
    const caps = runner.capabilities();
    if (ENGINE === 'hearth') expect(caps.wasm).toBeUndefined();
    else if (RUNTIME === 'wasm') {
      expect(caps.wasm).toEqual({ simd: true, threads: false, threadCount: 1, build: 'simd' });
    } else {
      const threads = Math.min(navigator.hardwareConcurrency, 8);
      expect(caps.wasm).toEqual(
        threads > 1
          ? { simd: true, threads: true, threadCount: threads, build: 'threads' }
          : { simd: true, threads: false, threadCount: 1, build: 'simd' },
      );
    }
    expect(caps.engineThreads).toBe(caps.wasm?.threadCount ?? 1);
  });

  it('tokenizes as the native engine does', async () => {
    expect(await runner.tokenize(PROMPT)).toEqual(REFERENCE.promptTokens);
    expect(await runner.detokenize(REFERENCE.promptTokens)).toBe(PROMPT);
    const template = await runner.applyChatTemplate([{ role: 'user', content: 'Hi' }]);
    expect(template).toContain('<|im_start|>user\nHi<|im_end|>');
    expect(template.endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  it('continues "The capital of France is" greedily like the native CLI, streaming', async () => {
    const generation = runner.generateText(PROMPT, { temperature: 0, maxTokens: 30 });
    const chunks: TokenChunk[] = [];
    for await (const chunk of generation) chunks.push(chunk);
    const result = await generation.result;
    console.log(
      `${ENGINE} (${RUNTIME}): ${JSON.stringify(result.text)}; decode ${result.timings.decodeTokS.toFixed(1)} tok/s, ttft ${result.timings.ttftMs.toFixed(0)} ms`,
    );
    expect(result.text).toBe(REFERENCE.text);
    expect(result.finishReason).toBe('length');
    expect(result.tokens).toEqual(REFERENCE.tokens);
    expect(result.promptTokens).toEqual(REFERENCE.promptTokens);
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.map((c) => c.text).join('')).toBe(result.text);
    expect(result.timings.ttftMs).toBeGreaterThan(0);
    expect(result.timings.decodeTokS).toBeGreaterThan(0);
    // A second iteration replays the same chunks.
    const again: string[] = [];
    for await (const chunk of generation) again.push(chunk.text);
    expect(again.join('')).toBe(result.text);
  });

  it('stops between tokens when its signal aborts', async () => {
    const controller = new AbortController();
    const generation = runner.generateText(PROMPT, {
      temperature: 0,
      maxTokens: 30,
      signal: controller.signal,
    });
    let seen = 0;
    for await (const chunk of generation) {
      if (chunk.token !== null) seen += 1;
      if (seen === 3) controller.abort();
    }
    const result = await generation.result;
    expect(result.finishReason).toBe('cancelled');
    // The native engine generates on its own thread: a token or two may be under way.
    expect(result.tokens.length).toBeGreaterThanOrEqual(3);
    expect(result.tokens.length).toBeLessThanOrEqual(RUNTIME === 'native' ? 8 : 4);
    expect(result.text.startsWith(' Paris')).toBe(true);
  });

  it('queues concurrent generations instead of interleaving them', async () => {
    const a = runner.generateText(PROMPT, { temperature: 0, maxTokens: 5 });
    const b = runner.generateText(PROMPT, { temperature: 0, maxTokens: 5 });
    const order: string[] = [];
    const [ra, rb] = await Promise.all([
      a.result,
      b.result,
      (async () => {
        for await (const _ of a) order.push('a');
      })(),
      (async () => {
        for await (const _ of b) order.push('b');
      })(),
    ]);
    expect(order.join('')).toBe('aaaaabbbbb');
    expect(ra.text).toBe(' Paris.\n\nThe');
    expect(rb.text).toBe(ra.text);
    // b found a's prompt in the KV cache.
    expect(rb.timings.reusedTokens).toBe(4);
  });

  it('gives each of many concurrent generations the text it gets alone', async () => {
    const prompts = [
      PROMPT,
      'The capital of Italy is',
      'Once upon a time',
      '1, 2, 3, 4,',
      'The best way to learn a language is',
      PROMPT,
    ];
    const options = { temperature: 0, maxTokens: 8 };
    const alone: string[] = [];
    for (const prompt of prompts) {
      await runner.reset();
      alone.push((await runner.generateText(prompt, options).result).text);
    }
    // Different answers, so any interleaving of two generations would show.
    expect(new Set(alone).size).toBe(prompts.length - 1);
    // All at once, streamed; a queued one aborted before its turn does not disturb the rest.
    const controller = new AbortController();
    const generations = prompts.map((prompt) => runner.generateText(prompt, options));
    const aborted = runner.generateText(PROMPT, { ...options, signal: controller.signal });
    controller.abort();
    const streamed = await Promise.all(
      generations.map(async (generation) => {
        let text = '';
        for await (const chunk of generation) text += chunk.text;
        return text;
      }),
    );
    const results = await Promise.all(generations.map((g) => g.result));
    expect(results.map((r) => r.text)).toEqual(alone);
    expect(streamed).toEqual(alone);
    const cancelled = await aborted.result;
    expect(cancelled.finishReason).toBe('cancelled');
    expect(cancelled.tokens).toEqual([]);
    expect((await runner.generateText(PROMPT, options).result).text).toBe(alone[0]);
  });

  it('chats with the template and reuses the KV cache on the next turn', async () => {
    await runner.reset();
    const conversation = [{ role: 'user', content: 'What is the capital of France?' }];
    const first: GenerationResult = await runner.chat(conversation, {
      temperature: 0,
      maxTokens: 20,
    }).result;
    expect(first.text.length).toBeGreaterThan(0);
    expect(first.timings.reusedTokens).toBe(0);
    conversation.push(
      { role: 'assistant', content: first.text },
      { role: 'user', content: 'And of Italy?' },
    );
    const second = await runner.chat(conversation, { temperature: 0, maxTokens: 20 }).result;
    console.log(
      `chat: ${JSON.stringify(first.text)} / ${JSON.stringify(second.text)}; turn 2 reused ${second.timings.reusedTokens} of ${second.timings.promptTokens} prompt tokens`,
    );
    expect(second.text.length).toBeGreaterThan(0);
    expect(second.timings.reusedTokens).toBeGreaterThan(first.timings.promptTokens - 1);
    expect(second.timings.promptTokens).toBeGreaterThan(second.timings.reusedTokens);
  });

  it('samples reproducibly from any seed below 2^53', async () => {
    const sample = { temperature: 1, maxTokens: 6, seed: 5_000_000_017 };
    const first = await runner.generateText(PROMPT, sample).result;
    const again = await runner.generateText(PROMPT, sample).result;
    expect(first.tokens).toHaveLength(6);
    expect(again.tokens).toEqual(first.tokens);
  });

  it('rejects invalid options with INVALID_OPTION before running anything', async () => {
    for (const bad of [
      { temperature: -1 },
      { topP: 0 },
      { topP: 1.5 },
      { minP: 2 },
      { topK: 1.5 },
      { maxTokens: 0 },
      { repeatPenalty: 0 },
      { seed: -1 },
      { stop: [''] },
      { max_tokens: 5 },
      { temperature: Number.NaN },
    ]) {
      const e = await rejection(() => runner.generateText(PROMPT, bad as never));
      expect(e.code, JSON.stringify(bad)).toBe('INVALID_OPTION');
    }
    const e = await rejection(() => runner.chat([{ role: 'user', content: 'x' }], { topP: -1 }));
    expect(e.message).toMatch(/topP/);
    // The runner still works.
    expect((await runner.generateText(PROMPT, { temperature: 0, maxTokens: 2 }).result).text).toBe(
      ' Paris.',
    );
  });

  it('reports engine errors with their codes', async () => {
    const e = await rejection(() => runner.generateText([60000]).result);
    expect(e.code).toBe('TOKEN_OUT_OF_RANGE');
    const t = await rejection(() => runner.detokenize([1 << 30]));
    expect(t.code).toBe('TOKENIZER_ERROR');
  });
});

describe('LlamaRunner.load errors', () => {
  it.runIf(RUNTIME === 'browser')('runs in a cross-origin isolated page (COOP/COEP)', () => {
    expect(globalThis.crossOriginIsolated).toBe(true);
    expect(typeof SharedArrayBuffer).toBe('function');
  });

  it('rejects a thread count that is not a positive integer with INVALID_OPTION', async () => {
    for (const threads of [0, -2, 1.5, Number.NaN]) {
      const e = await rejection(() => LlamaRunner.load(new Uint8Array(64), { threads }));
      expect(e.code, String(threads)).toBe('INVALID_OPTION');
    }
  });

  it('rejects bytes that are not a model with the GGUF code', async () => {
    const e = await rejection(() => LlamaRunner.load(new TextEncoder().encode('<html>404</html>')));
    expect(e.code).toBe('GGUF_BAD_MAGIC');
  });

  it("rejects a truncated model and leaves the caller's bytes alone", async () => {
    const bytes = await modelBytes(SMOLLM2);
    const e = await rejection(() => LlamaRunner.load(bytes.subarray(0, 1 << 20)));
    expect(e.code).toBe('GGUF_COUNT_TOO_LARGE');
    expect(bytes.byteLength).toBeGreaterThan(1 << 20);
  });

  it.runIf(RUNTIME !== 'native')(
    'rejects a model larger than wasm32 can hold before reading it',
    async () => {
      const huge = { size: 5 * 2 ** 30, stream: () => new Blob([]).stream() };
      Object.setPrototypeOf(huge, Blob.prototype);
      const e = await rejection(() => LlamaRunner.load(huge as Blob));
      expect(e.code).toBe('MODEL_TOO_LARGE');
    },
  );

  it('checks the SHA-256 when one is given', async () => {
    const bytes = await modelBytes(SMOLLM2);
    const served = await serveModel(SMOLLM2);
    try {
      const stages: string[] = [];
      const e = await rejection(() =>
        LlamaRunner.load(
          { url: served.url, sha256: '0'.repeat(64) },
          { onProgress: (p) => stages.push(p.stage) },
        ),
      );
      expect(e.code).toBe('SHA256_MISMATCH');
      expect(stages).toContain('verify');
      expect(stages).not.toContain('parse');
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes)));
      const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
      const verified = await LlamaRunner.load(
        { url: served.url, sha256: sha256.toUpperCase(), name: 'SmolLM2', license: 'Apache-2.0' },
        { onProgress: (p) => stages.push(p.stage) },
      );
      expect(verified.info().source).toMatchObject({ name: 'SmolLM2', license: 'Apache-2.0' });
      expect(stages.filter((s) => s === 'verify')).toHaveLength(3);
      verified.dispose();
      const missing = await rejection(() => LlamaRunner.load(served.missingUrl));
      expect(missing.code).toBe('HTTP_404');
    } finally {
      await served.close();
    }
  });

  it('aborts a load with ABORTED', async () => {
    const bytes = await modelBytes(SMOLLM2);
    const controller = new AbortController();
    const loading = LlamaRunner.load(bytes, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'download' && p.loaded > 0) controller.abort();
      },
    });
    const e = await rejection(() => loading);
    expect(e.code).toBe('ABORTED');
  });
});
