// LlamaRunner end to end in Node: the built package and the real SmolLM2
// model, greedy. The same suite runs twice (`npm test`): HEARTH_RUNTIME=native
// (the @hearth/node addon; the default when it is built) and HEARTH_RUNTIME=wasm
// (hearth-wasm in a worker_threads worker).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import {
  type GenerationResult,
  HearthError,
  LlamaRunner,
  type LoadProgress,
  type TokenChunk,
} from '@hearth/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelPath, SMOLLM2 } from './models.js';

const PROMPT = 'The capital of France is';
/** What the native CLI generates, greedy (the first 30 tokens start with this). */
const CONTINUATION = ' Paris.\n\nThe United States has a population of approximately';
/** The 30 greedy tokens of hearth-core, native and wasm alike. */
const GREEDY_30 = [
  7042, 30, 198, 198, 504, 1797, 1918, 553, 253, 2155, 282, 4723, 216, 35, 33, 33, 2215, 701, 30,
  198, 198, 504, 1797, 1918, 553, 253, 2155, 282, 4723, 216,
];
/** Which engine `auto` runs here. */
const RUNTIME = process.env.HEARTH_RUNTIME === 'wasm' ? 'wasm' : 'native';
const ENGINE = RUNTIME === 'wasm' ? 'wasm' : 'hearth';

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
    bytes = await readFile(modelPath(SMOLLM2));
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
    // Node's wasm engine is the single-threaded SIMD build; the native addon reports no wasm build.
    expect(runner.capabilities().wasm).toEqual(
      ENGINE === 'wasm' ? { simd: true, threads: false, threadCount: 1, build: 'simd' } : undefined,
    );
  });

  it('tokenizes as the native engine does', async () => {
    expect(await runner.tokenize(PROMPT)).toEqual([504, 3575, 282, 4649, 314]);
    expect(await runner.detokenize([504, 3575, 282, 4649, 314])).toBe(PROMPT);
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
      `${ENGINE} in Node: ${JSON.stringify(result.text)}; decode ${result.timings.decodeTokS.toFixed(1)} tok/s, ttft ${result.timings.ttftMs.toFixed(0)} ms`,
    );
    expect(result.text.startsWith(CONTINUATION)).toBe(true);
    expect(result.finishReason).toBe('length');
    expect(result.tokens).toEqual(GREEDY_30);
    expect(result.promptTokens).toEqual([504, 3575, 282, 4649, 314]);
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
    expect(result.tokens.length).toBeLessThanOrEqual(RUNTIME === 'wasm' ? 4 : 8);
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
  it('rejects bytes that are not a model with the GGUF code', async () => {
    const e = await rejection(() => LlamaRunner.load(new TextEncoder().encode('<html>404</html>')));
    expect(e.code).toBe('GGUF_BAD_MAGIC');
  });

  it("rejects a truncated model and leaves the caller's bytes alone", async () => {
    const bytes = await readFile(modelPath(SMOLLM2));
    const e = await rejection(() => LlamaRunner.load(bytes.subarray(0, 1 << 20)));
    expect(e.code).toBe('GGUF_COUNT_TOO_LARGE');
    expect(bytes.byteLength).toBeGreaterThan(1 << 20);
  });

  it.runIf(RUNTIME === 'wasm')(
    'rejects a model larger than wasm32 can hold before reading it',
    async () => {
      const huge = { size: 5 * 2 ** 30, stream: () => new Blob([]).stream() };
      Object.setPrototypeOf(huge, Blob.prototype);
      const e = await rejection(() => LlamaRunner.load(huge as Blob));
      expect(e.code).toBe('MODEL_TOO_LARGE');
    },
  );

  it('checks the SHA-256 when one is given', async () => {
    const { createServer } = await import('node:http');
    const bytes = await readFile(modelPath(SMOLLM2));
    const server = createServer((req, res) => {
      if (req.url === '/missing.gguf') return res.writeHead(404).end('<html>404</html>');
      res.writeHead(200, { 'Content-Length': bytes.byteLength }).end(bytes);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const address = server.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const stages: string[] = [];
      const e = await rejection(() =>
        LlamaRunner.load(
          { url: `${origin}/model.gguf`, sha256: '0'.repeat(64) },
          { onProgress: (p) => stages.push(p.stage) },
        ),
      );
      expect(e.code).toBe('SHA256_MISMATCH');
      expect(stages).toContain('verify');
      expect(stages).not.toContain('parse');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const verified = await LlamaRunner.load(
        {
          url: `${origin}/model.gguf`,
          sha256: sha256.toUpperCase(),
          name: 'SmolLM2',
          license: 'Apache-2.0',
        },
        { onProgress: (p) => stages.push(p.stage) },
      );
      expect(verified.info().source).toMatchObject({ name: 'SmolLM2', license: 'Apache-2.0' });
      expect(stages.filter((s) => s === 'verify')).toHaveLength(3);
      verified.dispose();
      const missing = await rejection(() => LlamaRunner.load(`${origin}/missing.gguf`));
      expect(missing.code).toBe('HTTP_404');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('aborts a load with ABORTED', async () => {
    const bytes = await readFile(modelPath(SMOLLM2));
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

  it('rejects a thread count that is not a positive integer with INVALID_OPTION', async () => {
    for (const threads of [0, -2, 1.5, Number.NaN]) {
      const e = await rejection(() => LlamaRunner.load(modelPath(SMOLLM2), { threads }));
      expect(e.code, String(threads)).toBe('INVALID_OPTION');
    }
  });

  it('rejects an unknown backend with INVALID_OPTION', async () => {
    const e = await rejection(() =>
      LlamaRunner.load(modelPath(SMOLLM2), { backend: 'onnx' as never }),
    );
    expect(e.code).toBe('INVALID_OPTION');
  });
});

describe.runIf(RUNTIME === 'native')('the native addon', () => {
  it('runs llama.cpp as a second backend with the same options, events and errors', async () => {
    const runner = await LlamaRunner.load(modelPath(SMOLLM2), { backend: 'llama.cpp' });
    try {
      expect(runner.info().backend).toBe('llama.cpp');
      expect(runner.info().config.nVocab).toBe(49152);
      expect(await runner.tokenize(PROMPT)).toEqual([504, 3575, 282, 4649, 314]);
      const generation = runner.generateText(PROMPT, { temperature: 0, maxTokens: 30 });
      const chunks: TokenChunk[] = [];
      for await (const chunk of generation) chunks.push(chunk);
      const result = await generation.result;
      console.log(
        `llama.cpp in Node: ${JSON.stringify(result.text)}; decode ${result.timings.decodeTokS.toFixed(1)} tok/s`,
      );
      expect(result.text.startsWith(' Paris.')).toBe(true);
      expect(result.tokens.slice(0, 13)).toEqual(GREEDY_30.slice(0, 13));
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
  });

  it('keeps the event loop free while generating', async () => {
    const runner = await LlamaRunner.load(modelPath(SMOLLM2));
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const result = await runner.generateText(PROMPT, { temperature: 0, maxTokens: 30 }).result;
      clearInterval(timer);
      expect(result.tokens).toEqual(GREEDY_30);
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
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 100; i++) await cycle();
    const growth = (process.memoryUsage().rss - before) / 2 ** 20;
    console.log(`RSS growth over 100 native load/dispose cycles: ${growth.toFixed(1)} MiB`);
    expect(growth).toBeLessThan(50);
  }, 300_000);
});
