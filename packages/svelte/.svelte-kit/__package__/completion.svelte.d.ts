/** `LlamaCompletion`: a streamed plain-text continuation as a runes class, shaped like the AI SDK 5 `Completion`. */
import type { GenerationResult } from '@hearth/runner';
import {
  type GenerationOptions,
  GenerationState,
  type LlamaGenerateOptions,
} from './generation.svelte.js';
/** Options of {@link LlamaCompletion}. */
export interface LlamaCompletionOptions extends GenerationOptions {
  /** Let control-token text such as `<|im_start|>` in prompts become those tokens. */
  parseSpecial?: boolean | undefined;
  /** Called when a completion is complete (also after `stop()`). */
  onFinish?:
    | ((event: { prompt: string; completion: string; result: GenerationResult }) => void)
    | undefined;
}
/** Text completion: `completion` grows token by token after `complete(prompt)`. Fields are `$state`. */
export declare class LlamaCompletion extends GenerationState {
  /** The text generated so far for the last prompt (without the prompt). */
  completion: string;
  protected readonly options: LlamaCompletionOptions;
  constructor(options?: LlamaCompletionOptions);
  /** Continues `prompt`; resolves with the completion (`undefined` after an error or a newer request). */
  complete: (prompt: string, options?: LlamaGenerateOptions) => Promise<string | undefined>;
}
//# sourceMappingURL=completion.svelte.d.ts.map
