/** `LlamaChat`: a streaming chat as a runes class, shaped like the AI SDK 5 `Chat`. */
import { untrack } from 'svelte';
import { GenerationState } from './generation.svelte.js';
import { newMessageId, toChatMessages, toUserMessage } from './messages.js';
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
  messages = $state([]);
  constructor(options = {}) {
    super(options);
    this.messages = options.messages ?? [];
  }
  /** Adds a user message and streams the answer; resolves when the answer is complete (never rejects). */
  sendMessage = (message, options) =>
    untrack(() => this.#answer([...this.messages, toUserMessage(message)], options));
  /** Answers again: drops the last assistant message (or `messageId` and everything after it). */
  regenerate = ({ messageId, ...overrides } = {}) =>
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
  #answer(history, overrides) {
    this.messages = history;
    const prompt = toChatMessages($state.snapshot(history));
    let answer;
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
          this.options.onFinish?.({ message: $state.snapshot(answer), result });
        }
      },
    });
  }
}
