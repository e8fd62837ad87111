// The composables against the real runner (the native addon in Node, or wasm with
// HEARTH_RUNTIME=wasm) and the real SmolLM2 test model: in an effectScope for the
// composables alone, and mounted with @vue/test-utils for the plugin and provide/inject.

import { pathToFileURL } from 'node:url';
import {
  EmbeddingRunner,
  type Generation,
  HearthError,
  LlamaRunner,
  similarity,
} from '@hearth/runner';
import { mount } from '@vue/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  defineComponent,
  type EffectScope,
  effectScope,
  h,
  nextTick,
  ref,
  shallowRef,
  watch,
} from 'vue';
import { modelPath, SMOLLM2 } from '../../runner/test/models.js';
import {
  createHearth,
  type Hearth,
  messageText,
  provideHearth,
  type UIMessage,
  type UseLlamaChatReturn,
  useHearth,
  useLlamaChat,
  useLlamaCompletion,
  useLlamaEmbedding,
} from '../src/index.js';

const MODEL = modelPath(SMOLLM2);
const GREEDY = { temperature: 0, maxTokens: 12 };
const QUESTION = 'What is the capital of France?';
const WAIT = { timeout: 30_000, interval: 10 };

/** Runs `setup` in a new effect scope (as a component's setup would run). */
function inScope<T>(setup: () => T): { value: T; scope: EffectScope } {
  const scope = effectScope();
  const value = scope.run(setup) as T;
  return { value, scope };
}

/** The runner's own greedy answer, to compare the composable's text with. */
async function directChat(messages: { role: string; content: string }[]): Promise<string> {
  const runner = await LlamaRunner.load(MODEL);
  try {
    return (await runner.chat(messages, GREEDY).result).text;
  } finally {
    runner.dispose();
  }
}

/** One model for the tests that do not test loading. */
let shared: Hearth;
beforeAll(async () => {
  shared = createHearth({ model: MODEL });
  await shared.ready();
});
afterAll(() => shared.dispose());
afterEach(() => {
  vi.restoreAllMocks();
});

