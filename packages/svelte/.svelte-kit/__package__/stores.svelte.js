/**
 * Classic Svelte stores over the runes classes, for Svelte 4-style code
 * (`$chat.messages`, `bind:value={$messages}` …): each store follows the store
 * contract (`subscribe` calls back at once with the current value, then on
 * every change; its return value unsubscribes) and is updated by the same
 * objects as the runes API, so both behave alike.
 */
import { toStore } from 'svelte/store';
import { LlamaChat } from './chat.svelte.js';
import { LlamaCompletion } from './completion.svelte.js';
import { HearthModel } from './model.svelte.js';
/** A store of `HearthModel` state: loads `source` at once when given. */
export function createModelStore(source, options) {
  const model = new HearthModel(source, options);
  const { subscribe } = toStore(() => ({
    status: model.status,
    loadProgress: model.loadProgress,
    error: model.error,
    runner: model.runner,
  }));
  return { subscribe, model, load: (s, o) => model.load(s, o), dispose: () => model.dispose() };
}
function generationSnapshot(g) {
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
export function createChatStore(options = {}) {
  const chat = new LlamaChat(options);
  // `$state.snapshot` reads every message deeply, so streamed text notifies subscribers.
  const messages = () => $state.snapshot(chat.messages);
  const { subscribe } = toStore(() => ({ ...generationSnapshot(chat), messages: messages() }));
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
export function createCompletionStore(options = {}) {
  const llama = new LlamaCompletion(options);
  const { subscribe } = toStore(() => ({
    ...generationSnapshot(llama),
    completion: llama.completion,
  }));
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
