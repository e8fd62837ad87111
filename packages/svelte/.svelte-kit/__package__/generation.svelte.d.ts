/**
 * What `LlamaChat` and `LlamaCompletion` share: the model they use, the
 * request status, and one generation in flight at a time with `stop()`.
 */
import type {
  GenerateOptions,
  Generation,
  GenerationResult,
  LlamaRunner,
  LoadProgress,
  ModelSourceInput,
  TokenChunk,
} from '@hearth/runner';
import { HearthModel, type ModelLoadOptions, type ModelStatus } from './model.svelte.js';
/**
 * A request's status, as in the AI SDK: `submitted` (sent, waiting for the
 * model or the first token), `streaming`, `ready` (idle or done; also after
 * `stop()`), `error`.
 */
export type RequestStatus = 'submitted' | 'streaming' | 'ready' | 'error';
/** Sampling and stopping options (everything of `GenerateOptions` but `signal`, which the class owns). */
export type LlamaGenerateOptions = Omit<GenerateOptions, 'signal'>;
/** Options common to `LlamaChat`, `LlamaCompletion` and `LlamaEmbedding`: which model. */
export interface ModelOptions {
  /**
   * A shared {@link HearthModel}, or a model source to load for this object
   * alone (disposed with it). Default: the model of `getHearthContext()`.
   */
  model?: HearthModel | ModelSourceInput | undefined;
  /** Load options when `model` is a source. */
  loadOptions?: ModelLoadOptions | undefined;
}
/** Options common to `LlamaChat` and `LlamaCompletion`, read when each request starts (getters work). */
export interface GenerationOptions extends ModelOptions {
  /** Sampling and stopping options of every request. */
  generateOptions?: LlamaGenerateOptions | undefined;
  /** Called for every streamed chunk (tokens, and text that may be empty). */
  onChunk?: ((chunk: TokenChunk) => void) | undefined;
  /** Called when a request fails. */
  onError?: ((error: Error) => void) | undefined;
}
/** The model given by `options` (owned: created here, disposed by `destroy`). @internal */
export declare function resolveModel(options: ModelOptions): {
  model: HearthModel;
  owned: boolean;
};
/** How a run reports to its class; no call is made once a newer run started (or after `destroy`). @internal */
export interface RunCallbacks {
  /** The first chunk arrived. */
  onStart(): void;
  /** The text so far, after each non-empty chunk. */
  onText(text: string): void;
  /** The generation ended (also after `stop()`). */
  onDone(text: string, result: GenerationResult): void;
}
/** One generation at a time over a {@link HearthModel}: status, error, last result, `stop`. */
export declare abstract class GenerationState {
  #private;
  /** `submitted` → `streaming` → `ready`, or `error`. */
  status: RequestStatus;
  /** The last request's error (a `HearthError` with a stable `code`), until the next request. */
  error: Error | undefined;
  /** The last finished request's result: tokens, finish reason, timings (`ttftMs`, `decodeTokS`). */
  result: GenerationResult | undefined;
  /** The model requests run on. */
  readonly model: HearthModel;
  protected readonly options: GenerationOptions;
  constructor(options: GenerationOptions);
  /** The model's status (`idle`, `loading`, `ready`, `error`). */
  get modelStatus(): ModelStatus;
  /** The model's last load progress event. */
  get loadProgress(): LoadProgress | undefined;
  /** Why the model failed to load. */
  get modelError(): Error | undefined;
  /** Stops the request in flight between two tokens; the text so far is kept and `status` becomes `ready`. */
  stop: () => void;
  /** Clears `error` (and an `error` status). */
  clearError: () => void;
  /**
   * Stops the request in flight and ignores its late events; disposes the
   * model if this object loaded it. Runs by itself when the component that
   * created this object is destroyed.
   */
  destroy(): void;
  /** Runs one generation (aborting the previous one); resolves when it ends, never rejects. */
  protected run(
    start: (runner: LlamaRunner, options: GenerateOptions) => Generation,
    overrides: LlamaGenerateOptions | undefined,
    callbacks: RunCallbacks,
  ): Promise<void>;
}
//# sourceMappingURL=generation.svelte.d.ts.map
