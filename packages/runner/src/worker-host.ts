/**
 * The engine side of a runner: runs inside a Web Worker or a Node
 * `worker_threads` worker, owns the wasm model and session, and answers the
 * requests of `protocol.ts`. Generations run token by token, yielding to the
 * event loop between tokens so `cancel` requests are seen.
 *
 * @internal
 */

import type {
  ModelLoader,
  WasmEmbeddingModel,
  WasmModel,
  WasmSession,
} from '../wasm/hearth_wasm.js';
import type { Request, Response, WasmBackend, WasmEngineReport, WireError } from './protocol.js';

/** How the host answers. */
export type Post = (message: Response) => void;

/** An instantiated wasm build (both builds export the same classes) and what it is. */
export interface WasmEngineModule {
  ModelLoader: typeof ModelLoader;
  WasmEmbeddingModel: typeof WasmEmbeddingModel;
  report: WasmEngineReport;
  /** Models run on WebGPU (the chain picked it; the build has the wgpu backend). */
  gpu?: boolean;
}

/** What a load asks of the engine (hints: the host may pick fewer threads, or the CPU). */
export interface EngineWanted {
  threads?: number | undefined;
  backend?: WasmBackend | undefined;
  allowFallbackAdapter?: boolean | undefined;
}

/**
 * The GPU half of hearth-wasm (builds with the `gpu` feature; wasm/src/gpu.rs): a model
 * makes a `WasmGpuSession`, which has `WasmSession`'s members except that the calls that
 * run the model return promises. Typed here because only one of the two builds has it.
 */
interface GpuModel {
  /**
   * `cpuFallback`: a lost device moves the session to the CPU instead of failing.
   * `maxMemoryBytes`: the GPU memory budget (the first blocks that fit run on the GPU;
   * `GPU_DOES_NOT_FIT` before uploading when not one does). `gpuLayers`: blocks to place.
   */
  createGpuSession(
    nCtx: number,
    cpuFallback: boolean,
    maxMemoryBytes?: number,
    gpuLayers?: number,
  ): Promise<WasmSession>;
}
interface GpuSession {
  /** Still on the GPU (false once a lost device moved it to the CPU). */
  readonly onGpu: boolean;
  /** How many of the model's blocks run on the GPU (fewer than all: a partial offload). */
  readonly gpuLayers: number;
  /** The adapter; `features`: the optional WebGPU features the kernels use. */
  readonly adapter: { features?: string[] };
  start(prompt: Uint32Array, options: unknown): Promise<void>;
  startChat(messages: unknown, options: unknown): Promise<void>;
  next(): Promise<{ token: number | null; text: string } | undefined>;
  /** Test hook: destroys the GPU device (`GPUDevice.destroy()`), as a driver reset would lose it. */
  loseGpuDevice(): void;
}
const asGpu = (s: WasmSession) => s as unknown as GpuSession;

/** Instantiates a build once, for what the first load wants. */
export type Ready = (want: EngineWanted) => Promise<WasmEngineModule>;

/**
 * Yields to the event loop so that pending messages (cancels) are handled:
 * `setImmediate` in Node (a MessageChannel ping-pong there starves the
 * worker's parentPort), a MessageChannel message elsewhere (a macrotask
 * without setTimeout's 4 ms clamping, queued behind messages already posted).
 */
function makeYield(): () => Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  const immediate = g.setImmediate;
  if (typeof immediate === 'function') {
    return () => new Promise<void>((resolve) => immediate(resolve));
  }
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
}

/** The `code` and message of anything thrown by the wasm bindings. */
export function wireError(e: unknown, fallback = 'HEARTH_INTERNAL'): WireError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return { code, message: e.message };
    if (e instanceof WebAssembly.RuntimeError) {
      return { code: 'HEARTH_WASM_TRAP', message: `hearth-wasm trapped: ${e.message}` };
    }
    return { code: fallback, message: e.message };
  }
  return { code: fallback, message: String(e) };
}

