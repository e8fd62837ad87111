/** `LlamaChat`: a streaming chat as a runes class, shaped like the AI SDK 5 `Chat`. */

import type { GenerationResult } from '@hearth/runner';
import {
  newMessageId,
  type SendMessageInput,
  toChatMessages,
  toUserMessage,
  type UIMessage,
} from '@hearth/runner';
import { untrack } from 'svelte';
import {
  type GenerationOptions,
  GenerationState,
  type LlamaGenerateOptions,
} from './generation.svelte.js';

/** Options of {@link LlamaChat}. */
export interface LlamaChatOptions extends GenerationOptions {
  /** The initial conversation (a system message, earlier turns …). */
  messages?: UIMessage[] | undefined;
  /** Called when an answer is complete (also after `stop()`), with the runner's result and timings. */
  onFinish?: ((event: { message: UIMessage; result: GenerationResult }) => void) | undefined;
}

/**
 * A chat with a model through its chat template. Fields are `$state`:
 *
 * ```svelte
 * <script>
 *   const chat = new LlamaChat({ model: '/models/SmolLM2-135M-Instruct.Q4_1.gguf' });
 * </script>
 * {#each chat.messages as m (m.id)}<p>{m.role}: {messageText(m)}</p>{/each}
 * <button onclick={() => chat.sendMessage('Hi!')}>Send</button>
 * ```
 *
 * Messages sent while the model loads wait for it. Created in a component's
 * `<script>` it stops its answer (and disposes a model it loaded itself) when
 * the component is destroyed.
 */
export class LlamaChat extends GenerationState {
  /** The conversation; the answer being streamed is the last message and grows in place. */
  messages: UIMessage[] = $state([]);

  declare protected readonly options: LlamaChatOptions;

  constructor(options: LlamaChatOptions = {}) {
    super(options);
    this.messages = options.messages ?? [];
  }

  /** Adds a user message and streams the answer; resolves when the answer is complete (never rejects). */
  sendMessage = (message: SendMessageInput, options?: LlamaGenerateOptions): Promise<void> =>
    untrack(() => this.#answer([...this.messages, toUserMessage(message)], options));

  /** Answers again: drops the last assistant message (or `messageId` and everything after it). */
  regenerate = ({
    messageId,
    ...overrides
  }: { messageId?: string } & LlamaGenerateOptions = {}): Promise<void> =>
    untrack(() => {
      const all = this.messages;
      let end = all.length;
      if (messageId !== undefined) {
        end = all.findIndex((m) => m.id === messageId);
        if (end < 0 || all[end]?.role !== 'assistant') {
          this.error = new Error(`regenerate: no assistant message with id ${messageId}`);
          this.status = 'error';
          return Promise.resolve();
        }
      } else if (all[end - 1]?.role === 'assistant') {
        end -= 1;
      }
      return this.#answer(all.slice(0, end), overrides);
    });

  #answer(history: UIMessage[], overrides: LlamaGenerateOptions | undefined): Promise<void> {
    this.messages = history;
    const prompt = toChatMessages($state.snapshot(history) as UIMessage[]);
    let answer: UIMessage | undefined;
    const part = () => answer?.parts[0];
    return this.run((runner, o) => runner.chat(prompt, o), overrides, {
      onStart: () => {
        this.messages.push({
          id: newMessageId(),
          role: 'assistant',
          parts: [{ type: 'text', text: '', state: 'streaming' }],
        });
        // The proxied message: writing its text updates only what shows it.
        answer = this.messages.at(-1);
      },
      onText: (text) => {
        const p = part();
        if (p) p.text = text;
      },
      onDone: (text, result) => {
        const p = part();
        if (p) {
          p.text = text;
          p.state = 'done';
        }
        if (answer) {
          this.options.onFinish?.({ message: $state.snapshot(answer) as UIMessage, result });
        }
      },
    });
  }
}
