// The provider under `ai`'s own functions (generateText, streamText, embed, embedMany)
// on the real runner and real models: the native addon, or wasm with HEARTH_RUNTIME=wasm.

import { EmbeddingRunner, LlamaRunner } from '@hearth/runner';
import { embed, embedMany, generateText, jsonSchema, NoSuchModelError, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { modelPath, SMOLLM2 } from '../../runner/test/models.js';
import { createHearth } from '../src/index.js';

const MODEL = modelPath(SMOLLM2);
const QUESTION = 'What is the capital of France?';
const WASM = process.env.HEARTH_RUNTIME === 'wasm';
// The warnings are checked in the results; keep the log quiet.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

let runner: LlamaRunner;
beforeAll(async () => {
  runner = await LlamaRunner.load(MODEL);
});
afterAll(() => runner?.dispose());

/** The runner's own answer, the reference for the provider's. */
async function direct(
  messages: { role: string; content: string }[],
  options: Parameters<LlamaRunner['chat']>[1],
) {
  return runner.chat(messages, options).result;
}

describe('language model', () => {
  test('generateText: greedy text, finish reason and usage equal the runner’s own', async () => {
    const hearth = createHearth({ runner });
    const result = await generateText({
      model: hearth('smollm2'),
      system: 'You are brief.',
      prompt: QUESTION,
      temperature: 0,
      maxOutputTokens: 16,
    });
    const reference = await direct(
      [
        { role: 'system', content: 'You are brief.' },
        { role: 'user', content: QUESTION },
      ],
      { temperature: 0, maxTokens: 16 },
    );
    expect(result.text).toBe(reference.text);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.finishReason).toBe(reference.finishReason === 'length' ? 'length' : 'stop');
    expect(result.usage.outputTokens).toBe(reference.tokens.length);
    expect(result.usage.inputTokens).toBe(reference.promptTokens.length);
    expect(result.warnings ?? []).toEqual([]);
    const meta = result.providerMetadata?.hearth as { timings: { decodeTokS: number } };
    expect(meta.timings.decodeTokS).toBeGreaterThan(0);
    expect(result.response.modelId).toBe('smollm2');
  });

  test('streamText: many text deltas whose concatenation is the greedy answer', async () => {
    const hearth = createHearth({ runner });
    const result = streamText({
      model: hearth('smollm2'),
      messages: [
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: 'Paris.' },
        { role: 'user', content: 'And of Germany?' },
      ],
      temperature: 0,
      maxOutputTokens: 24,
      providerOptions: { hearth: { ignoreEos: true } },
    });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    const reference = await direct(
      [
        { role: 'user', content: QUESTION },
        { role: 'assistant', content: 'Paris.' },
        { role: 'user', content: 'And of Germany?' },
      ],
      { temperature: 0, maxTokens: 24, ignoreEos: true },
    );
    expect(deltas.join('')).toBe(reference.text);
    // One delta per token that adds text (24 tokens, a few may be partial UTF-8 or empty).
    expect(deltas.length).toBeGreaterThan(12);
    expect(await result.text).toBe(reference.text);
    expect((await result.usage).outputTokens).toBe(reference.tokens.length);
  });

  test('includeRawChunks streams each runner chunk as a raw part', async () => {
    const hearth = createHearth({ runner });
    const result = streamText({
      model: hearth(),
      prompt: QUESTION,
      temperature: 0,
      maxOutputTokens: 6,
      includeRawChunks: true,
    });
    const raw: { token: number | null; text: string }[] = [];
    for await (const part of result.fullStream) {
      if (part.type === 'raw') raw.push(part.rawValue as { token: number | null; text: string });
    }
    const reference = await direct([{ role: 'user', content: QUESTION }], {
      temperature: 0,
      maxTokens: 6,
    });
    expect(raw.map((c) => c.token)).toEqual(reference.tokens);
    expect(raw.map((c) => c.text).join('')).toBe(reference.text);
  });

  test('sampling settings reach the runner: seed, topK, topP, stopSequences', async () => {
    const hearth = createHearth({ runner });
    const sampled = { temperature: 1, topK: 20, topP: 0.9, seed: 7 };
    const a = await generateText({
      model: hearth(),
      prompt: 'Write a word.',
      maxOutputTokens: 12,
      ...sampled,
    });
    const reference = await direct([{ role: 'user', content: 'Write a word.' }], {
      temperature: 1,
      topK: 20,
      topP: 0.9,
      seed: 7,
      maxTokens: 12,
    });
    expect(a.text).toBe(reference.text);
    const other = await direct([{ role: 'user', content: 'Write a word.' }], {
      ...sampled,
      seed: 8,
      maxTokens: 12,
    });
    // Another seed samples another text: the seed was not ignored.
    expect(other.text).not.toBe(reference.text);

    const greedy = await direct([{ role: 'user', content: QUESTION }], {
      temperature: 0,
      maxTokens: 16,
    });
    const stopAt = greedy.text.trim().split(' ')[2] as string;
    const stopped = await generateText({
      model: hearth(),
      prompt: QUESTION,
      temperature: 0,
      maxOutputTokens: 16,
      stopSequences: [stopAt],
    });
    expect(stopped.finishReason).toBe('stop');
    expect(greedy.text.startsWith(stopped.text)).toBe(true);
    expect(stopped.text).not.toContain(stopAt);
  });

  test('providerOptions.hearth reaches the runner; unsupported settings are warnings', async () => {
    const hearth = createHearth({ runner });
    const result = await generateText({
      model: hearth(),
      prompt: QUESTION,
      temperature: 0,
      maxOutputTokens: 40,
      providerOptions: { hearth: { ignoreEos: true, madeUp: 1 } },
      tools: {
        weather: tool({ description: 'the weather', inputSchema: jsonSchema({ type: 'object' }) }),
      },
    });
    // ignoreEos: the answer runs to the token limit.
    expect(result.usage.outputTokens).toBe(40);
    expect(result.finishReason).toBe('length');
    const features = (result.warnings ?? []).map((w) => ('feature' in w ? w.feature : w.type));
    expect(features).toEqual(expect.arrayContaining(['providerOptions.hearth.madeUp', 'tools']));
    // The model spec directly: JSON output and reasoning effort are not supported either.
    const spec = await hearth().doGenerate({
      prompt: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }],
      maxOutputTokens: 2,
      responseFormat: { type: 'json' },
      reasoning: 'high',
    });
    expect(spec.warnings.map((w) => ('feature' in w ? w.feature : w.type))).toEqual([
      'responseFormat',
      'reasoning',
    ]);
  });

  test('a bad setting fails with the runner’s INVALID_OPTION', async () => {
    const hearth = createHearth({ runner });
    await expect(
      generateText({ model: hearth(), prompt: QUESTION, topP: 5, maxRetries: 0 }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  test('abortSignal stops streamText between tokens', async () => {
    const hearth = createHearth({ runner });
    const abort = new AbortController();
    let aborted = false;
    const result = streamText({
      model: hearth(),
      prompt: 'Tell me a long story about a dragon.',
      temperature: 0,
      maxOutputTokens: 300,
      providerOptions: { hearth: { ignoreEos: true } },
      abortSignal: abort.signal,
      onAbort: () => {
        aborted = true;
      },
    });
    let deltas = 0;
    for await (const _ of result.textStream) {
      deltas += 1;
      if (deltas === 4) abort.abort();
    }
    expect(aborted).toBe(true);
    expect(deltas).toBeLessThan(10);
    // The runner is free again: the next answer is not queued behind 300 tokens.
    const next = await direct([{ role: 'user', content: QUESTION }], {
      temperature: 0,
      maxTokens: 4,
    });
    expect(next.tokens.length).toBe(4);
  });

  test('an aborted generateText rejects with the abort reason, and the runner stays usable', async () => {
    const hearth = createHearth({ runner });
    const abort = new AbortController();
    abort.abort(new DOMException('stopped by the test', 'AbortError'));
    await expect(
      generateText({ model: hearth(), prompt: QUESTION, abortSignal: abort.signal, maxRetries: 0 }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    const { text } = await generateText({
      model: hearth(),
      prompt: QUESTION,
      temperature: 0,
      maxOutputTokens: 4,
    });
    expect(text.length).toBeGreaterThan(0);
  });

  test('a model source as the id is loaded once; a bad one fails with IO_ERROR', async () => {
    const hearth = createHearth({ loadOptions: WASM ? { backend: 'wasm' } : {} });
    try {
      const { text } = await generateText({
        model: hearth(MODEL),
        prompt: QUESTION,
        temperature: 0,
        maxOutputTokens: 8,
      });
      expect(text).toBe(
        (await direct([{ role: 'user', content: QUESTION }], { temperature: 0, maxTokens: 8 }))
          .text,
      );
      await expect(
        generateText({ model: hearth('/nonexistent/model.gguf'), prompt: 'x', maxRetries: 0 }),
      ).rejects.toMatchObject({ code: 'IO_ERROR' });
    } finally {
      hearth.dispose();
    }
    expect(() => createHearth().languageModel()).toThrow(NoSuchModelError);
    expect(() => createHearth({ runner }).imageModel('x')).toThrow(NoSuchModelError);
  });
});

describe('embedding model', () => {
  test('embed and embedMany return the EmbeddingRunner’s own vectors', async () => {
    const embedder = await EmbeddingRunner.load(
      modelPath('all-MiniLM-L6-v2'),
      WASM ? { backend: 'wasm' } : {},
    );
    try {
      const hearth = createHearth({ embedder });
      const texts = [
        'A man is playing a guitar on the stage.',
        'Someone plays the guitar in front of an audience.',
        'The stock market fell sharply on Monday morning.',
      ];
      const reference = (await embedder.embed(texts)).vectors.map((v) => Array.from(v));
      const many = await embedMany({ model: hearth.embeddingModel('minilm'), values: texts });
      expect(many.embeddings).toEqual(reference);
      const one = await embed({
        model: hearth.textEmbeddingModel('minilm'),
        value: texts[0] as string,
      });
      expect(one.embedding).toEqual(reference[0]);
      expect(one.embedding).toHaveLength(384);

      const cut = await embed({
        model: hearth.embeddingModel('minilm'),
        value: texts[0] as string,
        providerOptions: { hearth: { dimensions: 3 } },
      });
      expect(cut.warnings.map((w) => ('feature' in w ? w.feature : w.type))).toEqual([
        'providerOptions.hearth.dimensions',
      ]);
    } finally {
      embedder.dispose();
    }
  });
});
