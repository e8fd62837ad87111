/**
 * The public API of `@hearth/runner`, the same from the browser entry
 * (`index.ts`) and the Node entry (`node.ts`); each entry adds only how
 * engines start on its platform.
 *
 * @module
 */

export type { AdapterLoadOptions, ModelAdapter } from './adapters.js';
export { adapterNames, registerAdapter } from './adapters.js';
export type { CacheEntry } from './cache/model-cache.js';
export { ModelCache } from './cache/model-cache.js';
export type { CacheOption } from './cache/open.js';
export type { CacheStoreKind } from './cache/store.js';
export type {
  Capabilities,
  ChainLayer,
  ChainStep,
  NativeDevice,
  NativeDeviceReport,
  WasmEngine,
  WebGpuReport,
} from './capabilities.js';
export { capabilities, detectCapabilities } from './capabilities.js';
export type {
  EmbeddingEngine,
  EmbeddingFileSource,
  EmbeddingFiles,
  EmbeddingInfo,
  EmbeddingLoadOptions,
  EmbeddingSource,
  EmbedOptions,
  EmbedResult,
} from './embedding.js';
export { EmbeddingRunner, EmbedErrorCode, similarity, topK } from './embedding.js';
export { HearthError, RunnerErrorCode } from './errors.js';
export type { OnnxEmbeddingSource } from './onnx.js';
export { OnnxErrorCode } from './onnx.js';
export type { GenerateOptions } from './options.js';
export type {
  Backend,
  ChatMessage,
  EngineConfig,
  EngineKind,
  FinishReason,
  GenerateTextOptions,
  GenerationResult,
  LoadOptions,
  LoadProgress,
  RunnerInfo,
  Timings,
  TokenChunk,
} from './runner.js';
export { Generation, LlamaRunner } from './runner.js';
export type { ModelSourceInput } from './source.js';
export type {
  Classification,
  ClassifyOptions,
  PromptTemplate,
  PromptVariables,
  SummarizeOptions,
} from './tasks.js';
export { definePrompt } from './tasks.js';
export type { ModelInfo, ModelSource, TokenizerInfo, TypeStats } from './types.js';
export type { SendMessageInput, TextUIPart, UIMessage } from './ui-messages.js';
export {
  messageText,
  newMessageId,
  toChatMessages,
  toUserMessage,
} from './ui-messages.js';
