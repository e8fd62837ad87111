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

export type { SendMessageInput, TextUIPart, UIMessage } from '@hearth/runner';
export { messageText } from '@hearth/runner';
export {
  type LlamaCompletionParams,
  llamaCompletion,
} from './autocomplete.js';
export { LlamaChat, type LlamaChatOptions } from './chat.svelte.js';
export { LlamaCompletion, type LlamaCompletionOptions } from './completion.svelte.js';
export { getHearthContext, setHearthContext } from './context.js';
export {
  type Embedder,
  type EmbeddingStatus,
  LlamaEmbedding,
  type LlamaEmbeddingOptions,
  type Vector,
} from './embedding.svelte.js';
export type {
  GenerationOptions,
  GenerationState,
  LlamaGenerateOptions,
  ModelOptions,
  RequestStatus,
} from './generation.svelte.js';
export { HearthModel, type ModelLoadOptions, type ModelStatus } from './model.svelte.js';
export {
  type ChatSnapshot,
  type ChatStore,
  type CompletionSnapshot,
  type CompletionStore,
  createChatStore,
  createCompletionStore,
  createModelStore,
  type ModelSnapshot,
  type ModelStore,
} from './stores.svelte.js';
