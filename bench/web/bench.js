// The browser half of the wasm suite: `window.bench(spec)` measures one engine
// (Hearth's @hearth/runner or @wllama/wllama) on one model with the protocol of
// the native bench (bench/native): load, untimed warm-up, then per repetition
// a 64-token prompt (TTFT, prefill) continued by 128 greedy decode steps, and a
// 512-token prompt from an empty cache. Times are taken here, in the page, with
// performance.now(), so both engines pay their own worker round trips.
// Each engine's module is imported only when measured, so one engine's
// missing build does not stop the other's measurement.

const now = () => performance.now();

/**
 * @typedef {{ ids: number[], text: string }} Prompt
 * @typedef {{ engine: 'hearth' | 'wllama', modelUrl: string, threads: number, reps: number,
 *   tokens: Record<string, Prompt>, prompts: number[], decode: number,
 *   backend?: 'wasm' | 'webgpu' }} Spec
 * `backend` (Hearth only; the webgpu suite): the runner's `backend` option, so Hearth runs
 * on WebGPU (any adapter, software ones included) or on the wasm CPU engine.
 * @typedef {{ load(): Promise<void>,
 *   stream(prompt: Prompt, n: number, onToken: () => void): Promise<number>,
 *   reset(): Promise<void>, close(): Promise<void>, threads(): number | null, internal(): unknown,
 *   gpu?(): { adapter: unknown, runsOn: unknown } }} Engine
 * `stream` generates `n` tokens after `prompt` and resolves with the prompt's token count
 * as the engine evaluated it.
 */

/** @param {Spec} spec @returns {Engine} */
function hearth(spec) {
  /** @type {import('@hearth/runner').LlamaRunner | undefined} */
  let runner;
  /** @type {unknown} */
  let last;
  return {
    async load() {
      // `threads` picks the wasm build where the runner has a threaded one (1: the
      // single-threaded build; left out, the runner would use every core).
      /** @type {any} */
      const options = {
        contextLength: 1024,
        threads: spec.threads,
        ...(spec.backend ? { backend: spec.backend } : {}),
      };
      const { LlamaRunner } = await import('@hearth/runner');
      runner = await LlamaRunner.load(spec.modelUrl, options);
    },
    async stream(prompt, n, onToken) {
      if (!runner) throw new Error('not loaded');
      const gen = runner.generateText(prompt.ids, {
        maxTokens: n,
        temperature: 0,
        ignoreEos: true,
      });
      for await (const chunk of gen) if (chunk.token !== null) onToken();
      const r = await gen.result;
      last = r.timings;
      return r.promptTokens.length;
    },
    async reset() {
      await runner?.reset();
    },
    async close() {
      runner?.dispose();
    },
    threads() {
      // Runners with the threaded build report the engine's thread count; older ones
      // have the single-threaded build only.
      const caps = /** @type {any} */ (runner?.capabilities());
      const n = caps?.engineThreads ?? caps?.wasm?.threadCount;
      return typeof n === 'number' ? n : 1;
    },
    internal() {
      return last;
    },
    gpu() {
      // The WebGPU adapter (GPUAdapterInfo, fallback flag) and the layer the model runs on.
      const caps = /** @type {any} */ (runner?.capabilities());
      return { adapter: caps?.webgpuAdapter ?? null, runsOn: caps?.runsOn ?? null };
    },
  };
}

/** @param {Spec} spec @returns {Engine} */
function wllama(spec) {
  /** @type {import('@wllama/wllama').Wllama | undefined} */
  let w;
  /** @type {unknown} */
  let last;
  return {
    async load() {
      const { Wllama } = await import('@wllama/wllama');
      w = new Wllama({ default: '/wllama/esm/wasm/wllama.wasm' }, { suppressNativeLog: true });
      const blob = await (await fetch(spec.modelUrl)).blob();
      await w.loadModel([blob], {
        n_ctx: 1024,
        n_batch: 512,
        n_threads: spec.threads,
        n_gpu_layers: 0,
        n_parallel: 1,
      });
    },
    async stream(prompt, n, onToken) {
      if (!w) throw new Error('not loaded');
      let seen = 0;
      /** @type {any} */
      let timings;
      await w.createCompletion({
        // wllama 3 rejects token-id prompts: the text of the same ids, which its
        // tokenizer (llama.cpp's, the same as Hearth's) turns back into them; the
        // prompt length it reports is checked by the caller.
        prompt: prompt.text,
        max_tokens: n,
        temperature: 0,
        ignore_eos: true,
        cache_prompt: false,
        stream: true,
        onData: (/** @type {any} */ chunk) => {
          if (chunk.timings) timings = chunk.timings;
          // One chunk per token; the last one may only carry timings.
          if (chunk.choices?.length && seen < n) {
            seen++;
            onToken();
          }
        },
      });
      last = timings;
      return Number(timings?.prompt_n ?? Number.NaN);
    },
    async reset() {},
    async close() {
      await w?.exit();
    },
    threads() {
      return w ? w.getNumThreads() : null;
    },
    internal() {
      return last;
    },
  };
}

/** Both engines must have evaluated the same prompt length (BOS included). */
function checkLength(
  /** @type {Spec} */ spec,
  /** @type {number} */ want,
  /** @type {number} */ got,
) {
  if (got !== want)
    throw new Error(`${spec.engine} evaluated a ${got}-token prompt, expected ${want}`);
}

/** @param {Spec} spec */
async function bench(spec) {
  const e = spec.engine === 'hearth' ? hearth(spec) : wllama(spec);
  const [first, ...rest] = spec.prompts;
  /** @type {Record<string, number[]>} */
  const s = { load_ms: [], ttft_ms: [], decode_tok_s: [] };
  for (const n of spec.prompts) s[`pp${n}_tok_s`] = [];
  /** @type {unknown[]} */
  const internal = [];
  let threads = null;
  /** @type {{ adapter: unknown, runsOn: unknown } | null} */
  let gpu = null;
  for (let rep = 0; rep < spec.reps; rep++) {
    let t = now();
    await e.load();
    s.load_ms.push(now() - t);
    threads = e.threads();
    gpu = e.gpu?.() ?? null;
    await e.stream(spec.tokens['16'], 2, () => {});
    await e.reset();

    /** @type {number[]} */
    const stamps = [];
    t = now();
    const n1 = await e.stream(spec.tokens[String(first)], spec.decode + 1, () =>
      stamps.push(now()),
    );
    checkLength(spec, first, n1);
    if (stamps.length !== spec.decode + 1) {
      throw new Error(
        `${spec.engine} streamed ${stamps.length} tokens, expected ${spec.decode + 1}`,
      );
    }
    const ttft = stamps[0] - t;
    s.ttft_ms.push(ttft);
    s[`pp${first}_tok_s`].push(first / (ttft / 1e3));
    s.decode_tok_s.push(spec.decode / ((stamps[spec.decode] - stamps[0]) / 1e3));
    internal.push(e.internal());
    for (const n of rest) {
      await e.reset();
      t = now();
      const got = await e.stream(spec.tokens[String(n)], 1, () => {});
      s[`pp${n}_tok_s`].push(n / ((now() - t) / 1e3));
      checkLength(spec, n, got);
    }
    await e.close();
  }
  return {
    samples: s,
    threads,
    gpu,
    internal,
    crossOriginIsolated: globalThis.crossOriginIsolated,
  };
}

Object.assign(globalThis, { bench });
document.querySelector('#status').textContent = 'ready';
