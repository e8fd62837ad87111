/**
 * Task APIs over a chat model: {@link definePrompt} (prompt templates with typed variables),
 * `summarize` and `classify` (methods of `LlamaRunner`, implemented here).
 *
 * `classify` is zero-shot classification by LLM prompting with a **constrained label
 * choice**: the model reads the text and the labels in a chat prompt, then the answer is
 * decoded greedily one token at a time with a logit bias that allows only tokens continuing
 * one of the labels' token sequences (each label as given, Capitalized and lowercase), so the
 * result is always exactly one label — the one whose tokens the model ranks highest step by
 * step (greedy over the labels' token trie; not a full log-probability sum over every label,
 * and not embedding similarity). Accuracy is the model's: a 135M model is a weak classifier.
 */

import { HearthError, RunnerErrorCode } from './errors.js';
import type { GenerateOptions } from './options.js';
import type { ChatMessage, Generation, GenerationResult } from './runner.js';

/** The `{{name}}` variables of a template string, as a union of names. */
export type PromptVariables<S extends string> = S extends `${string}{{${infer Name}}}${infer Rest}`
  ? Name | PromptVariables<Rest>
  : never;

/** A prompt template made by {@link definePrompt}. */
export interface PromptTemplate<V extends string> {
  /** The template text with `{{name}}` placeholders. */
  readonly template: string;
  /** The variable names, in order of first use. */
  readonly variables: readonly V[];
  /**
   * The text with every `{{name}}` replaced by `values[name]`.
   * @throws {HearthError} `PROMPT_MISSING_VARIABLE` / `PROMPT_UNKNOWN_VARIABLE` (checked at run
   *   time too, for callers without TypeScript).
   */
  render(values: { [K in V]: string | number }): string;
}

const PLACEHOLDER = /\{\{([^{}]+)\}\}/g;

/**
 * Defines a prompt template whose `{{variables}}` TypeScript knows from the string itself:
 *
 * ```ts
 * const ask = definePrompt('Translate to {{language}}: {{text}}');
 * ask.render({ language: 'French', text: 'Hello' }); // a missing key is a type error
 * ```
 */
export function definePrompt<const S extends string>(
  template: S,
): PromptTemplate<PromptVariables<S>> {
  if (typeof template !== 'string') {
    throw new HearthError(RunnerErrorCode.InvalidArgument, 'a prompt template must be a string');
  }
  const variables = [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string))];
  return {
    template,
    variables: variables as PromptVariables<S>[],
    render(values) {
      const given = (values ?? {}) as Record<string, unknown>;
      for (const key of Object.keys(given)) {
        if (!variables.includes(key)) {
          throw new HearthError(
            'PROMPT_UNKNOWN_VARIABLE',
            `the prompt has no variable ${JSON.stringify(key)} (it has: ${variables.join(', ')})`,
          );
        }
      }
      return template.replace(PLACEHOLDER, (_, name: string) => {
        const v = given[name];
        if (typeof v !== 'string' && typeof v !== 'number') {
          throw new HearthError(
            'PROMPT_MISSING_VARIABLE',
            `the prompt variable ${JSON.stringify(name)} needs a string or number value`,
          );
        }
        return String(v);
      });
    },
  };
}

/** Options of `LlamaRunner.summarize`. */
export interface SummarizeOptions extends GenerateOptions {
  /** Roughly how many words (default 50). */
  maxWords?: number;
  /** `paragraph` (default) or `bullets`. */
  style?: 'paragraph' | 'bullets';
}

/** Options of `LlamaRunner.classify`. */
export interface ClassifyOptions {
  /** Extra guidance for the model (what the labels mean). */
  instructions?: string;
  /** Aborts between decoding steps (rejects with `ABORTED`). */
  signal?: AbortSignal;
}

/** What `LlamaRunner.classify` returns. */
export interface Classification {
  /** The chosen label (always one of those given). */
  label: string;
  /** Its index in the labels given. */
  index: number;
}

/** The parts of `LlamaRunner` the tasks use. */
export interface TaskModel {
  chat(messages: ChatMessage[], options?: GenerateOptions): Generation;
  generateText(prompt: number[], options?: GenerateOptions): Generation;
  tokenize(
    text: string,
    options?: { addSpecial?: boolean; parseSpecial?: boolean },
  ): Promise<number[]>;
  applyChatTemplate(
    messages: ChatMessage[],
    options?: { addGenerationPrompt?: boolean },
  ): Promise<string>;
}

const summaryPrompt = definePrompt(
  'Summarize the following text in at most {{words}} words{{style}}. Reply with the summary only.\n\n{{text}}',
);

