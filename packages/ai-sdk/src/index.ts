/**
 * `@hearth/ai-sdk`: Hearth as a Vercel AI SDK (`ai` 7) provider. `createHearth`
 * gives language models (`LanguageModelV4`: `generateText`, `streamText`) and
 * embedding models (`EmbeddingModelV4`: `embed`, `embedMany`) running on the
 * device; `HearthChatTransport` runs `useChat` in the browser with no server.
 *
 * @module
 */

export {
  type HearthCallSettings,
  HearthChatTransport,
  type HearthChatTransportOptions,
  type HearthDataTypes,
  type HearthProgressData,
  type HearthUIMessage,
  PROGRESS_PART_ID,
} from './chat-transport.js';
export { HearthEmbeddingModel, type HearthEmbeddingModelOptions } from './embedding-model.js';
export { HearthLanguageModel, type HearthLanguageModelOptions } from './language-model.js';
export type { Loadable } from './loader.js';
export { createHearth, type HearthAIProvider, type HearthProviderSettings } from './provider.js';
