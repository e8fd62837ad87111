// The hooks against the real runner (the native addon in Node, or wasm with
// HEARTH_RUNTIME=wasm) and the real SmolLM2 test model, rendered by React in jsdom.

import { pathToFileURL } from 'node:url';
import { EmbeddingRunner, HearthError, LlamaRunner, similarity } from '@hearth/runner';
import { act, configure, render, renderHook, waitFor } from '@testing-library/react';
import { type ReactNode, StrictMode } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { modelPath, SMOLLM2 } from '../../runner/test/models.js';
import {
  HearthProvider,
  messageText,
  type UIMessage,
  useHearthModel,
  useLlamaChat,
  useLlamaCompletion,
  useLlamaEmbedding,
} from '../src/index.js';

// Loading and generating on a busy 2-core CI machine (wasm especially) takes seconds.
configure({ asyncUtilTimeout: 30_000 });

const MODEL = modelPath(SMOLLM2);
const GREEDY = { temperature: 0, maxTokens: 12 };
const QUESTION = 'What is the capital of France?';

function withModel(model: string | undefined) {
  return ({ children }: { children: ReactNode }) => (
    <HearthProvider model={model}>{children}</HearthProvider>
  );
}

/** The runner's own greedy answer, to compare the hook's text with. */
async function directChat(messages: { role: string; content: string }[]): Promise<string> {
  const runner = await LlamaRunner.load(MODEL);
  try {
    return (await runner.chat(messages, GREEDY).result).text;
  } finally {
    runner.dispose();
  }
}

/** Every runner the probe was given. */
const seen = new Set<LlamaRunner>();

