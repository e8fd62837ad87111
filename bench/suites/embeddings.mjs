// Suite `embeddings` for the bench orchestrator (bench/README.md): all-MiniLM-L6-v2
// sentences/s at batch 1 and 32 (128-token texts), Hearth native vs onnxruntime-node and
// Hearth wasm vs transformers.js in Chromium, one thread each. See bench/embeddings/.
import { measureEmbeddings } from '../embeddings/run.mjs';

export const name = 'embeddings';
export const description =
  'Hearth vs onnxruntime-node (native) and transformers.js (Chromium wasm): sentence embeddings';

/** @param {{ quick?: boolean, reps: number, log: (line: string) => void }} ctx */
export async function run(ctx) {
  return measureEmbeddings({ reps: ctx.quick ? 1 : ctx.reps, log: ctx.log });
}
