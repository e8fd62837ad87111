// The official `openai` client against the chat route on a loopback HTTP server:
// streaming, non-streaming, the model list, errors and aborts.
import type { Generation, LlamaRunner } from '@hearth/runner';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeChat, streamChat } from '../src/client.js';
import { createChatRoute, disposeSharedModels, sharedModel } from '../src/server.js';
import { type Loopback, serveLoopback } from './loopback.js';
import { SMOLLM2 } from './models.js';

const MODEL = 'SmolLM2-135M-Instruct.Q4_1';
const question = [{ role: 'user' as const, content: 'Tell me the capital of France.' }];
const story = [{ role: 'user' as const, content: 'Tell me a very long story about a dragon.' }];

let server: Loopback;
let client: OpenAI;
let runner: LlamaRunner;
const generations: Generation[] = [];

beforeAll(async () => {
  runner = await sharedModel(SMOLLM2);
  const chat = runner.chat.bind(runner);
  runner.chat = (messages, options) => {
    const generation = chat(messages, options);
    generations.push(generation);
    return generation;
  };
  const { GET, POST } = createChatRoute({ model: SMOLLM2 });
  server = await serveLoopback({
    'POST /api/v1/chat/completions': POST,
    'GET /api/v1/models': GET,
  });
  client = new OpenAI({ baseURL: `${server.origin}/api/v1`, apiKey: 'local', maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await disposeSharedModels();
});

describe('the openai client on loopback', () => {
  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('gets a whole answer', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: question,
      temperature: 0,
      max_completion_tokens: 12,
    });
    expect(completion.model).toBe(MODEL);
    expect(completion.choices[0]?.message.content).toMatch(/Paris/);
    expect(completion.usage?.completion_tokens).toBeLessThanOrEqual(12);
  });

  it('streams the answer chunk by chunk, as they are generated', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: question,
      temperature: 0,
      max_tokens: 24,
      stream: true,
    });
    const deltas: string[] = [];
    const arrivals: number[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        deltas.push(choice.delta.content);
        arrivals.push(performance.now());
      }
      finish = choice?.finish_reason ?? finish;
    }
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toMatch(/Paris/);
    expect(['stop', 'length']).toContain(finish);
    // Incremental over the wire: the deltas did not all arrive in one read.
    expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThan(0);
  });

  it('aborting the request stops the generation on the server', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: MODEL, messages: story, max_tokens: 2000, stream: true },
      { signal: controller.signal },
    );
    const generation = generations.at(-1) as Generation;
    let received = 0;
    // The client's stream ends quietly on its own abort.
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) received += 1;
      if (received === 3) controller.abort();
    }
    expect(received).toBe(3);
    const result = await generation.result;
    expect(result.finishReason).toBe('cancelled');
    expect(result.tokens.length).toBeLessThan(2000);
  });

  it('gets bad requests as typed OpenAI errors', async () => {
    const bad = client.chat.completions.create({
      model: MODEL,
      messages: question,
      temperature: 7,
    });
    await expect(bad).rejects.toThrow(OpenAI.BadRequestError);
    await expect(bad).rejects.toMatchObject({
      status: 400,
      code: 'invalid_value',
      param: 'temperature',
    });
    const missing = client.chat.completions.create({ model: 'gpt-4o', messages: question });
    await expect(missing).rejects.toThrow(OpenAI.NotFoundError);
    await expect(missing).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('@hearth/next/client on loopback', () => {
  const url = () => `${server.origin}/api/v1/chat/completions`;

  it('streamChat yields the text deltas; completeChat the same whole answer', async () => {
    const body = { temperature: 0, max_tokens: 16 };
    const deltas: string[] = [];
    for await (const delta of streamChat(url(), question, { body })) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(5);
    const whole = await completeChat(url(), question, { body });
    expect(deltas.join('')).toBe(whole.text);
    expect(whole.text).toMatch(/Paris/);
    expect(whole.usage.completion_tokens).toBeLessThanOrEqual(16);
  });

  it('streamChat stops the server generation when its signal aborts', async () => {
    const controller = new AbortController();
    let received = 0;
    const run = async () => {
      for await (const _ of streamChat(url(), story, {
        signal: controller.signal,
        body: { max_tokens: 2000 },
      })) {
        received += 1;
        if (received === 3) controller.abort();
      }
    };
    await expect(run()).rejects.toThrow(/abort/i);
    const result = await (generations.at(-1) as Generation).result;
    expect(result.finishReason).toBe('cancelled');
  });

  it('streamChat throws the route error with its code and parameter', async () => {
    const run = async () => {
      for await (const _ of streamChat(url(), [{ role: 'robot', content: 'hi' }])) {
        // nothing arrives
      }
    };
    await expect(run()).rejects.toMatchObject({
      name: 'ChatResponseError',
      status: 400,
      code: 'invalid_value',
      param: 'messages[0].role',
    });
  });
});
