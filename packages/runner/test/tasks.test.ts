// Task APIs on SmolLM2-135M-Instruct: definePrompt (typed variables), summarize and classify
// (constrained label choice), under HEARTH_RUNTIME=native and wasm.
import { definePrompt, HearthError, LlamaRunner } from '@hearth/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelPath, SMOLLM2 } from './models.js';

const RUNTIME = process.env.HEARTH_RUNTIME === 'wasm' ? 'wasm' : 'native';

async function rejection(f: () => unknown): Promise<HearthError> {
  let error: unknown;
  try {
    await f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HearthError);
  return error as HearthError;
}

describe('definePrompt', () => {
  it('renders typed variables and rejects missing or unknown ones', async () => {
    const p = definePrompt('Translate to {{language}}: {{text}} ({{language}})');
    expect(p.variables).toEqual(['language', 'text']);
    expect(p.render({ language: 'French', text: 'Hello' })).toBe(
      'Translate to French: Hello (French)',
    );
    // @ts-expect-error `text` is missing: a type error as well as a run-time one.
    expect((await rejection(() => p.render({ language: 'French' }))).code).toBe(
      'PROMPT_MISSING_VARIABLE',
    );
    // @ts-expect-error `tone` is not a variable of this prompt.
    const extra = () => p.render({ language: 'French', text: 'Hello', tone: 'formal' });
    expect((await rejection(extra)).code).toBe('PROMPT_UNKNOWN_VARIABLE');
    expect(definePrompt('no variables').render({})).toBe('no variables');
  });
});

describe(`summarize and classify on SmolLM2-135M, ${RUNTIME}`, () => {
  let runner: LlamaRunner;
  beforeAll(async () => {
    runner = await LlamaRunner.load(modelPath(SMOLLM2), { contextLength: 1024 });
  });
  afterAll(() => runner?.dispose());

  // SmolLM2-135M is a weak classifier (its sentiment answers follow the label order more than
  // the text); a clear topic is a case it gets right, so a broken constraint or label mapping
  // fails this.
  it('classifies into the right label in any label order', async () => {
    const sports =
      'The striker scored twice in the second half and the team won the championship final.';
    expect(await runner.classify(sports, ['sports', 'cooking', 'weather'])).toEqual({
      label: 'sports',
      index: 0,
    });
    expect(await runner.classify(sports, ['weather', 'cooking', 'sports'])).toEqual({
      label: 'sports',
      index: 2,
    });
  });

  it('always answers exactly one of the labels, multi-token ones too', async () => {
    const labels = ['weather forecast', 'baking recipe', 'football match report'];
    const r = await runner.classify(
      'Heavy rain and strong winds are expected tomorrow, with snow on the hills by evening.',
      labels,
    );
    expect(labels[r.index]).toBe(r.label);
  });

  it('rejects bad labels with typed errors', async () => {
    expect((await rejection(() => runner.classify('text', []))).code).toBe(
      'HEARTH_INVALID_ARGUMENT',
    );
    expect((await rejection(() => runner.classify('text', ['a', 'a']))).code).toBe(
      'HEARTH_INVALID_ARGUMENT',
    );
    expect((await rejection(() => runner.summarize('  '))).code).toBe('EMPTY_INPUT');
    expect((await rejection(() => runner.summarize('text', { maxWords: 0 }))).code).toBe(
      'INVALID_OPTION',
    );
  });

  it('summarizes a text into fewer words, mentioning its subject', async () => {
    const text =
      'The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. ' +
      'It is named after the engineer Gustave Eiffel, whose company designed and built the tower ' +
      'from 1887 to 1889. Locally nicknamed "La dame de fer", it was constructed as the centrepiece ' +
      "of the 1889 World's Fair, and to crown the centennial anniversary of the French Revolution. " +
      "Although initially criticised by some of France's leading artists and intellectuals for its " +
      'design, it has since become a global cultural icon of France and one of the most recognisable ' +
      'structures in the world.';
    const r = await runner.summarize(text, { maxWords: 20 }).result;
    expect(r.text.trim().length).toBeGreaterThan(10);
    expect(r.text.length).toBeLessThan(text.length);
    expect(r.text).toMatch(/Eiffel/);
  });
});
