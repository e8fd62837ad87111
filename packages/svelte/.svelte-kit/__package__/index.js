/**
 * `@hearth/svelte`: Svelte 5 bindings over `@hearth/runner`.
 *
 * - Runes classes: `HearthModel` (one runner and its loading state),
 *   `LlamaChat`, `LlamaCompletion`, `LlamaEmbedding`, with `$state` fields.
 * - Classic stores for Svelte 4-style code: `createModelStore`,
 *   `createChatStore`, `createCompletionStore`.
 * - `use:llamaCompletion`: ghost-text autocomplete for a textarea.
 * - `setHearthContext` / `getHearthContext`: one shared model for a component tree.
 *
 * @module
 */
export { llamaCompletion } from './autocomplete.js';
export { LlamaChat } from './chat.svelte.js';
export { LlamaCompletion } from './completion.svelte.js';
export { getHearthContext, setHearthContext } from './context.js';
export { LlamaEmbedding } from './embedding.svelte.js';
export { messageText } from './messages.js';
export { HearthModel } from './model.svelte.js';
export { createChatStore, createCompletionStore, createModelStore } from './stores.svelte.js';