/** Creates the request handler; `ready` instantiates the wasm module (once). */
export function createHost(post: Post, ready: Ready): (req: Request) => void {
  let loader: ModelLoader | undefined;
  let model: WasmModel | undefined;
  let session: WasmSession | undefined;
  /** The session was made on WebGPU: steps go through the async calls (the GPU is awaited). */
  let gpuSession = false;
  /** `onDeviceLost` of the load: `cpu` continues a generation on the CPU. */
  let cpuFallback = false;
  /** The load's GPU memory budget in bytes (`gpu.maxMemoryBytes`). */
  let gpuMaxMemoryBytes: number | undefined;
  /** The load's `gpu.layers`. */
  let gpuLayersAsked: number | undefined;
  /** The build the last `loadBegin` started, and whether that load insisted on WebGPU. */
  let loading: { engine: WasmEngineModule; forcedGpu: boolean } | undefined;
  let embedder: WasmEmbeddingModel | undefined;
  /** A chunk that failed (more bytes than announced): reported by `loadEnd`. */
  let pendingLoadError: unknown;
  /** Requests cancelled (possibly before they started). */
  const cancelled = new Set<number>();
  const yieldNow = makeYield();
  /** Requests run one after another; chunks are applied in order too. */
  let queue: Promise<void> = Promise.resolve();

  const fail = (id: number, e: unknown, fallback?: string) =>
    post({ type: 'error', id, error: wireError(e, fallback) });

  const needEmbedder = (): WasmEmbeddingModel => {
    if (!embedder) {
      throw Object.assign(new Error('no embedding model is loaded'), {
        code: 'HEARTH_NOT_LOADED',
      });
    }
    return embedder;
  };

  const needSession = (): [WasmModel, WasmSession] => {
    if (!model || !session) {
      throw Object.assign(new Error('no model is loaded'), { code: 'HEARTH_NOT_LOADED' });
    }
    return [model, session];
  };

  /** Tells the runner the model left the GPU (once per session). */
  let reportedFallback = false;
  const checkFallback = (id: number, s: WasmSession) => {
    if (gpuSession && !reportedFallback && !asGpu(s).onGpu) {
      reportedFallback = true;
      post({ type: 'deviceLost', id, runsOn: 'wasm-simd' });
    }
  };

  async function generate(
    id: number,
    start: (s: WasmSession) => void,
    startGpu: (s: GpuSession) => Promise<void>,
  ): Promise<void> {
    const [, s] = needSession();
    const gpu = gpuSession ? asGpu(s) : undefined;
    try {
      if (gpu) await startGpu(gpu);
      else start(s);
      checkFallback(id, s);
      // A cancel posted right behind the request (an already aborted signal)
      // arrives as the next message: take it before the first token.
      await yieldNow();
      for (;;) {
        if (cancelled.has(id)) s.cancel();
        const ev = (gpu ? await gpu.next() : s.next()) as
          | { token: number | null; text: string }
          | undefined;
        checkFallback(id, s);
        if (ev === undefined) break;
        post({ type: 'token', id, token: ev.token, text: ev.text });
        await yieldNow();
      }
      post({ type: 'done', id, value: s.result() });
    } finally {
      if (s.running) s.result();
      cancelled.delete(id);
    }
  }

  async function handle(req: Request): Promise<void> {
    switch (req.op) {
      case 'loadBegin': {
        const engine = await ready({
          threads: req.threads,
          backend: req.backend,
          allowFallbackAdapter: req.allowFallbackAdapter,
        }).catch((e: unknown) => {
          const { code, message } = wireError(e);
          if (code === 'WEBGPU_UNAVAILABLE') throw e;
          throw Object.assign(new Error(`cannot start hearth-wasm: ${message}`), {
            code: 'HEARTH_WASM_LOAD',
          });
        });
        loader?.free();
        loader = new engine.ModelLoader(req.total, req.sha256);
        loading = { engine, forcedGpu: req.backend === 'webgpu' };
        cpuFallback = req.onDeviceLost === 'cpu';
        gpuMaxMemoryBytes = req.gpuMaxMemoryBytes;
        gpuLayersAsked = req.gpuLayers;
        post({ type: 'done', id: req.id, value: engine.report });
        return;
      }
      case 'loadChunk':
        // Errors (too many bytes) surface at loadEnd: the loader is dropped here.
        try {
          loader?.push(new Uint8Array(req.chunk));
        } catch (e) {
          loader?.free();
          loader = undefined;
          pendingLoadError = e;
        }
        return;
      case 'loadEnd': {
        const l = loader;
        loader = undefined;
        if (pendingLoadError !== undefined) {
          const e = pendingLoadError;
          pendingLoadError = undefined;
          throw e;
        }
        if (!l)
          throw Object.assign(new Error('no model is being loaded'), { code: 'HEARTH_INTERNAL' });
        try {
          if (req.sha256 !== undefined) {
            post({ type: 'progress', id: req.id, stage: 'verify', done: false });
            l.verifySha256(req.sha256);
            post({ type: 'progress', id: req.id, stage: 'verify', done: true });
          }
          post({ type: 'progress', id: req.id, stage: 'parse', done: false });
          model = l.finish();
          post({ type: 'progress', id: req.id, stage: 'parse', done: true });
        } finally {
          l.free();
        }
        post({ type: 'progress', id: req.id, stage: 'init', done: false });
        // `auto` falls back to the CPU when the model cannot run on the GPU (too large for
        // its limits, a tensor type without a GPU kernel); `webgpu` reports why instead.
        let gpuFallback: WireError | undefined;
        let gpuFeatures: string[] | undefined;
        let gpuLayers: number | undefined;
        session = undefined;
        gpuSession = false;
        reportedFallback = false;
        if (loading?.engine.gpu) {
          try {
            session = await (model as unknown as GpuModel).createGpuSession(
              req.contextLength,
              cpuFallback,
              gpuMaxMemoryBytes,
              gpuLayersAsked,
            );
            gpuSession = true;
            gpuFeatures = asGpu(session).adapter.features ?? [];
            gpuLayers = asGpu(session).gpuLayers;
          } catch (e) {
            if (loading.forcedGpu) throw e;
            gpuFallback = wireError(e);
          }
        }
        session ??= model.createSession(req.contextLength);
        post({ type: 'progress', id: req.id, stage: 'init', done: true });
        post({
          type: 'done',
          id: req.id,
          value: {
            ...model.info(),
            contextLength: session.nCtx,
            gpuFallback,
            gpuFeatures,
            gpuLayers,
          },
        });
        return;
      }
      case 'generate': {
        const [m] = needSession();
        const prompt =
          typeof req.prompt === 'string'
            ? m.tokenize(req.prompt, true, false)
            : Uint32Array.from(req.prompt);
        await generate(
          req.id,
          (s) => s.start(prompt, req.options),
          (s) => s.start(prompt, req.options),
        );
        return;
      }
      case 'chat':
        await generate(
          req.id,
          (s) => s.startChat(req.messages, req.options),
          (s) => s.startChat(req.messages, req.options),
        );
        return;
      case 'tokenize': {
        const [m] = needSession();
        const ids = m.tokenize(req.text, req.addSpecial, req.parseSpecial);
        post({ type: 'done', id: req.id, value: Array.from(ids) });
        return;
      }
      case 'detokenize': {
        const [m] = needSession();
        post({
          type: 'done',
          id: req.id,
          value: m.detokenize(Uint32Array.from(req.ids), req.skipSpecial),
        });
        return;
      }
      case 'applyChatTemplate': {
        const [m] = needSession();
        const text = m.applyChatTemplate(req.messages, req.addGenerationPrompt);
        post({ type: 'done', id: req.id, value: text });
        return;
      }
      case 'reset':
        needSession()[1].reset();
        post({ type: 'done', id: req.id, value: null });
        return;
      case 'embedLoadGguf':
      case 'embedLoad': {
        const engine = await ready({ backend: 'wasm' }).catch((e: unknown) => {
          const { message } = wireError(e);
          throw Object.assign(new Error(`cannot start hearth-wasm: ${message}`), {
            code: 'HEARTH_WASM_LOAD',
          });
        });
        embedder?.free();
        embedder = undefined;
        if (req.op === 'embedLoadGguf') {
          embedder = engine.WasmEmbeddingModel.fromGguf(new Uint8Array(req.bytes), req.quantize);
          post({ type: 'done', id: req.id, value: embedder.info() });
          return;
        }
        const f = req.files;
        const bytes = (b: ArrayBuffer | undefined) => (b ? new Uint8Array(b) : undefined);
        embedder = new engine.WasmEmbeddingModel(
          new Uint8Array(f.config),
          new Uint8Array(f.tokenizer),
          new Uint8Array(f.weights),
          bytes(f.pooling),
          bytes(f.sentenceConfig),
          bytes(f.modules),
          req.quantize,
        );
        post({ type: 'done', id: req.id, value: embedder.info() });
        return;
      }
      case 'embed': {
        const truncated: boolean[] = [];
        const vectors = needEmbedder().embed(req.texts, req.normalize, req.batchSize, truncated);
        const dims = vectors.length / req.texts.length;
        post({ type: 'done', id: req.id, value: { vectors, dims, truncated } });
        return;
      }
      case 'embedEncode':
        post({ type: 'done', id: req.id, value: needEmbedder().encode(req.text) });
        return;
      case 'embedLoadDir':
        throw Object.assign(new Error('the wasm engine cannot read directories'), {
          code: 'HEARTH_INTERNAL',
        });
      case 'cancel':
      case 'loseGpuDevice':
        return;
    }
  }

  return (req: Request) => {
    // Cancels act at once, even while a generation is running.
    if (req.op === 'cancel') {
      cancelled.add(req.target);
      return;
    }
    // So does the test hook that loses the GPU device (between two tokens).
    if (req.op === 'loseGpuDevice') {
      try {
        if (!session || !gpuSession) throw new Error('the model is not on the GPU');
        asGpu(session).loseGpuDevice();
        post({ type: 'done', id: req.id, value: null });
      } catch (e) {
        fail(req.id, e);
      }
      return;
    }
    // Tokenizer requests only need the model (loaded before the runner exists), not the session.
    if (req.op === 'tokenize' || req.op === 'detokenize' || req.op === 'applyChatTemplate') {
      handle(req).catch((e: unknown) => fail(req.id, e));
      return;
    }
    queue = queue.then(() =>
      handle(req).catch((e: unknown) => {
        if ('id' in req) fail(req.id, e);
      }),
    );
  };
}
