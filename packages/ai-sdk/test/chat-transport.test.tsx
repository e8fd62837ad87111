// @vitest-environment jsdom
// HearthChatTransport on the real runner: its UI message chunks, and `useChat` from
// @ai-sdk/react answering through it (rendered by React in jsdom).

import { useChat } from '@ai-sdk/react';
import { LlamaRunner } from '@hearth/runner';
import { act, configure, renderHook, waitFor } from '@testing-library/react';
import type { UIMessage, UIMessageChunk } from 'ai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { modelPath, SMOLLM2 } from '../../runner/test/models.js';
import { HearthChatTransport, type HearthUIMessage } from '../src/index.js';

configure({ asyncUtilTimeout: 30_000 });

const MODEL = modelPath(SMOLLM2);
const QUESTION = 'What is the capital of France?';
const WASM = process.env.HEARTH_RUNTIME === 'wasm';
const GREEDY = { temperature: 0, maxOutputTokens: 12 };

let runner: LlamaRunner;
beforeAll(async () => {
  runner = await LlamaRunner.load(MODEL);
});
afterAll(() => runner?.dispose());

function userMessage(text: string, id = 'u1'): HearthUIMessage {
  return { id, role: 'user', parts: [{ type: 'text', text }] };
}

async function readAll(stream: ReadableStream<UIMessageChunk>): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
  }
}

function send(transport: HearthChatTransport, messages: HearthUIMessage[], signal?: AbortSignal) {
  return transport.sendMessages({
    trigger: 'submit-message',
    chatId: 'c1',
    messageId: undefined,
    messages,
    abortSignal: signal,
  });
}

function text(message: UIMessage | undefined): string {
  return (message?.parts ?? []).map((p) => (p.type === 'text' ? p.text : '')).join('');
}

describe('HearthChatTransport', () => {
  test('streams start, load progress data parts, text-start/delta/end and finish; text equals runner.chat', async () => {
    const transport = new HearthChatTransport({
      model: MODEL,
      loadOptions: WASM ? { backend: 'wasm' } : {},
      settings: GREEDY,
    });
    try {
      const chunks = await readAll(await send(transport, [userMessage(QUESTION)]));
      const types = chunks.map((c) => c.type);
      expect(types[0]).toBe('start');
      expect(types.at(-1)).toBe('finish');
      const progress = chunks.filter((c) => c.type === 'data-hearth-progress');
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({ id: 'hearth-load', data: { stage: 'init' } });
      // Progress comes before the answer.
      expect(types.lastIndexOf('data-hearth-progress')).toBeLessThan(types.indexOf('text-start'));
      const deltas = chunks.flatMap((c) => (c.type === 'text-delta' ? [c.delta] : []));
      expect(deltas.length).toBeGreaterThan(3);
      expect(types.indexOf('text-start')).toBeLessThan(types.indexOf('text-delta'));
      expect(types.indexOf('text-end')).toBeGreaterThan(types.lastIndexOf('text-delta'));
      const finish = chunks.at(-1) as { finishReason?: string };
      expect(finish.finishReason).toBe('length');
      const reference = await runner.chat([{ role: 'user', content: QUESTION }], {
        temperature: 0,
        maxTokens: 12,
      }).result;
      expect(deltas.join('')).toBe(reference.text);

      // Loaded now: the next answer has no progress part; a message's body overrides settings.
      const again = await readAll(
        await transport.sendMessages({
          trigger: 'submit-message',
          chatId: 'c1',
          messageId: undefined,
          messages: [userMessage(QUESTION)],
          abortSignal: undefined,
          body: { maxOutputTokens: 3 },
        }),
      );
      expect(again.some((c) => c.type === 'data-hearth-progress')).toBe(false);
      const tokens = again.filter((c) => c.type === 'text-delta').length;
      expect(tokens).toBeLessThanOrEqual(3);
    } finally {
      transport.runner?.dispose();
    }
  });

  test('an abort ends the stream between tokens', async () => {
    const transport = new HearthChatTransport({
      runner,
      settings: { temperature: 0, maxOutputTokens: 300, hearth: { ignoreEos: true } },
    });
    const abort = new AbortController();
    const reader = (
      await send(transport, [userMessage('Tell me a story.')], abort.signal)
    ).getReader();
    let deltas = 0;
    const types: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      types.push(value.type);
      if (value.type === 'text-delta' && ++deltas === 3) abort.abort();
    }
    expect(deltas).toBeLessThan(10);
    expect(types).toContain('abort');
    expect(types).not.toContain('finish');
  });

  test('a model that cannot be loaded ends in an error chunk with its code', async () => {
    const transport = new HearthChatTransport({ model: '/nonexistent/model.gguf' });
    const chunks = await readAll(await send(transport, [userMessage(QUESTION)]));
    const error = chunks.find((c) => c.type === 'error') as { errorText: string } | undefined;
    expect(error?.errorText).toMatch(/^IO_ERROR: /);
  });
});

describe('useChat from @ai-sdk/react', () => {
  test('answers on Hearth in the page: streamed, equal to runner.chat, and stop() works', async () => {
    const transport = new HearthChatTransport({ runner, settings: GREEDY });
    const texts: string[] = [];
    const { result, unmount } = renderHook(() => {
      const chat = useChat<HearthUIMessage>({ transport });
      const last = chat.messages.at(-1);
      if (last?.role === 'assistant' && texts.at(-1) !== text(last)) texts.push(text(last));
      return chat;
    });
    act(() => {
      void result.current.sendMessage({ text: QUESTION });
    });
    await waitFor(() => expect(result.current.status).toBe('streaming'));
    await waitFor(() => expect(result.current.status).toBe('ready'));
    expect(result.current.error).toBeUndefined();
    const [user, assistant] = result.current.messages;
    expect(user?.role).toBe('user');
    expect(assistant?.role).toBe('assistant');
    const reference = await runner.chat([{ role: 'user', content: QUESTION }], {
      temperature: 0,
      maxTokens: 12,
    }).result;
    expect(text(assistant)).toBe(reference.text);
    expect(texts.length).toBeGreaterThan(2);
    for (const t of texts) expect(reference.text.startsWith(t)).toBe(true);

    // A long answer, stopped after a few tokens.
    act(() => {
      void result.current.sendMessage(
        { text: 'Tell me a long story about a dragon.' },
        { body: { maxOutputTokens: 300, hearth: { ignoreEos: true } } },
      );
    });
    await waitFor(() => expect(text(result.current.messages[3]).length).toBeGreaterThan(10));
    await act(() => result.current.stop());
    await waitFor(() => expect(result.current.status).toBe('ready'));
    const stopped = text(result.current.messages[3]);
    await new Promise((r) => setTimeout(r, 300));
    expect(text(result.current.messages[3])).toBe(stopped);
    expect(result.current.error).toBeUndefined();
    unmount();
  });
});
