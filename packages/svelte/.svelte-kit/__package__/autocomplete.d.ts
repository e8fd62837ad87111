/**
 * `use:llamaCompletion`: autocompletes a textarea (or text input) with the
 * model. When the user pauses typing with the caret at the end, the model
 * continues the text; the suggestion streams in as grey ghost text after the
 * caret. Tab accepts it, Escape (or typing, moving the caret, leaving the field)
 * dismisses it.
 */
import type { Action } from 'svelte/action';
import type { LlamaGenerateOptions } from './generation.svelte.js';
import type { HearthModel } from './model.svelte.js';
/** Parameters of {@link llamaCompletion}. */
export interface LlamaCompletionParams {
  /** The model that suggests (e.g. `getHearthContext()`). */
  model: HearthModel;
  /** Sampling of suggestions; default `{ temperature: 0, maxTokens: 12, stop: ['\n'] }`. */
  generateOptions?: LlamaGenerateOptions | undefined;
  /** Pause after the last keystroke before suggesting, in ms (default 300). */
  delay?: number | undefined;
  /** Shortest text (trimmed) that gets suggestions (default 3). */
  minLength?: number | undefined;
  /** Off while `false` (default on). */
  enabled?: boolean | undefined;
  /** The suggestion so far, after each streamed piece; `''` when it is dismissed or accepted. */
  onSuggestion?: ((suggestion: string) => void) | undefined;
  /** The suggestion was accepted with Tab (the field's value already includes it). */
  onAccept?: ((suggestion: string) => void) | undefined;
  /** A suggestion failed (e.g. the model failed to load); the field keeps working. */
  onError?: ((error: Error) => void) | undefined;
}
type TextField = HTMLTextAreaElement | HTMLInputElement;
/**
 * The autocomplete action. The field's value includes an accepted suggestion
 * and an `input` event is dispatched, so `bind:value` follows. While a
 * suggestion shows, the field has `data-suggestion` set to it (for styling and tests).
 */
export declare const llamaCompletion: Action<TextField, LlamaCompletionParams>;
//# sourceMappingURL=autocomplete.d.ts.map
