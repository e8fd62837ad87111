import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$HEARTH_MODELS_DIR`, default `~/.cache/hearth/models` (filled by `scripts/fetch-models`). */
export const modelsDir =
  process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');

/** The test chat model. */
export const SMOLLM2 = join(modelsDir, 'SmolLM2-135M-Instruct.Q4_1.gguf');
