/** `useLlamaChat`: a streaming chat with the provider's model, shaped like the AI SDK 5 `useChat`. */

import type { GenerationResult, LoadProgress } from '@hearth/runner';
import {
  newMessageId,
  type SendMessageInput,
  toChatMessages,
  toUserMessage,
  type UIMessage,
} from '@hearth/runner';
import { useCallback, useRef, useState } from 'react';
import {
  type GenerationHookOptions,
  type HookGenerateOptions,
  type RequestStatus,
  useGenerationRunner,
} from './generation.js';
import type { ModelStatus } from './model-store.js';
import { useHearthModel, useModelStore } from './provider.js';

/** Options of {@link useLlamaChat}. */
export interface UseLlamaChatOptions extends GenerationHookOptions {
  /** The initial conversation (a system message, earlier turns …). */
  messages?: UIMessage[];
  /** Called when an answer is complete (also after `stop()`), with the runner's result and timings. */
  onFinish?: (event: { message: UIMessage; result: GenerationResult }) => void;
}

/** What {@link useLlamaChat} returns. */
export interface UseLlamaChatHelpers {
  /** The conversation; the assistant message being streamed is the last one. */
  messages: UIMessage[];
  /** Replaces the conversation (a value or an updater). */
  setMessages: (messages: UIMessage[] | ((messages: UIMessage[]) => UIMessage[])) => void;
  /** Adds a user message and streams the answer; resolves when the answer is complete. */
  sendMessage: (message: SendMessageInput, options?: HookGenerateOptions) => Promise<void>;
  /** Answers again: drops the last assistant message (or `messageId` and everything after it). */
  regenerate: (options?: { messageId?: string } & HookGenerateOptions) => Promise<void>;
  /** Stops the answer between two tokens; the text so far is kept and `status` becomes `ready`. */
  stop: () => void;
  status: RequestStatus;
  /** The last request's error (a `HearthError` with a stable `code`), until the next request. */
  error: Error | undefined;
  clearError: () => void;
  /** The last finished answer's result: tokens, finish reason, timings (TTFT, tok/s). */
  result: GenerationResult | undefined;
  /** The provider's model: `idle`, `loading`, `ready` or `error`. */
  modelStatus: ModelStatus;
  /** The model's last load progress event. */
  loadProgress: LoadProgress | undefined;
  /** Why the model failed to load. */
  modelError: Error | undefined;
}

/**
 * A chat with the model of the nearest `<HearthProvider>`, through the
 * model's chat template. Messages sent while the model loads wait for it.
 */
export function useLlamaChat(options: UseLlamaChatOptions = {}): UseLlamaChatHelpers {
  const store = useModelStore();
  const model = useHearthModel();
  const [messages, setMessagesState] = useState<UIMessage[]>(() => options.messages ?? []);
  const messagesRef = useRef(messages);
  const onFinish = useRef(options.onFinish);
  onFinish.current = options.onFinish;
  const { status, setStatus, error, setError, result, stop, run } = useGenerationRunner(
    store,
    options,
  );

  const setMessages = useCallback(
    (next: UIMessage[] | ((messages: UIMessage[]) => UIMessage[])) => {
      const value = typeof next === 'function' ? next(messagesRef.current) : next;
      messagesRef.current = value;
      setMessagesState(value);
    },
    [],
  );

  const answer = useCallback(
    (history: UIMessage[], overrides: HookGenerateOptions | undefined): Promise<void> => {
      setMessages(history);
      const id = newMessageId();
      const assistant = (text: string, state: 'streaming' | 'done'): UIMessage => ({
        id,
        role: 'assistant',
        parts: [{ type: 'text', text, state }],
      });
      return run((runner, o) => runner.chat(toChatMessages(history), o), overrides, {
        onStart: () => setMessages([...history, assistant('', 'streaming')]),
        onText: (text) => setMessages([...history, assistant(text, 'streaming')]),
        onDone: (text, done) => {
          const message = assistant(text, 'done');
          setMessages([...history, message]);
          onFinish.current?.({ message, result: done });
        },
      });
    },
    [run, setMessages],
  );

  const sendMessage = useCallback(
    (message: SendMessageInput, overrides?: HookGenerateOptions) =>
      answer([...messagesRef.current, toUserMessage(message)], overrides),
    [answer],
  );

  const regenerate = useCallback(
    ({ messageId, ...overrides }: { messageId?: string } & HookGenerateOptions = {}) => {
      const all = messagesRef.current;
      let end = all.length;
      if (messageId !== undefined) {
        end = all.findIndex((m) => m.id === messageId);
        if (end < 0 || all[end]?.role !== 'assistant') {
          const e = new Error(`regenerate: no assistant message with id ${messageId}`);
          setError(e);
          setStatus('error');
          return Promise.resolve();
        }
      } else if (all[end - 1]?.role === 'assistant') {
        end -= 1;
      }
      return answer(all.slice(0, end), overrides);
    },
    [answer, setError, setStatus],
  );

  const clearError = useCallback(() => {
    setError(undefined);
    setStatus((s) => (s === 'error' ? 'ready' : s));
  }, [setError, setStatus]);

  return {
    messages,
    setMessages,
    sendMessage,
    regenerate,
    stop,
    status,
    error,
    clearError,
    result,
    modelStatus: model.status,
    loadProgress: model.loadProgress,
    modelError: model.error,
  };
}
