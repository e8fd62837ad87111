/**
 * Starts the threaded wasm build's rayon pool threads (`worker-pool.ts`).
 *
 * wasm-bindgen-rayon's `initThreadPool` calls its JS helper's `startWorkers`;
 * `wasm/build-threads` replaces that helper with one that calls the function
 * registered here. Its own helper started workers from `import.meta.url` and
 * imported the glue back by URL (`import(mainJS)`), which bundlers cannot
 * follow (Vite renames the glue's exports, Turbopack rewrites `import.meta.url`
 * to a file path); `new Worker(new URL('./worker-pool.js', import.meta.url))`
 * here is the form every bundler recognises and bundles.
 *
 * @internal
 * @module
 */

/** The engine worker's message to a pool thread: what to instantiate and rayon's channel. */
export interface PoolThreadInit {
  type: 'hearth-pool-init';
  /** The compiled threaded build (the same module the engine worker runs). */
  module: WebAssembly.Module;
  /** The shared memory of every thread. */
  memory: WebAssembly.Memory;
  /** The pool builder's channel of rayon threads (a pointer into the shared memory). */
  receiver: number;
}

/** A pool thread's answer: started, or why not. */
export type PoolThreadReport =
  | { type: 'hearth-pool-ready' }
  | { type: 'hearth-pool-error'; message: string };

/** wasm-bindgen-rayon's `wbg_rayon_PoolBuilder`, as its helper receives it. */
interface PoolBuilder {
  numThreads(): number;
  receiver(): number;
  build(): void;
}

/** The key `wasm/build-threads`' helper looks the starter up under. */
const START_POOL = Symbol.for('hearth.startPoolWorkers');

/**
 * Kept so the pool threads stay referenced (Firefox collects workers that share
 * wasm memory but are not rooted: bugzilla 1702191, as wasm-bindgen-rayon notes).
 */
const poolThreads: Worker[] = [];

/** Starts one pool thread and waits until it runs the module, or rejects with why it does not. */
function startThread(init: PoolThreadInit): Promise<Worker> {
  const worker = new Worker(new URL('./worker-pool.js', import.meta.url), { type: 'module' });
  return new Promise<Worker>((resolve, reject) => {
    // Only the start is watched: a thread that runs is left alone, whatever it reports later.
    let started = false;
    const fail = (message: string) => {
      if (started) return;
      worker.terminate();
      reject(new Error(`a thread pool worker failed to start: ${message}`));
    };
    worker.addEventListener('message', ({ data }: MessageEvent<PoolThreadReport>) => {
      if (data?.type === 'hearth-pool-ready') {
        started = true;
        resolve(worker);
      } else if (data?.type === 'hearth-pool-error') fail(data.message);
    });
    // A module that does not load (a network error, a syntax error) fires `error`, not a message.
    worker.addEventListener('error', (e) => fail(e.message || 'the worker module did not load'));
    worker.postMessage(init);
  });
}

/** Starts `builder.numThreads()` pool threads over `module` and `memory`, then builds rayon's pool. */
async function startPoolWorkers(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  builder: PoolBuilder,
): Promise<void> {
  const count = builder.numThreads();
  if (count === 0) throw new Error('a thread pool needs at least one thread');
  const init: PoolThreadInit = {
    type: 'hearth-pool-init',
    module,
    memory,
    receiver: builder.receiver(),
  };
  const started = await Promise.allSettled(Array.from({ length: count }, () => startThread(init)));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    for (const r of started) if (r.status === 'fulfilled') r.value.terminate();
    throw failed.reason;
  }
  for (const r of started) if (r.status === 'fulfilled') poolThreads.push(r.value);
  builder.build();
}

/** Makes `initThreadPool` start its threads through {@link startPoolWorkers}; call before it. */
export function registerThreadPool(): void {
  (globalThis as Record<symbol, unknown>)[START_POOL] = startPoolWorkers;
}