describe('useLlamaChat', () => {
  test('streams an answer token by token, submitted → streaming → ready, equal to runner.chat', async () => {
    const statuses: string[] = [];
    const texts: string[] = [];
    let chunks = 0;
    const hearth = createHearth({ model: MODEL });
    const { value: chat, scope } = inScope(() => {
      const chat = useLlamaChat({
        hearth,
        generateOptions: GREEDY,
        onChunk: (c) => {
          if (c.token !== null) chunks++;
        },
      });
      watch(chat.status, (s) => statuses.push(s), { flush: 'sync', immediate: true });
      watch(
        () => {
          const last = chat.messages.value.at(-1);
          return last?.role === 'assistant' ? messageText(last) : undefined;
        },
        (t) => {
          if (t !== undefined) texts.push(t);
        },
        { flush: 'sync' },
      );
      return chat;
    });
    expect(chat.modelStatus.value).toBe('loading');
    await chat.sendMessage({ text: QUESTION });

    expect(chat.modelStatus.value).toBe('ready');
    expect(chat.loadProgress.value?.stage).toBe('init');
    expect(statuses).toEqual(['ready', 'submitted', 'streaming', 'ready']);
    expect(chat.messages.value).toHaveLength(2);
    const [user, assistant] = chat.messages.value as [UIMessage, UIMessage];
    expect(user).toMatchObject({ role: 'user', parts: [{ type: 'text', text: QUESTION }] });
    expect(assistant.role).toBe('assistant');
    expect(assistant.parts[0]?.state).toBe('done');
    const answer = messageText(assistant);
    expect(answer).toBe(await directChat([{ role: 'user', content: QUESTION }]));
    // Incremental: several growing prefixes were visible before the whole answer.
    expect(texts.length).toBeGreaterThan(3);
    for (const t of texts) expect(answer.startsWith(t)).toBe(true);
    expect(texts.at(-1)).toBe(answer);
    expect(chat.result.value?.tokens.length).toBe(chunks);
    expect(chat.result.value?.timings.ttftMs).toBeGreaterThan(0);
    scope.stop();
    hearth.dispose();
    expect(hearth.status.value).toBe('idle');
  });

  test('stop() ends the answer between tokens, keeps its text and returns to ready', async () => {
    let chunks = 0;
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({
        hearth: shared,
        generateOptions: { temperature: 0, maxTokens: 200, ignoreEos: true },
        onChunk: () => chunks++,
      }),
    );
    const sent = chat.sendMessage('Tell me a long story about a dragon.');
    await vi.waitFor(() => expect(chunks).toBeGreaterThan(3), WAIT);
    chat.stop();
    await sent;
    expect(chat.status.value).toBe('ready');
    const done = chat.result.value;
    expect(done?.finishReason).toBe('cancelled');
    expect(done?.tokens.length).toBeLessThan(200);
    expect(messageText(chat.messages.value[1] as UIMessage)).toBe(done?.text);
    expect(chat.error.value).toBeUndefined();
    scope.stop();
  });

  test('disposing the scope aborts the generation in flight; an own model is disposed with it', async () => {
    const runners: LlamaRunner[] = [];
    const load = vi.spyOn(LlamaRunner, 'load');
    let chunks = 0;
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({
        model: MODEL,
        generateOptions: { temperature: 0, maxTokens: 400, ignoreEos: true },
        onChunk: () => chunks++,
      }),
    );
    const runner = await chat.hearth.ready();
    runners.push(runner);
    expect(load).toHaveBeenCalledTimes(1);
    const chatSpy = vi.spyOn(runner, 'chat');
    void chat.sendMessage('Tell me a long story about a dragon.');
    await vi.waitFor(() => expect(chunks).toBeGreaterThan(3), WAIT);
    const generation = chatSpy.mock.results[0]?.value as Generation;
    scope.stop();
    // The runner went with the scope, before the engine could answer the abort.
    await expect(generation.result).rejects.toMatchObject({ code: 'HEARTH_DISPOSED' });
    // Nothing changes after the scope is gone.
    const seen = chunks;
    const text = messageText(chat.messages.value[1] as UIMessage);
    await new Promise((r) => setTimeout(r, 200));
    expect(chunks).toBe(seen);
    expect(messageText(chat.messages.value[1] as UIMessage)).toBe(text);
    expect(runner.disposed).toBe(true);
    expect(chat.modelStatus.value).toBe('idle');
  });

  test('disposing the scope of an injected Hearth aborts the generation but keeps the shared runner', async () => {
    const runner = await shared.ready();
    const chatSpy = vi.spyOn(runner, 'chat');
    let chunks = 0;
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({
        hearth: shared,
        generateOptions: { temperature: 0, maxTokens: 400, ignoreEos: true },
        onChunk: () => chunks++,
      }),
    );
    void chat.sendMessage('Tell me a long story about a dragon.');
    await vi.waitFor(() => expect(chunks).toBeGreaterThan(3), WAIT);
    const generation = chatSpy.mock.results[0]?.value as Generation;
    scope.stop();
    const result = await generation.result;
    expect(result.finishReason).toBe('cancelled');
    expect(runner.disposed).toBe(false);
    expect(shared.status.value).toBe('ready');
    // A composable created after the dispose answers on the same runner (the queue is free).
    const { value: next, scope: nextScope } = inScope(() =>
      useLlamaChat({ hearth: shared, generateOptions: GREEDY }),
    );
    await next.sendMessage(QUESTION);
    expect(next.status.value).toBe('ready');
    expect(next.result.value?.finishReason).not.toBe('cancelled');
    // The disposed composable refuses new requests with a clear error.
    await chat.sendMessage('again');
    expect((chat.error.value as HearthError).code).toBe('HEARTH_DISPOSED');
    nextScope.stop();
  });

  test('regenerate() replaces the last answer; with messageId it drops that answer and later turns', async () => {
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({ hearth: shared, generateOptions: GREEDY }),
    );
    await chat.sendMessage(QUESTION);
    const first = { ...(chat.messages.value[1] as UIMessage) };
    await chat.regenerate();
    expect(chat.status.value).toBe('ready');
    expect(chat.messages.value).toHaveLength(2);
    const second = chat.messages.value[1] as UIMessage;
    expect(second.id).not.toBe(first.id);
    // Greedy: the same history gives the same answer again.
    expect(messageText(second)).toBe(messageText(first));

    await chat.sendMessage('And of Germany?');
    expect(chat.messages.value).toHaveLength(4);
    await chat.regenerate({ messageId: second.id, maxTokens: 4 });
    expect(chat.messages.value).toHaveLength(2);
    expect(chat.result.value?.tokens.length).toBeLessThanOrEqual(4);

    await chat.regenerate({ messageId: 'nope' });
    expect(chat.status.value).toBe('error');
    expect(chat.error.value?.message).toMatch(/no assistant message with id nope/);
    chat.clearError();
    expect(chat.status.value).toBe('ready');
    scope.stop();
  });

  test('assigning messages sets the conversation the next answer continues', async () => {
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({ hearth: shared, generateOptions: GREEDY }),
    );
    chat.messages.value = [
      { id: 's', role: 'system', parts: [{ type: 'text', text: 'You answer in one word.' }] },
    ];
    await chat.sendMessage(QUESTION);
    expect(chat.messages.value.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(messageText(chat.messages.value[2] as UIMessage)).toBe(
      await directChat([
        { role: 'system', content: 'You answer in one word.' },
        { role: 'user', content: QUESTION },
      ]),
    );
    scope.stop();
  });

  test('generateOptions is reactive: a ref is read when each request starts', async () => {
    const options = ref({ temperature: 0, maxTokens: 3 });
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({ hearth: shared, generateOptions: options }),
    );
    await chat.sendMessage(QUESTION);
    expect(chat.result.value?.tokens).toHaveLength(3);
    options.value = { temperature: 0, maxTokens: 6 };
    await chat.regenerate();
    expect(chat.result.value?.tokens).toHaveLength(6);
    // A getter works too, and per-call options win.
    const max = ref(2);
    const { value: other, scope: otherScope } = inScope(() =>
      useLlamaChat({
        hearth: shared,
        generateOptions: () => ({ temperature: 0, maxTokens: max.value }),
      }),
    );
    await other.sendMessage(QUESTION);
    expect(other.result.value?.tokens).toHaveLength(2);
    max.value = 5;
    await other.regenerate();
    expect(other.result.value?.tokens).toHaveLength(5);
    await other.regenerate({ maxTokens: 1 });
    expect(other.result.value?.tokens).toHaveLength(1);
    scope.stop();
    otherScope.stop();
  });

  test('a reactive model reloads when the source changes, disposes the old runner, unloads on undefined', async () => {
    const load = vi.spyOn(LlamaRunner, 'load');
    const source = shallowRef<string | undefined>(MODEL);
    const contextLength = ref(512);
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({
        model: source,
        loadOptions: () => ({ contextLength: contextLength.value }),
        generateOptions: GREEDY,
      }),
    );
    const first = await chat.hearth.ready();
    expect(first.info().contextLength).toBe(512);
    // The same source, spelled as a file: URL: a new source, so a reload.
    source.value = pathToFileURL(MODEL).href;
    await nextTick();
    expect(chat.modelStatus.value).toBe('loading');
    const second = await chat.hearth.ready();
    expect(first.disposed).toBe(true);
    expect(second).not.toBe(first);
    // New load options reload too.
    contextLength.value = 256;
    await nextTick();
    const third = await chat.hearth.ready();
    expect(second.disposed).toBe(true);
    expect(third.info().contextLength).toBe(256);
    expect(load).toHaveBeenCalledTimes(3);
    await chat.sendMessage(QUESTION);
    expect(chat.status.value).toBe('ready');

    source.value = undefined;
    await nextTick();
    expect(chat.modelStatus.value).toBe('idle');
    expect(third.disposed).toBe(true);
    await chat.sendMessage(QUESTION);
    expect((chat.error.value as HearthError).code).toBe('NO_MODEL');
    scope.stop();
  });

  test('a bad option surfaces as error with code INVALID_OPTION, and onError is called', async () => {
    const onError = vi.fn();
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({ hearth: shared, generateOptions: { temperature: -1 }, onError }),
    );
    await chat.sendMessage(QUESTION);
    expect(chat.status.value).toBe('error');
    expect((chat.error.value as HearthError).code).toBe('INVALID_OPTION');
    expect(onError).toHaveBeenCalledWith(chat.error.value);
    scope.stop();
  });

  test('a model that cannot be loaded: modelStatus error, and sendMessage fails with its error', async () => {
    const { value: chat, scope } = inScope(() =>
      useLlamaChat({ model: '/nonexistent/model.gguf' }),
    );
    await vi.waitFor(() => expect(chat.modelStatus.value).toBe('error'), WAIT);
    const modelError = chat.modelError.value as HearthError;
    expect(modelError).toBeInstanceOf(HearthError);
    expect(modelError.code).toBe('IO_ERROR');
    await chat.sendMessage(QUESTION);
    expect(chat.status.value).toBe('error');
    expect(chat.error.value).toBe(modelError);
    // load() after an error retries (and fails the same way).
    await expect(chat.hearth.load()).rejects.toMatchObject({ code: 'IO_ERROR' });
    scope.stop();
  });

  test('without a model the Hearth is idle and sendMessage fails with NO_MODEL; load(source) loads', async () => {
    const hearth = createHearth();
    const { value: chat, scope } = inScope(() => useLlamaChat({ hearth, generateOptions: GREEDY }));
    expect(chat.modelStatus.value).toBe('idle');
    await chat.sendMessage(QUESTION);
    expect((chat.error.value as HearthError).code).toBe('NO_MODEL');
    // A message sent while the model loads waits for it.
    const loading = hearth.load(MODEL);
    expect(chat.modelStatus.value).toBe('loading');
    const sent = chat.sendMessage(QUESTION);
    expect(chat.status.value).toBe('submitted');
    await sent;
    expect(chat.status.value).toBe('ready');
    expect(await loading).toBe(hearth.runner.value);
    // Loading the same source again is a no-op.
    expect(await hearth.load(MODEL)).toBe(hearth.runner.value);
    hearth.dispose();
    await expect(hearth.load(MODEL)).rejects.toMatchObject({ code: 'HEARTH_DISPOSED' });
    scope.stop();
  });

  test('outside a component and without { hearth } or { model }: NO_HEARTH', () => {
    expect(() => inScope(() => useLlamaChat())).toThrow(
      expect.objectContaining({ code: 'NO_HEARTH' }),
    );
  });
});

