// Benchmark page: embeds the same texts with Hearth's wasm engine (EmbeddingRunner, the
// SafeTensors directory) or transformers.js (wasm backend, the int8 ONNX model from a local
// path, no hub) and reports sentences per second. Driven by embeddings/run.mjs through
// `window.benchEmbeddings(engine, texts, batch, reps)`.
import { EmbeddingRunner } from '@hearth/runner';

/** @param {() => Promise<unknown>} f @param {number} reps */
async function timeIt(f, reps) {
  const samples = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await f();
    samples.push(performance.now() - t);
  }
  return samples;
}

/**
 * @param {'hearth' | 'hearth-q8' | 'transformers.js'} engine
 * @param {string[]} texts
 * @param {number[]} batches
 * @param {number} reps
 */
async function benchEmbeddings(engine, texts, batches, reps) {
  const t0 = performance.now();
  /** @type {(batch: string[]) => Promise<unknown>} */
  let embed;
  let info = {};
  if (engine === 'transformers.js') {
    const { env, pipeline } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = '/tjs-models/';
    env.backends.onnx.wasm.wasmPaths = '/tjs-ort/';
    // One thread, as Hearth's wasm engine here: the same work per core.
    env.backends.onnx.wasm.numThreads = 1;
    const extractor = await pipeline('feature-extraction', 'all-MiniLM-L6-v2', {
      device: 'wasm',
      dtype: 'q8',
    });
    embed = (batch) => extractor(batch, { pooling: 'mean', normalize: true });
    info = { threads: env.backends.onnx.wasm.numThreads };
  } else {
    const runner = await EmbeddingRunner.load('/models/all-MiniLM-L6-v2/', {
      quantize: engine === 'hearth-q8',
    });
    embed = (batch) => runner.embed(batch, { batchSize: batch.length });
    info = runner.info();
  }
  const loadMs = performance.now() - t0;
  await embed(texts.slice(0, 2)); // warm-up
  /** @type {Record<string, number[]>} */
  const out = { load_ms: [loadMs] };
  for (const b of batches) {
    // Batch 1: 8 texts one by one; batch 32: one batch of 32 texts, `reps` times each.
    const n = b === 1 ? 8 : b;
    const ms = await timeIt(async () => {
      for (let i = 0; i < n; i += b) await embed(texts.slice(i, i + b));
    }, reps);
    out[`batch${b}_sentences_s`] = ms.map((m) => (n * 1000) / m);
  }
  return { samples: out, info, crossOriginIsolated: self.crossOriginIsolated };
}

Object.assign(window, { benchEmbeddings });
document.body.dataset.ready = 'true';
