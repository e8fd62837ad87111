// @hearth/svelte against the real runner (the native addon in Node, or wasm with
// HEARTH_RUNTIME=wasm) and the real SmolLM2 test model, in jsdom with Svelte's
// client runtime: runes classes inside `$effect.root`, stores through their
// contract, components mounted with `mount`, and the action on a real textarea.

import { EmbeddingRunner, HearthError, LlamaRunner, similarity } from '@hearth/runner';
import { flushSync, mount, unmount } from 'svelte';
import { get } from 'svelte/store';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { modelPath, SMOLLM2 } from '../../runner/test/models.js';
import {
  type ChatSnapshot,
  createChatStore,
  createCompletionStore,
  createModelStore,
  getHearthContext,
  HearthModel,
  LlamaChat,
  LlamaCompletion,
  LlamaEmbedding,
  llamaCompletion,
  messageText,
  type UIMessage,
} from '../src/index.js';
import AutocompleteField from './AutocompleteField.svelte';
import SharedModel from './SharedModel.svelte';
import StoresChat from './StoresChat.svelte';

const MODEL = modelPath(SMOLLM2);
const GREEDY = { temperature: 0, maxTokens: 12 };
const QUESTION = 'What is the capital of France?';
const LONG = { temperature: 0, maxTokens: 200, ignoreEos: true };
// Loading and generating on a busy 2-core CI machine (wasm especially) takes seconds.
const WAIT = { timeout: 30_000, interval: 10 };

/** One model for most tests (created outside any component: it lives until disposed). */
let model: HearthModel;

beforeAll(async () => {
  model = new HearthModel(MODEL, { contextLength: 1024 });
  expect(model.status).toBe('loading');
  await model.ready();
});

afterAll(() => {
  model.dispose();
});

/** Runs `setup` in an effect root (as in a component); returns its result and the root's cleanup. */
function inRoot<T>(setup: () => T): { value: T; destroy: () => void } {
  let value: T | undefined;
  const destroy = $effect.root(() => {
    value = setup();
  });
  return { value: value as T, destroy };
}

async function directChat(messages: { role: string; content: string }[]): Promise<string> {
  const runner = await model.ready();
  return (await runner.chat(messages, GREEDY).result).text;
}

describe('HearthModel', () => {
  test('loads with progress to ready; its fields are reactive', async () => {
    const stages: string[] = [];
    const { value: m, destroy } = inRoot(() => {
      const m = new HearthModel();
      $effect(() => {
        const stage = m.loadProgress?.stage;
        if (stage !== undefined && stages.at(-1) !== stage) stages.push(stage);
      });
      return m;
    });
    expect(m.status).toBe('idle');
    await expect(m.ready()).rejects.toMatchObject({ code: 'NO_MODEL' });
    const loaded = m.load(MODEL, { contextLength: 512 });
    expect(m.status).toBe('loading');
    await loaded;
    flushSync();
    expect(m.status).toBe('ready');
    expect(m.runner?.info().contextLength).toBe(512);
    expect(stages).toContain('init');
    const runner = m.runner as LlamaRunner;
    // Destroying the root (the component) disposes the runner.
    destroy();
    expect(runner.disposed).toBe(true);
    expect(m.status).toBe('idle');
  });

  test('a bad source: status error with a typed code; ready() rejects with it', async () => {
    const m = new HearthModel('/nonexistent/model.gguf');
    await expect(m.ready()).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(m.status).toBe('error');
    expect(m.error).toBeInstanceOf(HearthError);
    expect((m.error as HearthError).code).toBe('IO_ERROR');
    m.dispose();
  });

  test('load() in an $effect reloads when its source changes, not on its own state', async () => {
    const load = vi.spyOn(LlamaRunner, 'load');
    try {
      let source = $state(MODEL);
      const { value: m, destroy } = inRoot(() => {
        const m = new HearthModel();
        $effect(() => {
          void m.load(source);
        });
        return m;
      });
      flushSync();
      await m.ready();
      flushSync();
      expect(load).toHaveBeenCalledTimes(1);
      source = '/nonexistent/model.gguf';
      flushSync();
      await expect(m.ready()).rejects.toMatchObject({ code: 'IO_ERROR' });
      flushSync();
      expect(load).toHaveBeenCalledTimes(2);
      destroy();
    } finally {
      load.mockRestore();
    }
  });
});

