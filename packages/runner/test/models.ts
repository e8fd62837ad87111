/** Locates Hearth's real test models (fetched by `scripts/fetch-models`). */

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$HEARTH_MODELS_DIR`, default `~/.cache/hearth/models`. */
export const modelsDir: string =
  process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');

/** The path of a model file; throws a clear message when it has not been fetched. */
export function modelPath(file: string): string {
  const path = join(modelsDir, file);
  if (!existsSync(path)) {
    throw new Error(`test model ${path} is missing: run scripts/fetch-models`);
  }
  return path;
}

export { GEMMA3, SMOLLM2 } from './model-files.js';
