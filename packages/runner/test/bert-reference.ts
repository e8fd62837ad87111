/**
 * Reference sentence embeddings from the independent numpy BERT of
 * `core/tests/bert_reference.py` (float64 over the same SafeTensors file, mean pooling, L2
 * norm), for token ids the caller got from the runner (`EmbeddingRunner.encode`). Fails,
 * never skips, when python3/numpy are missing (`scripts/setup` installs them).
 */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../core/tests/bert_reference.py', import.meta.url));

/** Reference vectors for `ids` (each with [CLS]/[SEP], already truncated). */
export function bertReference(modelDir: string, ids: number[][]): number[][] {
  const r = spawnSync(process.env.PYTHON ?? 'python3', [SCRIPT], {
    input: JSON.stringify({ model: modelDir, ids }),
    maxBuffer: 64 << 20,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`the numpy reference failed (run scripts/setup): ${r.error ?? r.stderr}`);
  }
  return (JSON.parse(r.stdout) as { vectors: number[][] }).vectors;
}

/** Test sentences: paraphrases, unrelated ones, non-ASCII, empty, and one past 256 tokens. */
export const SENTENCES: string[] = [
  'A man is playing a guitar.',
  'Someone plays the guitar.',
  'The stock market fell sharply on Monday.',
  'How do I bake sourdough bread at home?',
  'Café prices rose 5% — naïve résumé writers beware!',
  '',
  'The quick brown fox jumps over the lazy dog while the river keeps flowing. '.repeat(25),
];

/** Index of the text longer than the model's 256-token window. */
export const LONG = 6;
