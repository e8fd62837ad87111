/**
 * Computes the reference every runtime is held to: the Rust CLI's greedy
 * continuation of the reference prompt (`hearth run --temperature 0 --json`),
 * once per test run, handed to the tests (Node or browser) through `inject`.
 */

import type { TestProject } from 'vitest/node';
import { modelPath, modelsDir, SMOLLM2 } from './models.js';
import { runRustCli } from './rust-cli.js';

/** The native CLI's greedy output for {@link Reference.prompt}. */
export interface Reference {
  prompt: string;
  promptTokens: number[];
  tokens: number[];
  text: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** `native`, `wasm` or `browser` (HEARTH_RUNTIME). */
    runtime: string;
    /** Where the test models are (the browser fetches them from the Vite server). */
    modelsDir: string;
    reference: Reference;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const prompt = 'The capital of France is';
  const out = await runRustCli([
    'run',
    '--model',
    modelPath(SMOLLM2),
    '--prompt',
    prompt,
    '--temperature',
    '0',
    '--max-tokens',
    '30',
    '--json',
  ]);
  const result = JSON.parse(out) as { prompt_tokens: number[]; tokens: number[]; text: string };
  project.provide('reference', {
    prompt,
    promptTokens: result.prompt_tokens,
    tokens: result.tokens,
    text: result.text,
  });
  project.provide('modelsDir', modelsDir);
}