function Probe() {
  const model = useHearthModel();
  if (model.runner) seen.add(model.runner);
  return <p data-testid="status">{model.status}</p>;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('useLlamaChat', () => {
  test('streams an answer token by token, submitted → streaming → ready, equal to runner.chat', async () => {
    const statuses: string[] = [];
    const texts: string[] = [];
    let chunks = 0;
    const { result, unmount } = renderHook(
      () => {
        const chat = useLlamaChat({
          generateOptions: GREEDY,
          onChunk: (c) => {
            if (c.token !== null) chunks++;
          },
        });
        if (statuses.at(-1) !== chat.status) statuses.push(chat.status);
        const last = chat.messages.at(-1);
        if (last?.role === 'assistant' && texts.at(-1) !== messageText(last)) {
          texts.push(messageText(last));
        }
        return chat;
      },
      { wrapper: withModel(MODEL) },
    );
    expect(result.current.modelStatus).toBe('loading');
    let sent: Promise<void> | undefined;
    act(() => {
      sent = result.current.sendMessage({ text: QUESTION });
    });
    await waitFor(() => expect(result.current.status).toBe('ready'), { timeout: 30_000 });
    await sent;

    expect(result.current.modelStatus).toBe('ready');
    expect(result.current.loadProgress?.stage).toBe('init');
    expect(statuses).toEqual(['ready', 'submitted', 'streaming', 'ready']);
    const [user, assistant] = result.current.messages as [UIMessage, UIMessage];
    expect(result.current.messages).toHaveLength(2);
    expect(user).toMatchObject({ role: 'user', parts: [{ type: 'text', text: QUESTION }] });
    expect(assistant.role).toBe('assistant');
    expect(assistant.parts[0]?.state).toBe('done');
    const answer = messageText(assistant);
    expect(answer).toBe(await directChat([{ role: 'user', content: QUESTION }]));
    expect(answer.length).toBeGreaterThan(0);
    // Incremental: several growing prefixes were rendered before the whole answer.
    expect(texts.length).toBeGreaterThan(3);
    for (const t of texts) expect(answer.startsWith(t)).toBe(true);
    expect(texts.at(-1)).toBe(answer);
    expect(result.current.result?.tokens.length).toBe(chunks);
    expect(result.current.result?.timings.ttftMs).toBeGreaterThan(0);
    unmount();
  });

  test('stop() ends the answer between tokens, keeps its text and returns to ready', async () => {
    let chunks = 0;
    const { result, unmount } = renderHook(
      () =>
        useLlamaChat({
          generateOptions: { temperature: 0, maxTokens: 200, ignoreEos: true },
          onChunk: () => chunks++,
        }),
      { wrapper: withModel(MODEL) },
    );
    act(() => {
      void result.current.sendMessage('Tell me a long story about a dragon.');
    });
    await waitFor(() => expect(chunks).toBeGreaterThan(3), { timeout: 30_000 });
    act(() => result.current.stop());
    await waitFor(() => expect(result.current.status).toBe('ready'));
    const done = result.current.result;
    expect(done?.finishReason).toBe('cancelled');
    expect(done?.tokens.length).toBeLessThan(200);
    expect(messageText(result.current.messages[1] as UIMessage)).toBe(done?.text);
    expect(result.current.error).toBeUndefined();
    unmount();
  });

  test('regenerate() replaces the last answer; with messageId it drops that answer and later turns', async () => {
    const { result, unmount } = renderHook(() => useLlamaChat({ generateOptions: GREEDY }), {
      wrapper: withModel(MODEL),
    });
    await act(() => result.current.sendMessage(QUESTION));
    const first = result.current.messages[1] as UIMessage;
    await act(() => result.current.regenerate());
    expect(result.current.status).toBe('ready');
    expect(result.current.messages).toHaveLength(2);
    const second = result.current.messages[1] as UIMessage;
    expect(second.id).not.toBe(first.id);
    // Greedy: the same history gives the same answer again.
    expect(messageText(second)).toBe(messageText(first));

    await act(() => result.current.sendMessage('And of Germany?'));
    expect(result.current.messages).toHaveLength(4);
    await act(() => result.current.regenerate({ messageId: second.id, maxTokens: 4 }));
    expect(result.current.messages).toHaveLength(2);
    expect(result.current.result?.tokens.length).toBeLessThanOrEqual(4);

    await act(() => result.current.regenerate({ messageId: 'nope' }));
    expect(result.current.status).toBe('error');
    expect(result.current.error?.message).toMatch(/no assistant message with id nope/);
    act(() => result.current.clearError());
    expect(result.current.status).toBe('ready');
    unmount();
  });

  test('setMessages sets the conversation the next answer continues', async () => {
    const { result, unmount } = renderHook(() => useLlamaChat({ generateOptions: GREEDY }), {
      wrapper: withModel(MODEL),
    });
    const system: UIMessage = {
      id: 's',
      role: 'system',
      parts: [{ type: 'text', text: 'You answer in one word.' }],
    };
    act(() => result.current.setMessages([system]));
    await act(() => result.current.sendMessage(QUESTION));
    expect(result.current.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(messageText(result.current.messages[2] as UIMessage)).toBe(
      await directChat([
        { role: 'system', content: 'You answer in one word.' },
        { role: 'user', content: QUESTION },
      ]),
    );
    unmount();
  });

  test('a bad option surfaces as error with code INVALID_OPTION', async () => {
    const { result, unmount } = renderHook(
      () => useLlamaChat({ generateOptions: { temperature: -1 } }),
      { wrapper: withModel(MODEL) },
    );
    await act(() => result.current.sendMessage(QUESTION));
    expect(result.current.status).toBe('error');
    expect((result.current.error as HearthError).code).toBe('INVALID_OPTION');
    unmount();
  });

  test('a model that cannot be loaded: modelStatus error, and sendMessage fails with its error', async () => {
    const { result, unmount } = renderHook(() => useLlamaChat(), {
      wrapper: withModel('/nonexistent/model.gguf'),
    });
    await waitFor(() => expect(result.current.modelStatus).toBe('error'));
    const modelError = result.current.modelError as HearthError;
    expect(modelError).toBeInstanceOf(HearthError);
    expect(modelError.code).toBe('IO_ERROR');
    await act(() => result.current.sendMessage(QUESTION));
    expect(result.current.status).toBe('error');
    expect(result.current.error).toBe(modelError);
    unmount();
  });

  test('without a model the provider is idle and sendMessage fails with NO_MODEL', async () => {
    const { result, unmount } = renderHook(() => useLlamaChat(), { wrapper: withModel(undefined) });
    expect(result.current.modelStatus).toBe('idle');
    await act(() => result.current.sendMessage(QUESTION));
    expect((result.current.error as HearthError).code).toBe('NO_MODEL');
    unmount();
  });
});

describe('HearthProvider', () => {
  test('StrictMode loads the model once; unmounting disposes the runner', async () => {
    const load = vi.spyOn(LlamaRunner, 'load');
    seen.clear();
    const view = render(
      <StrictMode>
        <HearthProvider model={MODEL} loadOptions={{ contextLength: 512 }}>
          <Probe />
        </HearthProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(view.getByTestId('status').textContent).toBe('ready'));
    // Re-rendering with new (equal) props keeps the runner.
    view.rerender(
      <StrictMode>
        <HearthProvider model={MODEL} loadOptions={{ contextLength: 512 }}>
          <Probe />
        </HearthProvider>
      </StrictMode>,
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(load).toHaveBeenCalledTimes(1);
    expect(seen.size).toBe(1);
    const [runner] = [...seen] as [LlamaRunner];
    expect(runner.disposed).toBe(false);
    expect(runner.info().contextLength).toBe(512);

    // A different source replaces (and disposes) the runner.
    view.rerender(
      <StrictMode>
        <HearthProvider model={pathToFileURL(MODEL).href} loadOptions={{ contextLength: 512 }}>
          <Probe />
        </HearthProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(view.getByTestId('status').textContent).toBe('ready'));
    expect(load).toHaveBeenCalledTimes(2);
    expect(runner.disposed).toBe(true);
    const second = [...seen][1] as LlamaRunner;

    view.unmount();
    await new Promise((r) => setTimeout(r, 20));
    expect(second.disposed).toBe(true);
  });

  test('hooks outside a provider throw a clear error', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => renderHook(() => useLlamaChat())).toThrow(/inside a <HearthProvider>/);
  });
});

describe('useLlamaCompletion', () => {
  test('completes "The capital of France is" greedily with " Paris." and streams it', async () => {
    const seen: string[] = [];
    const { result, unmount } = renderHook(
      () => {
        const c = useLlamaCompletion({ generateOptions: { temperature: 0, maxTokens: 8 } });
        if (seen.at(-1) !== c.completion) seen.push(c.completion);
        return c;
      },
      { wrapper: withModel(MODEL) },
    );
    let text: string | undefined;
    act(() => {
      void result.current.complete('The capital of France is').then((t) => {
        text = t;
      });
    });
    await waitFor(() => expect(result.current.status).toBe('ready'), { timeout: 30_000 });
    expect(result.current.completion.startsWith(' Paris.')).toBe(true);
    expect(text).toBe(result.current.completion);
    expect(result.current.result?.finishReason).toBe('length');
    expect(seen.length).toBeGreaterThan(3);
    unmount();
  });
});

describe('useLlamaEmbedding', () => {
  test('returns real vectors from an EmbeddingRunner (all-MiniLM-L6-v2)', async () => {
    // HEARTH_RUNTIME=wasm runs the wasm engine; otherwise the native addon.
    const runner = await EmbeddingRunner.load(
      modelPath('all-MiniLM-L6-v2'),
      process.env.HEARTH_RUNTIME === 'wasm' ? { backend: 'wasm' } : {},
    );
    try {
      const { result, unmount } = renderHook(() => useLlamaEmbedding({ runner }), {
        wrapper: withModel(undefined),
      });
      const texts = [
        'A man is playing a guitar on the stage.',
        'Someone plays the guitar in front of an audience.',
        'The stock market fell sharply on Monday morning.',
      ];
      let returned: unknown;
      await act(async () => {
        returned = await result.current.embed(texts);
      });
      const vectors = result.current.vectors ?? [];
      expect(returned).toEqual(vectors);
      expect(result.current.status).toBe('ready');
      expect(vectors).toHaveLength(3);
      for (const v of vectors) {
        expect(v).toHaveLength(384);
        const norm = Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
        expect(norm).toBeCloseTo(1, 4);
      }
      const [a, b, c] = vectors as [Float32Array, Float32Array, Float32Array];
      expect(similarity(a, b)).toBeGreaterThan(similarity(a, c) + 0.3);
      unmount();
    } finally {
      runner.dispose();
    }
  });

  const hasEmbed =
    typeof (LlamaRunner.prototype as unknown as { embed?: unknown }).embed === 'function';
  test.runIf(!hasEmbed)(
    'a runner without embed() fails with EMBED_UNAVAILABLE, not a TypeError',
    async () => {
      const { result, unmount } = renderHook(() => useLlamaEmbedding(), {
        wrapper: withModel(MODEL),
      });
      let caught: unknown;
      await act(() => result.current.embed(['hello']).catch((e: unknown) => (caught = e)));
      expect((caught as HearthError).code).toBe('EMBED_UNAVAILABLE');
      expect(result.current.status).toBe('error');
      expect(result.current.error).toBe(caught);
      unmount();
    },
  );
});
