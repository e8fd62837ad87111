/**
 * Classic Svelte stores over the runes classes, for Svelte 4-style code
 * (`$chat.messages`, `bind:value={$messages}` …): each store follows the store
 * contract (`subscribe` calls back at once with the current value, then on
 * every change; its return value unsubscribes) and is updated by the same
 * objects as the runes API, so both behave alike.
 */
import type { GenerationResult, LlamaRunner, LoadProgress, ModelSourceInput } from '@hearth/runner';
import { type Readable, type Writable } from 'svelte/store';
import { LlamaChat, type LlamaChatOptions } from './chat.svelte.js';
import { LlamaCompletion, type LlamaCompletionOptions } from './completion.svelte.js';
import type { LlamaGenerateOptions, RequestStatus } from './generation.svelte.js';
import type { SendMessageInput, UIMessage } from './messages.js';
import { HearthModel, type ModelLoadOptions, type ModelStatus } from './model.svelte.js';
/** A model's state as a store value. */
export interface ModelSnapshot {
  status: ModelStatus;
  loadProgress: LoadProgress | undefined;
  error: Error | undefined;
  runner: LlamaRunner | undefined;
}
/** A model as a readable store, with `load` and `dispose`. */
export interface ModelStore extends Readable<ModelSnapshot> {
  /** The runes object behind the store (pass it as `model` to the other stores). */
  model: HearthModel;
  load: HearthModel['load'];
  dispose: () => void;
}
/** What every generation store's value holds. */
interface GenerationSnapshot {
  status: RequestStatus;
  error: Error | undefined;
  result: GenerationResult | undefined;
  modelStatus: ModelStatus;
  loadProgress: LoadProgress | undefined;
  modelError: Error | undefined;
}
/** A chat's state as a store value (plain objects, a new value on every change). */
export interface ChatSnapshot extends GenerationSnapshot {
  messages: UIMessage[];
}
/** A chat as a readable store of {@link ChatSnapshot}, with its actions. */
export interface ChatStore extends Readable<ChatSnapshot> {
  /** The conversation as a writable store: `set` replaces it. */
  messages: Writable<UIMessage[]>;
  sendMessage: (message: SendMessageInput, options?: LlamaGenerateOptions) => Promise<void>;
  regenerate: LlamaChat['regenerate'];
  stop: () => void;
  clearError: () => void;
  /** Stops the answer in flight (and disposes a model the store loaded itself). */
  destroy: () => void;
  /** The runes object behind the store. */
  chat: LlamaChat;
}
/** A completion's state as a store value. */
export interface CompletionSnapshot extends GenerationSnapshot {
  completion: string;
}
/** A completion as a readable store of {@link CompletionSnapshot}, with its actions. */
export interface CompletionStore extends Readable<CompletionSnapshot> {
  /** The completion text as a writable store. */
  completion: Writable<string>;
  complete: LlamaCompletion['complete'];
  stop: () => void;
  clearError: () => void;
  destroy: () => void;
  /** The runes object behind the store. */
  llama: LlamaCompletion;
}
/** A store of `HearthModel` state: loads `source` at once when given. */
export declare function createModelStore(
  source?: ModelSourceInput,
  options?: ModelLoadOptions,
): ModelStore;
/**
 * A chat as stores (see {@link LlamaChat} for the options; `model` may be a
 * `ModelStore`'s `model`). Created in a component, it is destroyed with it.
 */
export declare function createChatStore(options?: LlamaChatOptions): ChatStore;
/** A completion as stores (see {@link LlamaCompletion}). Created in a component, it is destroyed with it. */
export declare function createCompletionStore(options?: LlamaCompletionOptions): CompletionStore;
//# sourceMappingURL=stores.svelte.d.ts.map
