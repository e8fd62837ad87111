/** `useLlamaChat`: a streaming chat with a local model, in the shapes of the AI SDK 5 `useChat`. */

import type { GenerationResult } from '@hearth/runner';
import {
  newMessageId,
  type SendMessageInput,
  type TextUIPart,
  toChatMessages,
  toUserMessage,
  type UIMessage,
} from '@hearth/runner';
import { type ComputedRef, type Ref, ref } from 'vue';
import {
  type ComposableGenerateOptions,
  type GenerationComposableOptions,
  type ModelRefs,
  modelRefs,
  type RequestStatus,
  useGeneration,
} from './generation.js';
import { type ModelOptions, resolveHearth } from './hearth.js';

/** Options of {@link useLlamaChat}. */
export interface UseLlamaChatOptions extends GenerationComposableOptions, ModelOptions {
  /** The conversation to start from (e.g. a system message). */
  messages?: UIMessage[];
  /** Called when an answer is complete (also after `stop()`), with the message and the run's result. */
  onFinish?: (event: { message: UIMessage; result: GenerationResult }) => void;
}

/** What {@link useLlamaChat} returns. */
export interface UseLlamaChatReturn extends ModelRefs {
  /** The conversation; the assistant's answer grows in place while it streams. Assign to replace it. */
  messages: Ref<UIMessage[]>;
  /** Adds a user message and streams the answer; resolves when the answer ends (or fails: see `error`). */
  sendMessage: (message: SendMessageInput, options?: ComposableGenerateOptions) => Promise<void>;
  /** Answers again: drops the last assistant message (or `messageId` and everything after it). */
  regenerate: (options?: { messageId?: string } & ComposableGenerateOptions) => Promise<void>;
  /** Stops the answer between two tokens; the text so far is kept and `status` becomes `ready`. */
  stop: () => void;
  status: ComputedRef<RequestStatus>;
  /** The last request's error (a `HearthError` with a stable `code`), until the next request. */
  error: ComputedRef<Error | undefined>;
  clearError: () => void;
  /** The last finished answer's result: tokens, finish reason, timings (TTFT, tok/s). */
  result: ComputedRef<GenerationResult | undefined>;
}

/**
 * A chat through the model's chat template, on the injected Hearth (or
 * `options.hearth`, or an own `options.model`). Messages sent while the model
 * loads wait for it. Disposing the calling scope (unmounting the component)
 * aborts the answer in flight, and disposes an own model.
 */
export function useLlamaChat(options: UseLlamaChatOptions = {}): UseLlamaChatReturn {
  const hearth = resolveHearth(options);
  const messages = ref<UIMessage[]>(options.messages ?? []);
  const { status, statusRef, error, errorRef, result, stop, run } = useGeneration(hearth, options);

  function answer(history: UIMessage[], overrides: ComposableGenerateOptions | undefined) {
    messages.value = history;
    const id = newMessageId();
    const write = (text: string, state: NonNullable<TextUIPart['state']>) => {
      const message = messages.value.find((m) => m.id === id);
      if (message) message.parts = [{ type: 'text', text, state }];
      return message;
    };
    return run((runner, o) => runner.chat(toChatMessages(history), o), overrides, {
      onStart: () => {
        messages.value.push({
          id,
          role: 'assistant',
          parts: [{ type: 'text', text: '', state: 'streaming' }],
        });
      },
      onText: (text) => write(text, 'streaming'),
      onDone: (text, done) => {
        const message = write(text, 'done');
        if (message) options.onFinish?.({ message, result: done });
      },
    });
  }

  function sendMessage(message: SendMessageInput, overrides?: ComposableGenerateOptions) {
    return answer([...messages.value, toUserMessage(message)], overrides);
  }

  function regenerate({
    messageId,
    ...overrides
  }: { messageId?: string } & ComposableGenerateOptions = {}): Promise<void> {
    const all = messages.value;
    let end = all.length;
    if (messageId !== undefined) {
      end = all.findIndex((m) => m.id === messageId);
      if (end < 0 || all[end]?.role !== 'assistant') {
        errorRef.value = new Error(`regenerate: no assistant message with id ${messageId}`);
        statusRef.value = 'error';
        return Promise.resolve();
      }
    } else if (all[end - 1]?.role === 'assistant') {
      end -= 1;
    }
    return answer(all.slice(0, end), overrides);
  }

  function clearError() {
    errorRef.value = undefined;
    if (statusRef.value === 'error') statusRef.value = 'ready';
  }

  return {
    messages,
    sendMessage,
    regenerate,
    stop,
    status,
    error,
    clearError,
    result,
    ...modelRefs(hearth),
  };
}
