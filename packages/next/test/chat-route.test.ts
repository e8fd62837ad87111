// The chat route's handlers called with real `Request`s, on the real native runner and SmolLM2.
import type { Generation, LlamaRunner } from '@hearth/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatRoute, disposeSharedModels, sharedModel } from '../src/server.js';
import { SMOLLM2 } from './models.js';

const route = createChatRoute({ model: SMOLLM2, maxTokensLimit: 2000 });
const URL_ = 'http://localhost/api/v1/chat/completions';
const question = [{ role: 'user', content: 'Tell me the capital of France.' }];

/** Every generation the route starts (the shared runner's `chat`, observed). */
const generations: Generation[] = [];
let runner: LlamaRunner;

beforeAll(async () => {
  runner = await sharedModel(SMOLLM2);
  const chat = runner.chat.bind(runner);
  runner.chat = (messages, options) => {
    const generation = chat(messages, options);
    generations.push(generation);
    return generation;
  };
});
afterAll(() => disposeSharedModels());

function post(body: unknown, signal?: AbortSignal): Promise<Response> {
  return route.POST(
    new Request(URL_, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...(signal ? { signal } : {}),
    }),
  );
}

/** The `data:` payloads of an SSE body, in order. */
async function events(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      expect(block.startsWith('data: ')).toBe(true);
      return block.slice('data: '.length);
    });
}

describe('createChatRoute', () => {
  it('answers a non-streaming request with one chat.completion', async () => {
    const response = await post({ messages: question, temperature: 0, max_tokens: 12 });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = await response.json();
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'SmolLM2-135M-Instruct.Q4_1',
      choices: [{ index: 0, message: { role: 'assistant' } }],
    });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.choices[0].message.content).toMatch(/Paris/);
    expect(['stop', 'length']).toContain(body.choices[0].finish_reason);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(12);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('streams chat.completion.chunk events ending in [DONE], the same text as without streaming', async () => {
    const request = { messages: question, temperature: 0, max_tokens: 16 };
    const whole = await (await post(request)).json();
    const response = await post({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = await events(response);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.id).toBe(chunks[0].id);
    }
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toEqual(whole.usage);
    const last = chunks.at(-2);
    expect(last.choices[0].finish_reason).toBe(whole.choices[0].finish_reason);
    const deltas = chunks.slice(1, -2).map((c) => c.choices[0].delta.content as string);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(whole.choices[0].message.content);
  });

  it('stops the generation when the client disconnects (request.signal)', async () => {
    const client = new AbortController();
    const response = await post(
      {
        messages: [{ role: 'user', content: 'Tell me a very long story.' }],
        max_tokens: 2000,
        stream: true,
      },
      client.signal,
    );
    const generation = generations.at(-1) as Generation;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    client.abort();
    const result = await generation.result;
    expect(result.finishReason).toBe('cancelled');
    expect(result.tokens.length).toBeLessThan(2000);
    // The body ends without a finish chunk or [DONE].
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value);
    expect(rest).not.toContain('[DONE]');
  });

  it('stops the generation when the response body is cancelled', async () => {
    const response = await post({
      messages: [{ role: 'user', content: 'Tell me a very long story.' }],
      max_tokens: 2000,
      stream: true,
    });
    const generation = generations.at(-1) as Generation;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    const result = await generation.result;
    expect(result.finishReason).toBe('cancelled');
    expect(result.tokens.length).toBeLessThan(2000);
  });

  it.each([
    ['not JSON', '{"messages": [', 400, 'invalid_json', null],
    ['a body that is not an object', '[1, 2]', 400, 'invalid_type', null],
    [
      'no messages',
      { model: 'SmolLM2-135M-Instruct.Q4_1' },
      400,
      'missing_required_parameter',
      'messages',
    ],
    ['empty messages', { messages: [] }, 400, 'invalid_value', 'messages'],
    [
      'an unknown role',
      { messages: [{ role: 'robot', content: 'hi' }] },
      400,
      'invalid_value',
      'messages[0].role',
    ],
    [
      'a missing content',
      { messages: [{ role: 'user' }] },
      400,
      'missing_required_parameter',
      'messages[0].content',
    ],
    [
      'an image part',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
      400,
      'unsupported_parameter',
      'messages[0].content[0].type',
    ],
    ['temperature 3', { messages: question, temperature: 3 }, 400, 'invalid_value', 'temperature'],
    ['a string top_p', { messages: question, top_p: '0.9' }, 400, 'invalid_type', 'top_p'],
    [
      'max_tokens over the limit',
      { messages: question, max_tokens: 5000 },
      400,
      'invalid_value',
      'max_tokens',
    ],
    ['max_tokens 0', { messages: question, max_tokens: 0 }, 400, 'invalid_value', 'max_tokens'],
    ['n = 2', { messages: question, n: 2 }, 400, 'invalid_value', 'n'],
    [
      'tools',
      { messages: question, tools: [{ type: 'function' }] },
      400,
      'unsupported_parameter',
      'tools',
    ],
    [
      'five stop strings',
      { messages: question, stop: ['a', 'b', 'c', 'd', 'e'] },
      400,
      'invalid_value',
      'stop',
    ],
    ['another model', { model: 'gpt-4o', messages: question }, 404, 'model_not_found', 'model'],
  ])('refuses %s with an OpenAI error', async (_name, body, status, code, param) => {
    const before = generations.length;
    const response = await post(body);
    expect(response.status).toBe(status);
    const { error } = await response.json();
    expect(error).toMatchObject({ code, param });
    expect(error.type).toBe(status === 404 ? 'not_found_error' : 'invalid_request_error');
    expect(typeof error.message).toBe('string');
    expect(error.message.length).toBeGreaterThan(10);
    expect(generations.length).toBe(before);
  });

  it('reports an engine error before the first token as an HTTP error with its code', async () => {
    const long = 'word '.repeat(10_000);
    const small = createChatRoute({
      model: SMOLLM2,
      loadOptions: { contextLength: 256 },
      modelId: 'small',
    });
    const response = await small.POST(
      new Request(URL_, {
        method: 'POST',
        body: JSON.stringify({ messages: [{ role: 'user', content: long }], stream: true }),
      }),
    );
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error.code).toBe('PROMPT_TOO_LONG');
  });

  it('lists its model', async () => {
    const response = await route.GET(new Request('http://localhost/api/v1/models'));
    expect(await response.json()).toEqual({
      object: 'list',
      data: [{ id: 'SmolLM2-135M-Instruct.Q4_1', object: 'model', created: 0, owned_by: 'hearth' }],
    });
  });

  it('answers GET only for the model list', async () => {
    const response = await route.GET(new Request('http://localhost/api/v1/chat/completions'));
    expect(response.status).toBe(404);
    expect((await response.json()).error.type).toBe('not_found_error');
  });

  it('answers 500 with the engine code when the model cannot be loaded', async () => {
    const broken = createChatRoute({ model: '/nonexistent/model.gguf' });
    const response = await broken.POST(
      new Request(URL_, { method: 'POST', body: JSON.stringify({ messages: question }) }),
    );
    expect(response.status).toBe(500);
    const { error } = await response.json();
    expect(error.type).toBe('server_error');
    expect(error.code).toBe('IO_ERROR');
    expect(error.message).toContain('/nonexistent/model.gguf');
  });
});
