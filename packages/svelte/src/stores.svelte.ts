/**
 * Classic Svelte stores over the runes classes, for Svelte 4-style code
 * (`$chat.messages`, `bind:value={$messages}` …): each store follows the store
 * contract (`subscribe` calls back at once with the current value, then on
 * every change; its return value unsubscribes) and is updated by the same
 * objects as the runes API, so both behave alike.
 */

import type {
  GenerationResult,
  LlamaRunner,
  LoadProgress,
  ModelSourceInput,
  SendMessageInput,
  UIMessage,
} from '@hearth/runner';
import { type Readable, toStore, type Writable } from 'svelte/store';
import { LlamaChat, type LlamaChatOptions } from './chat.svelte.js';
import { LlamaCompletion, type LlamaCompletionOptions } from './completion.svelte.js';
import type { LlamaGenerateOptions, RequestStatus } from './generation.svelte.js';
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
export function createModelStore(
  source?: ModelSourceInput,
  options?: ModelLoadOptions,
): ModelStore {
  const model = new HearthModel(source, options);
  const { subscribe } = toStore(
    (): ModelSnapshot => ({
      status: model.status,
      loadProgress: model.loadProgress,
      error: model.error,
      runner: model.runner,
    }),
  );
  return { subscribe, model, load: (s, o) => model.load(s, o), dispose: () => model.dispose() };
}

function generationSnapshot(g: LlamaChat | LlamaCompletion): GenerationSnapshot {
  return {
    status: g.status,
    error: g.error,
    result: g.result,
    modelStatus: g.modelStatus,
    loadProgress: g.loadProgress,
    modelError: g.modelError,
  };
}

/**
 * A chat as stores (see {@link LlamaChat} for the options; `model` may be a
 * `ModelStore`'s `model`). Created in a component, it is destroyed with it.
 */
export function createChatStore(options: LlamaChatOptions = {}): ChatStore {
  const chat = new LlamaChat(options);
  // `$state.snapshot` reads every message deeply, so streamed text notifies subscribers.
  const messages = () => $state.snapshot(chat.messages) as UIMessage[];
  const { subscribe } = toStore(
    (): ChatSnapshot => ({ ...generationSnapshot(chat), messages: messages() }),
  );
  return {
    subscribe,
    messages: toStore(messages, (value) => {
      chat.messages = value;
    }),
    sendMessage: chat.sendMessage,
    regenerate: chat.regenerate,
    stop: chat.stop,
    clearError: chat.clearError,
    destroy: () => chat.destroy(),
    chat,
  };
}

/** A completion as stores (see {@link LlamaCompletion}). Created in a component, it is destroyed with it. */
export function createCompletionStore(options: LlamaCompletionOptions = {}): CompletionStore {
  const llama = new LlamaCompletion(options);
  const { subscribe } = toStore(
    (): CompletionSnapshot => ({ ...generationSnapshot(llama), completion: llama.completion }),
  );
  return {
    subscribe,
    completion: toStore(
      () => llama.completion,
      (value) => {
        llama.completion = value;
      },
    ),
    complete: llama.complete,
    stop: llama.stop,
    clearError: llama.clearError,
    destroy: () => llama.destroy(),
    llama,
  };
}
