#!/usr/bin/env node
// Streams a local model's answer to stdout with @hearth/runner.
//
//   node index.mjs "What is the capital of France?"      chat (the model's template)
//   node index.mjs --complete "The capital of France is"  plain continuation
//
// HEARTH_MODEL: the GGUF file (default: SmolLM2-135M-Instruct.Q4_1.gguf in
// $HEARTH_MODELS_DIR or ~/.cache/hearth/models); HEARTH_BACKEND: auto (default),
// hearth, llama.cpp or wasm.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LlamaRunner } from '@hearth/runner';

const args = process.argv.slice(2);
const complete = args[0] === '--complete';
const prompt = (complete ? args.slice(1) : args).join(' ') || 'What is the capital of France?';
const model =
  process.env.HEARTH_MODEL ??
  join(
    process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models'),
    'SmolLM2-135M-Instruct.Q4_1.gguf',
  );

const runner = await LlamaRunner.load(model, { backend: process.env.HEARTH_BACKEND ?? 'auto' });
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
const options = { temperature: 0, maxTokens: 64, signal: controller.signal };
const generation = complete
  ? runner.generateText(prompt, options)
  : runner.chat([{ role: 'user', content: prompt }], options);
for await (const { text } of generation) process.stdout.write(text);
const { finishReason, timings } = await generation.result;
process.stdout.write('\n');
console.error(
  `[${runner.info().backend}] ${timings.generatedTokens} tokens (${finishReason}), ${timings.decodeTokS.toFixed(1)} tok/s`,
);
runner.dispose();