describe('plugin and provide/inject', () => {
  /** A component chatting with the injected Hearth; exposes its composable. */
  let exposed: UseLlamaChatReturn | undefined;
  const Chat = defineComponent({
    setup() {
      const chat = useLlamaChat({
        generateOptions: { temperature: 0, maxTokens: 400, ignoreEos: true },
      });
      exposed = chat;
      return () =>
        h(
          'ul',
          chat.messages.value.map((m) =>
            h('li', { key: m.id, 'data-role': m.role }, messageText(m)),
          ),
        );
    },
  });

  test('app.use(createHearth()) shares one runner; app.unmount() disposes it', async () => {
    const hearth = createHearth({ model: MODEL });
    const load = vi.spyOn(LlamaRunner, 'load');
    let found: Hearth | undefined;
    const Probe = defineComponent({
      setup() {
        found = useHearth();
        return () => h('p');
      },
    });
    const wrapper = mount(
      defineComponent({ setup: () => () => h('div', [h(Chat), h(Chat), h(Probe)]) }),
      { global: { plugins: [hearth] } },
    );
    const runner = await hearth.ready();
    expect(load).not.toHaveBeenCalled(); // loaded once, when created, not per component
    expect(found).toBe(hearth);
    expect(exposed?.hearth).toBe(hearth);
    wrapper.unmount();
    expect(runner.disposed).toBe(true);
    expect(hearth.status.value).toBe('idle');
  });

  test('provideHearth() in a parent: children inject it; unmounting aborts their generation and disposes the model', async () => {
    let provided: Hearth | undefined;
    const Parent = defineComponent({
      setup() {
        provided = provideHearth({ model: MODEL });
        return () => h(Chat);
      },
    });
    const wrapper = mount(Parent);
    const hearth = provided as Hearth;
    const runner = await hearth.ready();
    const chatSpy = vi.spyOn(runner, 'chat');
    const chat = exposed as UseLlamaChatReturn;
    expect(chat.hearth).toBe(hearth);
    void chat.sendMessage('Tell me a long story about a dragon.');
    await vi.waitFor(
      () => expect(wrapper.find('li[data-role="assistant"]').text().length).toBeGreaterThan(10),
      WAIT,
    );
    const text = wrapper.find('li[data-role="assistant"]').text();
    const generation = chatSpy.mock.results[0]?.value as Generation;
    wrapper.unmount();
    await expect(generation.result).rejects.toMatchObject({
      code: 'HEARTH_DISPOSED',
    });
    expect(runner.disposed).toBe(true);
    expect(messageText(chat.messages.value[1] as UIMessage)).toBe(text);
  });

  test('useHearth() without a provider throws NO_HEARTH', () => {
    let caught: unknown;
    mount(
      defineComponent({
        setup() {
          try {
            useHearth();
          } catch (e) {
            caught = e;
          }
          return () => h('p');
        },
      }),
    );
    expect(caught).toBeInstanceOf(HearthError);
    expect((caught as HearthError).code).toBe('NO_HEARTH');
  });
});

