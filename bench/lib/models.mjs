/**
 * The bench models: two from `$HEARTH_MODELS_DIR` (scripts/fetch-models) and two
 * requantized from SmolLM2 at bench time with llama.cpp's `llama_model_quantize`
 * (through `hearth-bench quantize`), cached in ~/.cache/hearth/bench-models.
 */

import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { exec } from './stats.mjs';

export const modelsDir =
  process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');
export const benchModelsDir = join(homedir(), '.cache', 'hearth', 'bench-models');

/** @typedef {{ id: string, label: string, path: string, from?: string, quant?: string }} BenchModel */

/** @type {BenchModel[]} */
export const MODELS = [
  {
    id: 'smollm2-135m-q4_1',
    label: 'SmolLM2-135M Q4_1',
    path: join(modelsDir, 'SmolLM2-135M-Instruct.Q4_1.gguf'),
  },
  {
    id: 'smollm2-135m-q8_0',
    label: 'SmolLM2-135M Q8_0',
    path: join(benchModelsDir, 'SmolLM2-135M-Instruct.Q8_0.gguf'),
    from: 'smollm2-135m-q4_1',
    quant: 'q8_0',
  },
  {
    id: 'smollm2-135m-q4_0',
    label: 'SmolLM2-135M Q4_0',
    path: join(benchModelsDir, 'SmolLM2-135M-Instruct.Q4_0.gguf'),
    from: 'smollm2-135m-q4_1',
    quant: 'q4_0',
  },
  {
    id: 'gemma3-270m-q4_k_m',
    label: 'Gemma-3-270M Q4_K_M',
    path: join(modelsDir, 'gemma-3-270m-q4_k_m.gguf'),
  },
];

/**
 * Makes sure every model file exists: requantizes the derived ones once.
 * @param {BenchModel[]} models
 * @param {string} hearthBench path of the `hearth-bench` binary
 * @param {(msg: string) => void} log
 */
export async function prepareModels(models, hearthBench, log) {
  for (const m of models) {
    if (existsSync(m.path)) continue;
    const src = MODELS.find((x) => x.id === m.from);
    if (!src || !m.quant) {
      throw new Error(`missing model ${m.path}: run scripts/fetch-models (HEARTH_MODELS_DIR)`);
    }
    if (!existsSync(src.path))
      throw new Error(`missing model ${src.path}: run scripts/fetch-models`);
    mkdirSync(benchModelsDir, { recursive: true });
    log(`requantizing ${src.label} to ${m.quant} with llama.cpp → ${m.path}`);
    const tmp = `${m.path}.part`;
    await exec(hearthBench, ['quantize', '--input', src.path, '--output', tmp, '--type', m.quant]);
    renameSync(tmp, m.path);
  }
}
