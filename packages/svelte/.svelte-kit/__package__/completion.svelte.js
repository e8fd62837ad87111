/** `LlamaCompletion`: a streamed plain-text continuation as a runes class, shaped like the AI SDK 5 `Completion`. */
import { GenerationState } from './generation.svelte.js';
/** Text completion: `completion` grows token by token after `complete(prompt)`. Fields are `$state`. */
export class LlamaCompletion extends GenerationState {
  /** The text generated so far for the last prompt (without the prompt). */
  completion = $state('');
  constructor(options = {}) {
    super(options);
  }
  /** Continues `prompt`; resolves with the completion (`undefined` after an error or a newer request). */
  complete = async (prompt, options) => {
    this.completion = '';
    let finished;
    const { parseSpecial } = this.options;
    await this.run(
      (runner, o) =>
        runner.generateText(prompt, {
          ...o,
          ...(parseSpecial !== undefined ? { parseSpecial } : {}),
        }),
      options,
      {
        onStart: () => {},
        onText: (text) => {
          this.completion = text;
        },
        onDone: (text, result) => {
          finished = text;
          this.completion = text;
          this.options.onFinish?.({ prompt, completion: text, result });
        },
      },
    );
    return finished;
  };
}
