/** `LlamaChat`: a streaming chat as a runes class, shaped like the AI SDK 5 `Chat`. */
import type { GenerationResult } from '@hearth/runner';
import {
  type GenerationOptions,
  GenerationState,
  type LlamaGenerateOptions,
} from './generation.svelte.js';
import { type SendMessageInput, type UIMessage } from './messages.js';
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
export declare class LlamaChat extends GenerationState {
  #private;
  /** The conversation; the answer being streamed is the last message and grows in place. */
  messages: UIMessage[];
  protected readonly options: LlamaChatOptions;
  constructor(options?: LlamaChatOptions);
  /** Adds a user message and streams the answer; resolves when the answer is complete (never rejects). */
  sendMessage: (message: SendMessageInput, options?: LlamaGenerateOptions) => Promise<void>;
  /** Answers again: drops the last assistant message (or `messageId` and everything after it). */
  regenerate: ({
    messageId,
    ...overrides
  }?: {
    messageId?: string;
  } & LlamaGenerateOptions) => Promise<void>;
}
//# sourceMappingURL=chat.svelte.d.ts.map