describe('useLlamaCompletion', () => {
  test('completes "The capital of France is" greedily with " Paris." and streams it', async () => {
    const seen: string[] = [];
    const { value: c, scope } = inScope(() => {
      const c = useLlamaCompletion({
        hearth: shared,
        generateOptions: { temperature: 0, maxTokens: 8 },
      });
      watch(c.completion, (t) => seen.push(t), { flush: 'sync' });
      return c;
    });
    const text = await c.complete('The capital of France is');
    expect(c.status.value).toBe('ready');
    expect(c.completion.value.startsWith(' Paris.')).toBe(true);
    expect(text).toBe(c.completion.value);
    expect(c.result.value?.finishReason).toBe('length');
    expect(seen.length).toBeGreaterThan(3);
    scope.stop();
  });

  test('parseSpecial is reactive: control-token text becomes one token only when it is on', async () => {
    const parseSpecial = ref(false);
    const { value: c, scope } = inScope(() =>
      useLlamaCompletion({
        hearth: shared,
        parseSpecial,
        generateOptions: { temperature: 0, maxTokens: 1 },
      }),
    );
    const prompt = '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n';
    await c.complete(prompt);
    const plain = c.result.value?.promptTokens.length ?? 0;
    parseSpecial.value = true;
    await c.complete(prompt);
    const special = c.result.value?.promptTokens.length ?? 0;
    expect(special).toBeGreaterThan(0);
    expect(special).toBeLessThan(plain);
    scope.stop();
  });
});