/** `LlamaRunner.summarize`. @internal */
export function summarize(model: TaskModel, text: string, options: SummarizeOptions): Generation {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new HearthError('EMPTY_INPUT', 'no text to summarize');
  }
  const { maxWords = 50, style = 'paragraph', ...generate } = options;
  if (!Number.isSafeInteger(maxWords) || maxWords < 1) {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option maxWords: ${String(maxWords)} (expected an integer >= 1)`,
    );
  }
  if (style !== 'paragraph' && style !== 'bullets') {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option style: ${JSON.stringify(style)} (expected paragraph or bullets)`,
    );
  }
  const content = summaryPrompt.render({
    words: maxWords,
    style: style === 'bullets' ? ', as a bulleted list' : '',
    text,
  });
  return model.chat([{ role: 'user', content }], {
    temperature: 0,
    maxTokens: Math.ceil(maxWords * 2) + 16,
    ...generate,
  });
}

const classifyPrompt = definePrompt(
  'Classify the text into exactly one of these categories: {{labels}}.{{instructions}}\nReply with the category only.\n\nText: {{text}}',
);

/** `LlamaRunner.classify`. @internal */
export async function classify(
  model: TaskModel,
  text: string,
  labels: string[],
  options: ClassifyOptions,
): Promise<Classification> {
  if (typeof text !== 'string') {
    throw new HearthError(RunnerErrorCode.InvalidArgument, 'text must be a string');
  }
  if (
    !Array.isArray(labels) ||
    labels.length === 0 ||
    !labels.every((l) => typeof l === 'string' && l.trim() !== '')
  ) {
    throw new HearthError(
      RunnerErrorCode.InvalidArgument,
      'labels must be a non-empty array of non-empty strings',
    );
  }
  if (new Set(labels).size !== labels.length) {
    throw new HearthError(RunnerErrorCode.InvalidArgument, 'labels must be distinct');
  }
  const content = classifyPrompt.render({
    labels: labels.join(', '),
    instructions: options.instructions ? ` ${options.instructions}` : '',
    text,
  });
  const rendered = await model.applyChatTemplate([{ role: 'user', content }], {
    addGenerationPrompt: true,
  });
  const prompt = await model.tokenize(rendered, { addSpecial: false, parseSpecial: true });
  // Each label as given, Capitalized and lowercase: models often answer "Sports" for "sports".
  const forms: { seq: number[]; label: number }[] = [];
  const key = (s: number[]) => s.join(',');
  for (const [i, l] of labels.entries()) {
    const variants = new Set([l, l.charAt(0).toUpperCase() + l.slice(1), l.toLowerCase()]);
    for (const v of variants) {
      const seq = await model.tokenize(v, { addSpecial: false });
      if (seq.length === 0) {
        throw new HearthError(RunnerErrorCode.InvalidArgument, `label ${i} has no tokens`);
      }
      if (!forms.some((f) => key(f.seq) === key(seq))) forms.push({ seq, label: i });
    }
  }
  // A label whose tokens begin another label's cannot be told apart: reject.
  for (const f of forms) {
    const clash = forms.find(
      (g) =>
        g.label !== f.label &&
        g.seq.length >= f.seq.length &&
        key(g.seq.slice(0, f.seq.length)) === key(f.seq),
    );
    if (clash) {
      throw new HearthError(
        RunnerErrorCode.InvalidArgument,
        `labels ${JSON.stringify(labels[f.label])} and ${JSON.stringify(labels[clash.label])} begin with the same tokens`,
      );
    }
  }
  const chosen: number[] = [];
  for (;;) {
    if (options.signal?.aborted) {
      throw new HearthError(RunnerErrorCode.Aborted, 'classify was aborted');
    }
    const live = forms.filter((f) => key(f.seq.slice(0, chosen.length)) === key(chosen));
    const done = live.find((f) => f.seq.length === chosen.length);
    if (done) return { label: labels[done.label] as string, index: done.label };
    const next = [...new Set(live.map((f) => f.seq[chosen.length] as number))];
    if (next.length === 1) {
      chosen.push(next[0] as number);
      continue;
    }
    const result: GenerationResult = await model.generateText([...prompt, ...chosen], {
      maxTokens: 1,
      temperature: 0,
      ignoreEos: true,
      // Large enough to outrank every other token: greedy picks among the allowed ones.
      logitBias: next.map((t) => [t, 1000] as [number, number]),
    }).result;
    const token = result.tokens[0];
    if (token === undefined || !next.includes(token)) {
      throw new HearthError(
        RunnerErrorCode.Internal,
        `constrained decoding produced token ${String(token)} outside the labels`,
      );
    }
    chosen.push(token);
  }
}
