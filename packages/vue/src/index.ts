/**
 * `@hearth/vue`: Vue 3 composables over `@hearth/runner`. Install one shared
 * model with `app.use(createHearth({ model }))` (or `provideHearth()` in a
 * component), then `useLlamaChat`, `useLlamaCompletion` or `useLlamaEmbedding`
 * in any component below it; they return refs and methods, and stop their
 * generation when the component unmounts.
 *
 * @module
 */

export type { SendMessageInput, TextUIPart, UIMessage } from '@hearth/runner';
export { messageText } from '@hearth/runner';
export type {
  ComposableGenerateOptions,
  GenerationComposableOptions,
  ModelRefs,
  RequestStatus,
} from './generation.js';
export {
  createHearth,
  HEARTH_KEY,
  type Hearth,
  type HearthLoadOptions,
  type HearthOptions,
  injectHearth,
  type ModelOptions,
  type ModelStatus,
  provideHearth,
  useHearth,
} from './hearth.js';
export {
  type UseLlamaChatOptions,
  type UseLlamaChatReturn,
  useLlamaChat,
} from './use-llama-chat.js';
export {
  type UseLlamaCompletionOptions,
  type UseLlamaCompletionReturn,
  useLlamaCompletion,
} from './use-llama-completion.js';
export {
  type Embedder,
  type EmbeddingStatus,
  type UseLlamaEmbeddingOptions,
  type UseLlamaEmbeddingReturn,
  useLlamaEmbedding,
  type Vector,
} from './use-llama-embedding.js';