describe('useLlamaEmbedding', () => {
  test('returns real vectors from an EmbeddingRunner (all-MiniLM-L6-v2), and follows reactive texts', async () => {
    // HEARTH_RUNTIME=wasm runs the wasm engine; otherwise the native addon.
    const runner = await EmbeddingRunner.load(
      modelPath('all-MiniLM-L6-v2'),
      process.env.HEARTH_RUNTIME === 'wasm' ? { backend: 'wasm' } : {},
    );
    try {
      const texts = ref([
        'A man is playing a guitar on the stage.',
        'Someone plays the guitar in front of an audience.',
        'The stock market fell sharply on Monday morning.',
      ]);
      const { value: e, scope } = inScope(() => useLlamaEmbedding({ runner, texts }));
      await vi.waitFor(() => expect(e.vectors.value).toHaveLength(3), WAIT);
      expect(e.status.value).toBe('ready');
      for (const v of e.vectors.value ?? []) {
        expect(v).toHaveLength(384);
        const norm = Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
        expect(norm).toBeCloseTo(1, 4);
      }
      const [a, b, c] = e.vectors.value as [Float32Array, Float32Array, Float32Array];
      expect(similarity(a, b)).toBeGreaterThan(similarity(a, c) + 0.3);

      // Changing the texts (in place) embeds again.
      texts.value.push('Guitars are played on stage.');
      await vi.waitFor(() => expect(e.vectors.value).toHaveLength(4), WAIT);
      const returned = await e.embed(['one']);
      expect(e.vectors.value).toEqual(returned);
      scope.stop();
    } finally {
      runner.dispose();
    }
  });

  test('errors: no runner and no Hearth → NO_HEARTH; a runner without embed() → EMBED_UNAVAILABLE', async () => {
    const { value: alone, scope } = inScope(() => useLlamaEmbedding());
    await expect(alone.embed(['hi'])).rejects.toMatchObject({ code: 'NO_HEARTH' });
    expect(alone.status.value).toBe('error');
    const hasEmbed =
      typeof (LlamaRunner.prototype as unknown as { embed?: unknown }).embed === 'function';
    const { value: e, scope: other } = inScope(() => useLlamaEmbedding({ hearth: shared }));
    if (!hasEmbed) {
      await expect(e.embed(['hello'])).rejects.toMatchObject({ code: 'EMBED_UNAVAILABLE' });
      expect(e.status.value).toBe('error');
      expect((e.error.value as HearthError).code).toBe('EMBED_UNAVAILABLE');
    }
    await expect(e.embed([1 as unknown as string])).rejects.toMatchObject({
      code: 'HEARTH_INVALID_ARGUMENT',
    });
    scope.stop();
    other.stop();
  });
});
