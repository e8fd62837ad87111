/** File names of Hearth's test models (in `$HEARTH_MODELS_DIR`); no Node imports, so browsers can use it. */

export const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';
export const GEMMA3 = 'gemma-3-270m-q4_k_m.gguf';