describe('LlamaChat', () => {
  test('streams an answer token by token, submitted → streaming → ready, equal to runner.chat', async () => {
    const statuses: string[] = [];
    const texts: string[] = [];
    let chunks = 0;
    const { value: chat, destroy } = inRoot(() => {
      const chat = new LlamaChat({
        model,
        generateOptions: GREEDY,
        onChunk: (c) => {
          if (c.token !== null) chunks++;
        },
      });
      $effect(() => {
        if (statuses.at(-1) !== chat.status) statuses.push(chat.status);
      });
      $effect(() => {
        const last = chat.messages.at(-1);
        if (last?.role === 'assistant' && texts.at(-1) !== messageText(last)) {
          texts.push(messageText(last));
        }
      });
      return chat;
    });
    flushSync();
    await chat.sendMessage({ text: QUESTION });
    flushSync();
    expect(statuses).toEqual(['ready', 'submitted', 'streaming', 'ready']);
    const [user, assistant] = chat.messages as [UIMessage, UIMessage];
    expect(chat.messages).toHaveLength(2);
    expect(user).toMatchObject({ role: 'user', parts: [{ type: 'text', text: QUESTION }] });
    expect(assistant.parts[0]?.state).toBe('done');
    const answer = messageText(assistant);
    expect(answer).toBe(await directChat([{ role: 'user', content: QUESTION }]));
    expect(answer.length).toBeGreaterThan(0);
    // Incremental: the effect saw several growing prefixes before the whole answer.
    expect(texts.length).toBeGreaterThan(3);
    for (const t of texts) expect(answer.startsWith(t)).toBe(true);
    expect(texts.at(-1)).toBe(answer);
    expect(chat.result?.tokens.length).toBe(chunks);
    expect(chat.result?.timings.ttftMs).toBeGreaterThan(0);
    expect(chat.modelStatus).toBe('ready');
    destroy();
  });

  test('stop() ends the answer between tokens, keeps its text and returns to ready', async () => {
    let chunks = 0;
    const finished = vi.fn();
    const chat = new LlamaChat({
      model,
      generateOptions: LONG,
      onChunk: () => chunks++,
      onFinish: finished,
    });
    const sent = chat.sendMessage('Tell me a long story about a dragon.');
    await vi.waitFor(() => expect(chunks).toBeGreaterThan(3), WAIT);
    chat.stop();
    await sent;
    expect(chat.status).toBe('ready');
    expect(chat.result?.finishReason).toBe('cancelled');
    expect(chat.result?.tokens.length).toBeLessThan(200);
    expect(messageText(chat.messages[1] as UIMessage)).toBe(chat.result?.text);
    expect(finished).toHaveBeenCalledTimes(1);
    expect(finished.mock.calls[0]?.[0].message.parts[0].text).toBe(chat.result?.text);
    expect(chat.error).toBeUndefined();
    chat.destroy();
  });

  test('destroying the owner aborts the answer in flight and disposes a model the chat loaded', async () => {
    let chunks = 0;
    const { value: chat, destroy } = inRoot(
      () => new LlamaChat({ model: MODEL, generateOptions: LONG, onChunk: () => chunks++ }),
    );
    const sent = chat.sendMessage('Tell me a long story about a dragon.');
    await vi.waitFor(() => expect(chunks).toBeGreaterThan(2), WAIT);
    const runner = chat.model.runner as LlamaRunner;
    destroy();
    await sent;
    expect(runner.disposed).toBe(true);
    expect(chat.model.status).toBe('idle');
    const atDestroy = chunks;
    await new Promise((r) => setTimeout(r, 100));
    expect(chunks).toBe(atDestroy);
    // The shared model of other tests is untouched by destroying chats that borrow it.
    const borrower = inRoot(() => new LlamaChat({ model }));
    borrower.destroy();
    expect(model.status).toBe('ready');
  });

  test('regenerate() replaces the last answer; with messageId it drops that answer and later turns', async () => {
    const chat = new LlamaChat({ model, generateOptions: GREEDY });
    await chat.sendMessage(QUESTION);
    const first = $state.snapshot(chat.messages[1]) as UIMessage;
    await chat.regenerate();
    expect(chat.status).toBe('ready');
    expect(chat.messages).toHaveLength(2);
    const second = chat.messages[1] as UIMessage;
    expect(second.id).not.toBe(first.id);
    expect(messageText(second)).toBe(messageText(first));

    await chat.sendMessage('And of Germany?');
    expect(chat.messages).toHaveLength(4);
    await chat.regenerate({ messageId: second.id, maxTokens: 4 });
    expect(chat.messages).toHaveLength(2);
    expect(chat.result?.tokens.length).toBeLessThanOrEqual(4);

    await chat.regenerate({ messageId: 'nope' });
    expect(chat.status).toBe('error');
    expect(chat.error?.message).toMatch(/no assistant message with id nope/);
    chat.clearError();
    expect(chat.status).toBe('ready');
    chat.destroy();
  });

  test('messages set directly are the conversation the next answer continues', async () => {
    const chat = new LlamaChat({ model, generateOptions: GREEDY });
    chat.messages = [
      { id: 's', role: 'system', parts: [{ type: 'text', text: 'You answer in one word.' }] },
    ];
    await chat.sendMessage(QUESTION);
    expect(chat.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(messageText(chat.messages[2] as UIMessage)).toBe(
      await directChat([
        { role: 'system', content: 'You answer in one word.' },
        { role: 'user', content: QUESTION },
      ]),
    );
    chat.destroy();
  });

  test('errors: INVALID_OPTION, the model load error, NO_MODEL, and no context', async () => {
    const onError = vi.fn();
    const bad = new LlamaChat({ model, generateOptions: { temperature: -1 }, onError });
    await bad.sendMessage(QUESTION);
    expect(bad.status).toBe('error');
    expect((bad.error as HearthError).code).toBe('INVALID_OPTION');
    expect(onError).toHaveBeenCalledWith(bad.error);

    const broken = new LlamaChat({ model: '/nonexistent/model.gguf' });
    await broken.sendMessage(QUESTION);
    expect(broken.modelStatus).toBe('error');
    expect((broken.modelError as HearthError).code).toBe('IO_ERROR');
    expect(broken.error).toBe(broken.modelError);
    broken.destroy();

    const idle = new LlamaChat({ model: new HearthModel() });
    await idle.sendMessage(QUESTION);
    expect((idle.error as HearthError).code).toBe('NO_MODEL');

    expect(() => new LlamaChat()).toThrow(expect.objectContaining({ code: 'NO_HEARTH_CONTEXT' }));
    expect(() => getHearthContext()).toThrow(/component initialises/);
  });
});

describe('context', () => {
  test('a child chat uses the model set by setHearthContext; unmounting disposes it', async () => {
    let shared: HearthModel | undefined;
    let chat: LlamaChat | undefined;
    const target = document.createElement('div');
    document.body.append(target);
    const app = mount(SharedModel, {
      target,
      props: { source: MODEL, onModel: (m) => (shared = m), onChat: (c) => (chat = c) },
    });
    expect(chat?.model).toBe(shared);
    const query = (id: string) => target.querySelector(`[data-testid="${id}"]`)?.textContent;
    expect(query('model')).toBe('loading');
    const sent = chat?.sendMessage('Tell me a long story about a dragon.');
    await vi.waitFor(() => {
      flushSync();
      expect(target.querySelectorAll('[data-role="assistant"]')).toHaveLength(1);
      expect(query('status')).toBe('streaming');
      expect(target.querySelector('[data-role="assistant"]')?.textContent?.length).toBeGreaterThan(
        10,
      );
    }, WAIT);
    expect(query('model')).toBe('ready');
    expect(shared?.runner?.info().contextLength).toBe(512);
    const runner = shared?.runner as LlamaRunner;
    await unmount(app);
    await sent;
    expect(runner.disposed).toBe(true);
    expect(chat?.result).toBeUndefined();
    target.remove();
  });

  test('without a source the shared model is idle until load()', async () => {
    let shared: HearthModel | undefined;
    const target = document.createElement('div');
    const app = mount(SharedModel, {
      target,
      props: { source: undefined, onModel: (m) => (shared = m), onChat: () => {} },
    });
    flushSync();
    expect(target.querySelector('[data-testid="model"]')?.textContent).toBe('idle');
    await shared?.load('/nonexistent/model.gguf');
    flushSync();
    expect(target.querySelector('[data-testid="model"]')?.textContent).toBe('error');
    await unmount(app);
  });
});

describe('LlamaCompletion', () => {
  test('completes "The capital of France is" greedily with " Paris." and streams it', async () => {
    const seen: string[] = [];
    const { value: completion, destroy } = inRoot(() => {
      const c = new LlamaCompletion({ model, generateOptions: { temperature: 0, maxTokens: 8 } });
      $effect(() => {
        if (seen.at(-1) !== c.completion) seen.push(c.completion);
      });
      return c;
    });
    flushSync();
    const text = await completion.complete('The capital of France is');
    flushSync();
    expect(completion.completion.startsWith(' Paris.')).toBe(true);
    expect(text).toBe(completion.completion);
    expect(completion.result?.finishReason).toBe('length');
    expect(seen.length).toBeGreaterThan(3);
    destroy();
  });
});

describe('stores', () => {
  test('createChatStore: subscribe gets the value at once, then each change; unsubscribe stops it', async () => {
    const chat = createChatStore({ model, generateOptions: GREEDY });
    const values: ChatSnapshot[] = [];
    const unsubscribe = chat.subscribe((v) => values.push(v));
    expect(values).toHaveLength(1);
    expect(values[0]).toMatchObject({ messages: [], status: 'ready', modelStatus: 'ready' });
    await chat.sendMessage(QUESTION);
    flushSync();
    const statuses = values.map((v) => v.status).filter((s, i, all) => s !== all[i - 1]);
    expect(statuses).toEqual(['ready', 'submitted', 'streaming', 'ready']);
    const last = values.at(-1) as ChatSnapshot;
    const answer = messageText(last.messages[1] as UIMessage);
    expect(answer).toBe(await directChat([{ role: 'user', content: QUESTION }]));
    // Streamed: subscribers saw growing partial answers, as plain (unproxied) objects.
    const partial = values.filter((v) => v.messages[1] && messageText(v.messages[1]) !== answer);
    expect(partial.length).toBeGreaterThan(2);
    expect(last.messages).not.toBe(chat.chat.messages);
    expect(get(chat).messages).toEqual(last.messages);

    unsubscribe();
    const count = values.length;
    chat.messages.set([]);
    flushSync();
    expect(values).toHaveLength(count);
    expect(chat.chat.messages).toEqual([]);
    expect(get(chat.messages)).toEqual([]);
    chat.destroy();
  });

  test('createChatStore: the messages store is writable (set, update) and its subscribers follow the stream', async () => {
    const chat = createChatStore({ model, generateOptions: GREEDY });
    const seen: UIMessage[][] = [];
    const unsubscribe = chat.messages.subscribe((m) => seen.push(m));
    chat.messages.set([
      { id: 's', role: 'system', parts: [{ type: 'text', text: 'You answer in one word.' }] },
    ]);
    chat.messages.update((m) => m.map((x) => ({ ...x, id: 'system' })));
    flushSync();
    expect(get(chat.messages)[0]?.id).toBe('system');
    await chat.sendMessage(QUESTION);
    flushSync();
    expect(seen.at(-1)?.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(seen.length).toBeGreaterThan(4);
    unsubscribe();
    chat.destroy();
  });

  test('createCompletionStore and createModelStore', async () => {
    const modelStore = createModelStore();
    const states: string[] = [];
    const stop = modelStore.subscribe((s) => {
      // Progress events change the value too; keep each status once.
      if (states.at(-1) !== s.status) states.push(s.status);
    });
    await modelStore.load(MODEL);
    flushSync();
    expect(states).toEqual(['idle', 'loading', 'ready']);
    expect(get(modelStore).loadProgress?.stage).toBe('init');

    const completion = createCompletionStore({
      model: modelStore.model,
      generateOptions: { temperature: 0, maxTokens: 8 },
    });
    const texts: string[] = [];
    const off = completion.completion.subscribe((t) => texts.push(t));
    const text = await completion.complete('The capital of France is');
    flushSync();
    expect(text?.startsWith(' Paris.')).toBe(true);
    expect(get(completion).completion).toBe(text);
    expect(get(completion).status).toBe('ready');
    expect(texts.at(-1)).toBe(text);
    expect(texts.length).toBeGreaterThan(3);
    completion.completion.set('');
    expect(completion.llama.completion).toBe('');
    off();
    completion.destroy();
    stop();
    modelStore.dispose();
    expect(get(modelStore).status).toBe('idle');
  });
});

describe('a Svelte 4-style component on createChatStore (the docs example)', () => {
  test('loads, streams an answer into the page, stops, and disposes its model on unmount', async () => {
    const load = vi.spyOn(LlamaRunner, 'load');
    const target = document.createElement('div');
    document.body.append(target);
    const app = mount(StoresChat, { target, props: { model: MODEL } });
    flushSync();
    expect(target.querySelector('progress')).not.toBeNull();
    const input = target.querySelector('input') as HTMLInputElement;
    const [send, stop] = target.querySelectorAll('button') as unknown as [
      HTMLButtonElement,
      HTMLButtonElement,
    ];
    input.value = 'Tell me a long story about a dragon.';
    input.dispatchEvent(new Event('input', { bubbles: true }));
    send.click();
    flushSync();
    expect(input.value).toBe('');
    const answer = () => target.querySelector('[data-role="assistant"]')?.textContent ?? '';
    await vi.waitFor(() => {
      flushSync();
      expect(answer().length).toBeGreaterThan(20);
    }, WAIT);
    expect(target.querySelector('progress')).toBeNull();
    expect(send.disabled).toBe(true);
    stop.click();
    await vi.waitFor(() => {
      flushSync();
      expect(send.disabled).toBe(false);
    }, WAIT);
    const stopped = answer();
    await new Promise((r) => setTimeout(r, 100));
    flushSync();
    expect(answer()).toBe(stopped);
    expect(target.querySelector('[data-role="user"]')?.textContent).toBe(
      'Tell me a long story about a dragon.',
    );
    const runner = (await load.mock.results[0]?.value) as LlamaRunner;
    load.mockRestore();
    await unmount(app);
    expect(runner.disposed).toBe(true);
    target.remove();
  });
});

describe('use:llamaCompletion', () => {
  function type(field: HTMLTextAreaElement, text: string): void {
    field.focus();
    field.value = text;
    field.setSelectionRange(text.length, text.length);
    field.dispatchEvent(new Event('input', { bubbles: true }));
  }

  test('suggests the model continuation as ghost text; Tab accepts it into the value', async () => {
    const field = document.createElement('textarea');
    document.body.append(field);
    const suggestions: string[] = [];
    const inputs: string[] = [];
    field.addEventListener('input', () => inputs.push(field.value));
    const action = llamaCompletion(field, {
      model,
      delay: 20,
      generateOptions: { temperature: 0, maxTokens: 4 },
      onSuggestion: (s) => suggestions.push(s),
    });
    type(field, 'The capital of France is');
    await vi.waitFor(() => expect(field.dataset.suggestion).toBe(' Paris.'), WAIT);
    // It streamed in: shorter suggestions came first.
    expect(suggestions.length).toBeGreaterThan(1);
    const ghost = field.nextElementSibling as HTMLElement;
    expect(ghost.dataset.hearthGhost).toBe('');
    expect(ghost.getAttribute('aria-hidden')).toBe('true');
    expect(ghost.textContent).toBe('The capital of France is Paris.');
    expect(ghost.style.pointerEvents).toBe('none');

    const tab = new KeyboardEvent('keydown', { key: 'Tab', cancelable: true });
    field.dispatchEvent(tab);
    expect(tab.defaultPrevented).toBe(true);
    expect(field.value).toBe('The capital of France is Paris.');
    expect(inputs.at(-1)).toBe('The capital of France is Paris.');
    expect(field.dataset.suggestion).toBeUndefined();
    expect(field.nextElementSibling).toBeNull();

    // Typing dismisses a suggestion; Escape too; Tab without one is left to the browser.
    type(field, 'The capital of Germany is');
    await vi.waitFor(() => expect(field.dataset.suggestion).toBeDefined(), WAIT);
    field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', cancelable: true }));
    expect(field.dataset.suggestion).toBeUndefined();
    const plainTab = new KeyboardEvent('keydown', { key: 'Tab', cancelable: true });
    field.dispatchEvent(plainTab);
    expect(plainTab.defaultPrevented).toBe(false);

    // Leaving the field cancels a pending suggestion; after destroy nothing is suggested.
    type(field, 'Once upon a time');
    field.blur();
    field.dispatchEvent(new FocusEvent('blur'));
    await new Promise((r) => setTimeout(r, 300));
    expect(field.dataset.suggestion).toBeUndefined();
    action?.destroy?.();
    type(field, 'The capital of Italy is');
    await new Promise((r) => setTimeout(r, 300));
    expect(field.dataset.suggestion).toBeUndefined();
    field.remove();
  });

  test('in a component: bind:value follows an accepted suggestion; a failing model reports onError', async () => {
    const target = document.createElement('div');
    document.body.append(target);
    let value = '';
    const app = mount(AutocompleteField, { target, props: { model, onValue: (v) => (value = v) } });
    flushSync();
    const field = target.querySelector('textarea') as HTMLTextAreaElement;
    type(field, 'The capital of France is');
    // Greedy, stopped at the first newline (the action's defaults).
    await vi.waitFor(() => expect(field.dataset.suggestion).toBe(' Paris.'), WAIT);
    field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', cancelable: true }));
    flushSync();
    expect(value).toBe('The capital of France is Paris.');
    field.dispatchEvent(new FocusEvent('blur'));
    await unmount(app);
    target.remove();

    const failing = new HearthModel('/nonexistent/model.gguf');
    const other = document.createElement('textarea');
    const errors: Error[] = [];
    const action = llamaCompletion(other, {
      model: failing,
      delay: 1,
      onError: (e) => errors.push(e),
    });
    type(other, 'Hello there');
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect((errors[0] as HearthError).code).toBe('IO_ERROR');
    expect(other.dataset.suggestion).toBeUndefined();
    action?.destroy?.();
    failing.dispose();
  });
});

describe('LlamaEmbedding', () => {
  test('returns real vectors from an EmbeddingRunner (all-MiniLM-L6-v2)', async () => {
    const runner = await EmbeddingRunner.load(
      modelPath('all-MiniLM-L6-v2'),
      process.env.HEARTH_RUNTIME === 'wasm' ? { backend: 'wasm' } : {},
    );
    try {
      const embedding = new LlamaEmbedding({ runner });
      const texts = [
        'A man is playing a guitar on the stage.',
        'Someone plays the guitar in front of an audience.',
        'The stock market fell sharply on Monday morning.',
      ];
      const returned = await embedding.embed(texts);
      expect(returned).toBe(embedding.vectors);
      expect(embedding.status).toBe('ready');
      expect(returned).toHaveLength(3);
      for (const v of returned) {
        expect(v).toHaveLength(384);
        const norm = Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
        expect(norm).toBeCloseTo(1, 4);
      }
      const [a, b, c] = returned as [Float32Array, Float32Array, Float32Array];
      expect(similarity(a, b)).toBeGreaterThan(similarity(a, c) + 0.3);
      await expect(embedding.embed([42 as unknown as string])).rejects.toMatchObject({
        code: 'HEARTH_INVALID_ARGUMENT',
      });
      expect(embedding.status).toBe('error');
    } finally {
      runner.dispose();
    }
  });

  const hasEmbed =
    typeof (LlamaRunner.prototype as unknown as { embed?: unknown }).embed === 'function';
  test.runIf(!hasEmbed)('a runner without embed() fails with EMBED_UNAVAILABLE', async () => {
    const embedding = new LlamaEmbedding({ model });
    await expect(embedding.embed(['hello'])).rejects.toMatchObject({ code: 'EMBED_UNAVAILABLE' });
    expect(embedding.status).toBe('error');
  });
});
