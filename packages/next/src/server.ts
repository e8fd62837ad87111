/**
 * `@hearth/next`: Hearth on the server side of the Next.js App Router, on
 * the Node.js runtime only (not Edge: the model runs in a native addon).
 *
 * - {@link createChatRoute}: OpenAI-compatible chat-completions handlers (SSE or JSON);
 * - {@link sharedModel}: one loaded model per process, surviving hot reloads;
 * - {@link createModelFilesHandler}: model files for runners in the browser, with Range
 *   (a Node handler, for a Pages Router API route).
 *
 * `@hearth/next/config` has `withHearth` for `next.config`; `@hearth/next/client`
 * has `streamChat` for the browser.
 *
 * @module
 */

export { type ChatRoute, type ChatRouteOptions, createChatRoute } from './chat-route.js';
export {
  disposeSharedModels,
  type SharedModelOptions,
  type SharedModelSource,
  sharedModel,
} from './model.js';
export {
  createModelFilesHandler,
  type ModelFilesHandler,
  type ModelFilesOptions,
} from './model-files.js';
export {
  ChatRequestError,
  type OpenAIErrorBody,
  type ParsedChatRequest,
  parseChatRequest,
} from './openai.js';
export { assertNodeRuntime } from './runtime.js';
