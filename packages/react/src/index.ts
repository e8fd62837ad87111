/**
 * `@hearth/react`: React hooks over `@hearth/runner`. Wrap the app in
 * `<HearthProvider model={url}>`, then `useLlamaChat`, `useLlamaCompletion` or
 * `useLlamaEmbedding` anywhere below it.
 *
 * @module
 */

export type { SendMessageInput, TextUIPart, UIMessage } from '@hearth/runner';
export { messageText } from '@hearth/runner';
export type { GenerationHookOptions, HookGenerateOptions, RequestStatus } from './generation.js';
export type { ModelState, ModelStatus, ProviderLoadOptions } from './model-store.js';
export { HearthProvider, type HearthProviderProps, useHearthModel } from './provider.js';
export {
  type UseLlamaChatHelpers,
  type UseLlamaChatOptions,
  useLlamaChat,
} from './use-llama-chat.js';
export {
  type UseLlamaCompletionHelpers,
  type UseLlamaCompletionOptions,
  useLlamaCompletion,
} from './use-llama-completion.js';
export {
  type Embedder,
  type EmbeddingStatus,
  type UseLlamaEmbeddingHelpers,
  type UseLlamaEmbeddingOptions,
  useLlamaEmbedding,
  type Vector,
} from './use-llama-embedding.js';
