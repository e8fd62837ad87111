/**
 * `LlamaRunner`: a model loaded into an engine worker, with text generation,
 * chat, tokenization and streaming. Platform-neutral: `index.ts` (browsers)
 * and `node.ts` (Node) register how a worker is started.
 */

import { type CacheOption, checkCacheOption, openModelSource } from './cache/open.js';
import { type Capabilities, capabilities, type WasmEngine } from './capabilities.js';
import type { ChainLayer } from './chain.js';
import { WorkerClient } from './client.js';
import { HearthError, RunnerErrorCode, toHearthError } from './errors.js';
import { type GenerateOptions, toEngineOptions } from './options.js';
import type {
  Backend,
  EngineKind,
  GpuLoadOptions,
  NativeDevice,
  NativeDeviceReport,
  Request,
  WasmBackend,
  WasmEngineReport,
  WireMessage,
  WorkerPort,
} from './protocol.js';
import { type ModelSourceInput, type OpenedSource, throwIfAborted } from './source.js';
import {
  type Classification,
  type ClassifyOptions,
  classify,
  type SummarizeOptions,
  summarize,
} from './tasks.js';
import type { ModelInfo } from './types.js';

export type { Backend, EngineKind } from './protocol.js';

let spawnWorker: ((backend: Backend) => WorkerPort) | undefined;

/** Registers how engines are started for a backend (done by the package's entry modules). @internal */
export function setWorkerFactory(spawn: (backend: Backend) => WorkerPort): void {
  spawnWorker = spawn;
}

/** Local files (Node): which sources are paths, and how to stream one to a wasm engine. @internal */
export interface LocalFiles {
  /** The file path `source` names, or `undefined` when it is not a local file. */
  pathOf(source: ModelSourceInput): string | undefined;
  /** Opens a file as chunks (for engines that cannot memory-map it). */
  open(path: string, signal: AbortSignal | undefined): Promise<OpenedSource>;
  /** Whether `path` is a directory (embedding model directories). */
  isDirectory?(path: string): Promise<boolean>;
}

let localFiles: LocalFiles | undefined;

/** Registers local file support (Node). @internal */
export function setLocalFiles(files: LocalFiles): void {
  localFiles = files;
}

/** The registered worker factory and local file support (for `EmbeddingRunner`). @internal */
export function platform(): {
  spawn: ((backend: Backend) => WorkerPort) | undefined;
  files: LocalFiles | undefined;
} {
  return { spawn: spawnWorker, files: localFiles };
}

const BACKENDS: readonly Backend[] = ['auto', 'hearth', 'llama.cpp', 'wasm', 'webgpu'];

/** A step of model loading. */
export interface LoadProgress {
  /**
   * `download`: bytes read from the source into the engine (`loaded` of
   * `total` bytes; `total` is `undefined` when the server sends no length);
   * `verify` (SHA-256, when one was given), `parse` (header, weights,
   * tokenizer) and `init` (session): `loaded` goes from 0 to `total` = 1.
   * `cache-read`: bytes read from the model cache instead of downloaded.
   */
  stage: 'download' | 'cache-read' | 'verify' | 'parse' | 'init';
  loaded: number;
  total: number | undefined;
}

/** Options of {@link LlamaRunner.load}. */
export interface LoadOptions {
  /** Called as loading advances (download chunks, then each later stage's start and end). */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts the download or load; the promise rejects with code `ABORTED`. */
  signal?: AbortSignal;
  /** Context window in tokens (default: the model's training context). The KV cache grows as used. */
  contextLength?: number;
  /**
   * Which engine runs the model (default `auto`). In Node, `auto` is the
   * native addon (`@hearth/node`) running hearth-core, or the wasm engine in
   * a worker thread when the addon cannot be loaded (with a one-line notice;
   * `HEARTH_RUNTIME=wasm|native` forces one). `hearth` and `llama.cpp` need
   * the native addon; `wasm` is hearth-core compiled to WebAssembly on the CPU.
   * In browsers, `auto` walks the chain WebGPU → threaded wasm → single-threaded
   * wasm (`runner.capabilities().chain` says why a layer was skipped) and
   * `webgpu` insists on WebGPU (any adapter, software ones included), failing
   * with `WEBGPU_UNAVAILABLE` where there is none.
   */
  backend?: Backend;
  /**
   * `auto` (browsers) and `device: 'auto'` (Node): also use a software fallback adapter such as
   * SwiftShader or lavapipe (default false).
   */
  allowFallbackAdapter?: boolean;
  /**
   * What a lost GPU device does to a generation on WebGPU: `error` (default) rejects it
   * with `GPU_DEVICE_LOST`; `cpu` moves the model to the wasm CPU engine in the same
   * worker and continues the generation there (`capabilities().runsOn` becomes `wasm-simd`).
   */
  onDeviceLost?: 'error' | 'cpu';
  /**
   * Browsers, WebGPU: `maxMemoryBytes` is the GPU memory the weights, KV cache and scratch
   * may take. WebGPU cannot say how much memory is free, so this is checked before anything
   * is uploaded: a model needing more runs its first blocks on the GPU, as many as fit, and
   * the rest on the wasm CPU engine (a partial offload; `capabilities().gpuLayers` says how
   * many). When not even one block fits, `auto` runs on the wasm CPU engine (the reason, with
   * both numbers, in `capabilities().chain`) and `webgpu` fails with `GPU_DOES_NOT_FIT`.
   * `layers` fixes how many of the first blocks run on the GPU (default: as many as fit).
   */
  gpu?: { maxMemoryBytes?: number; layers?: number };
  /**
   * Node, native addon (`hearth` engine): where hearth-core runs the model. `auto` (default)
   * takes the GPU — wgpu on Vulkan, Metal or DX12 — when a hardware adapter exists (a software
   * one such as lavapipe only with `allowFallbackAdapter`) and at least one block fits
   * `gpu.maxMemoryBytes`, else the CPU; `cpu` never probes a GPU; `gpu` takes any adapter and
   * fails with `GPU_*` codes (`GPU_NO_ADAPTER`, `GPU_DOES_NOT_FIT`) when it cannot run there.
   * `gpu.layers` and `gpu.maxMemoryBytes` place blocks as in browsers. `capabilities().native`
   * says where the model runs. Browsers choose with `backend` and ignore this.
   */
  device?: NativeDevice;
  /**
   * Where URL sources are cached (default `indexeddb` in browsers, `fs` in
   * Node; `none` turns caching off). Blobs, bytes and file paths are never
   * cached. See {@link ModelCache}.
   */
  cache?: CacheOption;
  /**
   * Threads for the wasm engine in browsers (default: the logical cores, at
   * most 8). More than 1 runs the threaded build when the page is
   * cross-origin isolated (COOP/COEP), else the single-threaded build with a
   * one-time console notice; `1` always runs the single-threaded build.
   * `runner.capabilities().wasm` tells which build runs. Ignored in Node.
   */
  threads?: number;
}

/** Checks `allowFallbackAdapter`, `onDeviceLost`, `gpu` and `device`, keeping only the ones given. */
function checkGpuOptions(options: LoadOptions): GpuLoadOptions {
  const { allowFallbackAdapter, onDeviceLost, gpu, device } = options;
  if (device !== undefined && device !== 'auto' && device !== 'cpu' && device !== 'gpu') {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option device: ${JSON.stringify(device)} (expected auto, cpu or gpu)`,
    );
  }
  const maxMemoryBytes = gpu?.maxMemoryBytes;
  if (
    (gpu !== undefined && (typeof gpu !== 'object' || gpu === null)) ||
    (maxMemoryBytes !== undefined && !(Number.isSafeInteger(maxMemoryBytes) && maxMemoryBytes > 0))
  ) {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option gpu.maxMemoryBytes: ${String(maxMemoryBytes ?? gpu)} (expected an integer > 0)`,
    );
  }
  const layers = gpu?.layers;
  if (layers !== undefined && !(Number.isSafeInteger(layers) && layers > 0)) {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option gpu.layers: ${String(layers)} (expected an integer > 0)`,
    );
  }
  if (allowFallbackAdapter !== undefined && typeof allowFallbackAdapter !== 'boolean') {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option allowFallbackAdapter: ${String(allowFallbackAdapter)} (expected a boolean)`,
    );
  }
  if (onDeviceLost !== undefined && onDeviceLost !== 'error' && onDeviceLost !== 'cpu') {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option onDeviceLost: ${JSON.stringify(onDeviceLost)} (expected error or cpu)`,
    );
  }
  return {
    ...(allowFallbackAdapter !== undefined ? { allowFallbackAdapter } : {}),
    ...(onDeviceLost !== undefined ? { onDeviceLost } : {}),
    ...(maxMemoryBytes !== undefined ? { gpuMaxMemoryBytes: maxMemoryBytes } : {}),
    ...(layers !== undefined ? { gpuLayers: layers } : {}),
    ...(device !== undefined ? { device } : {}),
  };
}

/** Notices already logged (once per page, not once per runner). */
const noticed = new Set<string>();

/** One streamed step: a generated token and the text it completes. */
export interface TokenChunk {
  /** The token id; `null` for a final chunk that releases held-back text. */
  token: number | null;
  /** New text (may be empty while a UTF-8 character or a stop string is incomplete). */
  text: string;
}

/** Why a generation ended. */
export type FinishReason = 'stop' | 'length' | 'context_full' | 'cancelled';

/** Timings of one generation (milliseconds, tokens per second). */
export interface Timings {
  loadMs: number;
  promptTokens: number;
  /** Prompt tokens found in the KV cache (earlier turns) and not evaluated again. */
  reusedTokens: number;
  promptMs: number;
  prefillTokS: number;
  /** From the request reaching the engine to the first token. */
  ttftMs: number;
  generatedTokens: number;
  decodeMs: number;
  /** Generated tokens per second after the first. */
  decodeTokS: number;
  kvCacheBytes: number;
}

/** The outcome of a generation. */
export interface GenerationResult {
  text: string;
  tokens: number[];
  promptTokens: number[];
  finishReason: FinishReason;
  timings: Timings;
}

/** A chat message; roles are those the model's template knows (`system`, `user`, `assistant` …). */
export interface ChatMessage {
  role: string;
  content: string;
}

/** The engine's view of a loaded model. */
export interface EngineConfig {
  architecture: string;
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nFf: number;
  nCtxTrain: number;
  slidingWindow: number | null;
  bosTokenId: number | null;
  eosTokenId: number | null;
  hasChatTemplate: boolean;
  loadMs: number;
}

/** What {@link LlamaRunner.info} returns. */
export interface RunnerInfo {
  /** The GGUF summary (the same object as `readModelInfo`). */
  model: ModelInfo;
  config: EngineConfig;
  /** The session's context window in tokens. */
  contextLength: number;
  /** The engine running the model. */
  backend: EngineKind;
  /** Where the model came from (`name`, `license` as given to `load`). */
  source: { label: string; name?: string; license?: string };
}

/** What an engine answers to a load. */
interface LoadedInfo {
  summary: ModelInfo;
  config: EngineConfig;
  contextLength: number;
  /** `auto` picked WebGPU but the model could not be placed there: why (it runs on the CPU). */
  gpuFallback?: { code: string; message: string };
  /** On WebGPU: the optional features its kernels use (`shader-f16`, `subgroups`). */
  gpuFeatures?: string[];
  /** On WebGPU: how many of the model's blocks run there. */
  gpuLayers?: number;
  /** Native engines: where the session runs. */
  native?: NativeDeviceReport;
}

/** Test hook (Playwright): destroys a WebGPU runner's device between two tokens. @internal */
export const LOSE_GPU_DEVICE: unique symbol = Symbol.for('hearth.loseGpuDevice');

/** Options of {@link LlamaRunner.generateText}. */
export interface GenerateTextOptions extends GenerateOptions {
  /** Let control-token text such as `<|im_start|>` in the prompt become those tokens (default false). */
  parseSpecial?: boolean;
}

/**
 * A running generation: iterate it (`for await`) for {@link TokenChunk}s, or
 * await {@link Generation.result}. Chunks are buffered, so iterating late (or
 * twice) still sees every chunk from the start. Once its signal aborts, no
 * further chunk is added, even one the engine made before it saw the cancel, and
 * `result` (`finishReason: 'cancelled'`) holds exactly the streamed tokens and text.
 */
export class Generation implements AsyncIterable<TokenChunk> {
  /** Resolves when the generation ends (also after a cancel), rejects on errors. */
  readonly result: Promise<GenerationResult>;
  #chunks: TokenChunk[] = [];
  #ended = false;
  #error: unknown;
  #wake: (() => void)[] = [];

  /** @internal */
  constructor(
    run: (push: (chunk: TokenChunk) => void) => Promise<GenerationResult>,
    signal?: AbortSignal,
  ) {
    this.result = run((chunk) => {
      if (signal?.aborted) return;
      this.#chunks.push(chunk);
      this.#notify();
    }).then(
      (r) => {
        this.#ended = true;
        this.#notify();
        return r.finishReason === 'cancelled' ? this.#streamed(r) : r;
      },
      (e: unknown) => {
        this.#ended = true;
        this.#error = e;
        this.#notify();
        throw e;
      },
    );
    // Consumers that only iterate still see the error; no unhandled rejection.
    this.result.catch(() => {});
  }

  /** `r` cut to the chunks that were streamed (a cancel drops what came after it). */
  #streamed(r: GenerationResult): GenerationResult {
    const tokens = this.#chunks.filter((c) => c.token !== null).length;
    return {
      ...r,
      tokens: r.tokens.slice(0, tokens),
      text: this.#chunks.map((c) => c.text).join(''),
    };
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TokenChunk> {
    let i = 0;
    for (;;) {
      const chunk = this.#chunks[i];
      if (chunk !== undefined) {
        i += 1;
        yield chunk;
      } else if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      } else {
        await new Promise<void>((wake) => this.#wake.push(wake));
      }
    }
  }
}

function checkMessages(messages: unknown): WireMessage[] {
  if (
    !Array.isArray(messages) ||
    !messages.every(
      (m: unknown) =>
        typeof m === 'object' &&
        m !== null &&
        typeof (m as ChatMessage).role === 'string' &&
        typeof (m as ChatMessage).content === 'string',
    )
  ) {
    throw new HearthError(
      RunnerErrorCode.InvalidArgument,
      'messages must be an array of { role: string, content: string }',
    );
  }
  return messages.map((m: ChatMessage) => ({ role: m.role, content: m.content }));
}

function checkIds(ids: unknown): number[] {
  const list = ids instanceof Uint32Array ? Array.from(ids) : ids;
  if (
    !Array.isArray(list) ||
    !list.every((t) => Number.isInteger(t) && t >= 0 && t <= 0xffffffff)
  ) {
    throw new HearthError(
      RunnerErrorCode.InvalidArgument,
      'token ids must be an array (or Uint32Array) of integers >= 0',
    );
  }
  return list as number[];
}

/** Calls a user callback; its exceptions are reported asynchronously, never break the engine. */
function safely(f: () => void): void {
  try {
    f();
  } catch (e) {
    setTimeout(() => {
      throw e;
    });
  }
}

/**
 * A model running in its own engine worker (a module Web Worker in browsers,
 * a `worker_threads` worker in Node), so generation never blocks the caller's
 * thread. Several runners can coexist; each has one worker and one session.
 *
 * Generations on one runner (`generateText`, `chat`) are queued and run one
 * after another, never interleaved: they share the runner's session and KV
 * cache. Tokenizer calls do not wait for them.
 */
export class LlamaRunner {
  #client: WorkerClient;
  #info: RunnerInfo;
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;
  #wasm: WasmEngineReport | undefined;
  #native: NativeDeviceReport | undefined;

  private constructor(
    client: WorkerClient,
    info: RunnerInfo,
    wasm: WasmEngineReport | undefined,
    native: NativeDeviceReport | undefined,
  ) {
    this.#client = client;
    this.#info = info;
    this.#wasm = wasm;
    this.#native = native;
  }

  /**
   * Loads a GGUF model: downloads (or reads) it chunk by chunk into the
   * engine worker's memory (one copy, allocated up front from the size),
   * verifies the SHA-256 when given, parses it and creates a session. In
   * Node, a file path (or `file:` URL) is memory-mapped by the native addon
   * (no copy), or streamed from disk to the wasm engine.
   *
   * URL sources go through the model cache (option `cache`; see `ModelCache`).
   *
   * @throws {HearthError} `HTTP_<status>` (e.g. `HTTP_404`), `NETWORK_ERROR`,
   *   `ABORTED`, `SHA256_MISMATCH`, `NOT_A_MODEL` (an HTML page),
   *   `QUOTA_EXCEEDED`, `CACHE_ERROR`, `GGUF_*` (not a model or a damaged one),
   *   `MODEL_TOO_LARGE` (over 3.5 GiB, more than wasm32 can hold),
   *   `MODEL_ALLOC_FAILED`, `HEARTH_WASM_LOAD`, `HEARTH_WORKER`, `IO_ERROR`
   *   (a file that cannot be read), `LOAD_FAILED` (llama.cpp refused the
   *   model), `NATIVE_UNAVAILABLE` (`hearth`/`llama.cpp` without the addon),
   *   `INVALID_OPTION`.
   */
  static async load(source: ModelSourceInput, options: LoadOptions = {}): Promise<LlamaRunner> {
    const { onProgress, signal, contextLength = 0, backend = 'auto', cache, threads } = options;
    checkCacheOption(cache);
    const gpuOptions = checkGpuOptions(options);
    if (threads !== undefined && (!Number.isSafeInteger(threads) || threads < 1)) {
      throw new HearthError(
        RunnerErrorCode.InvalidOption,
        `invalid option threads: ${String(threads)} (expected an integer >= 1)`,
      );
    }
    if (!Number.isSafeInteger(contextLength) || contextLength < 0) {
      throw new HearthError(
        RunnerErrorCode.InvalidOption,
        `invalid option contextLength: ${String(contextLength)} (expected an integer >= 0)`,
      );
    }
    if (!BACKENDS.includes(backend)) {
      throw new HearthError(
        RunnerErrorCode.InvalidOption,
        `invalid option backend: ${JSON.stringify(backend)} (expected one of ${BACKENDS.join(', ')})`,
      );
    }
    const spawn = spawnWorker;
    if (!spawn) {
      throw new HearthError(RunnerErrorCode.Internal, 'no worker factory: import @hearth/runner');
    }
    const progress = (p: LoadProgress) => {
      if (onProgress) safely(() => onProgress(p));
    };
    throwIfAborted(signal);
    const path = localFiles?.pathOf(source);
    let port: WorkerPort;
    try {
      port = spawn(backend);
    } catch (e) {
      throw toHearthError(e, RunnerErrorCode.Worker);
    }
    let opened: OpenedSource | undefined;
    if (path === undefined || !port.loadsFiles) {
      try {
        opened =
          path !== undefined && localFiles
            ? await localFiles.open(path, signal)
            : await openModelSource(source, cache, signal, progress);
      } catch (e) {
        port.terminate();
        throw e;
      }
    }
    const meta =
      typeof source === 'object' && source !== null && 'url' in source
        ? source
        : { name: undefined, license: undefined };

    let client: WorkerClient;
    try {
      client = new WorkerClient(port);
    } catch (e) {
      port.terminate();
      opened?.close?.();
      throw toHearthError(e, RunnerErrorCode.Worker);
    }
    const onAbort = () =>
      client.fail(
        new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted', {
          cause: signal?.reason,
        }),
      );
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const loadedInfo: LoadedInfo & { wasm?: WasmEngineReport } = opened
        ? await LlamaRunner.#stream(client, opened, contextLength, threads, progress, signal, {
            pipelined: (port.engine ?? 'wasm') === 'wasm',
            begin: {
              ...gpuOptions,
              ...(backend === 'webgpu' || backend === 'wasm' ? { backend } : {}),
            },
          })
        : await client.request<LoadedInfo>(
            {
              op: 'loadFile',
              id: client.nextId(),
              path: path as string,
              contextLength,
              ...gpuOptions,
            },
            { onProgress: (stage, done) => progress({ stage, loaded: done ? 1 : 0, total: 1 }) },
          );
      const info: RunnerInfo = {
        model: loadedInfo.summary,
        config: loadedInfo.config,
        contextLength: loadedInfo.contextLength,
        backend: loadedInfo.wasm?.runsOn === 'webgpu' ? 'webgpu' : (port.engine ?? 'wasm'),
        source: {
          label: opened ? opened.label : (path as string),
          ...(meta.name !== undefined ? { name: meta.name } : {}),
          ...(meta.license !== undefined ? { license: meta.license } : {}),
        },
      };
      const { gpuFallback, gpuFeatures, gpuLayers } = loadedInfo;
      let { wasm } = loadedInfo;
      if (wasm && gpuFeatures) wasm = { ...wasm, gpuFeatures };
      if (wasm && gpuLayers !== undefined) wasm = { ...wasm, gpuLayers };
      if (wasm && gpuFallback) {
        // The worker's build is the single-threaded one (it has the GPU engine).
        const reason = `the model cannot run on WebGPU (${gpuFallback.code}: ${gpuFallback.message})`;
        wasm = {
          ...wasm,
          runsOn: 'wasm-simd',
          notice: `@hearth/runner: ${reason}; running on the wasm CPU engine`,
          chain: (wasm.chain ?? []).map((step) =>
            step.layer === 'webgpu' ? { layer: 'webgpu', usable: false, reason } : step,
          ),
        };
        info.backend = 'wasm';
      }
      if (wasm?.notice !== undefined && !noticed.has(wasm.notice)) {
        noticed.add(wasm.notice);
        console.info(wasm.notice);
      }
      return new LlamaRunner(client, info, wasm, loadedInfo.native);
    } catch (e) {
      const error = signal?.aborted
        ? new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted', { cause: e })
        : toHearthError(e);
      // Bytes the engine rejects are no model to keep in the cache.
      if (error.code.startsWith('GGUF_')) await opened?.discard?.().catch(() => {});
      client.fail(error);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      opened?.close?.();
    }
  }

  /** Streams an opened source into the engine chunk by chunk. */
  static async #stream(
    client: WorkerClient,
    opened: OpenedSource,
    contextLength: number,
    threads: number | undefined,
    progress: (p: LoadProgress) => void,
    signal: AbortSignal | undefined,
    {
      pipelined,
      begin: beginOptions,
    }: { pipelined: boolean; begin: GpuLoadOptions & { backend?: WasmBackend } },
  ): Promise<LoadedInfo & { wasm?: WasmEngineReport }> {
    let { total, chunks } = opened;
    if (total === undefined) {
      // No length announced: gather the download first, the engine allocates once.
      const parts: ArrayBuffer[] = [];
      let loaded = 0;
      for await (const part of chunks) {
        parts.push(part);
        loaded += part.byteLength;
        progress({ stage: 'download', loaded, total: undefined });
      }
      total = loaded;
      chunks = (async function* () {
        yield* parts.splice(0);
      })();
    }
    const begin = client.request<WasmEngineReport | null>({
      op: 'loadBegin',
      id: client.nextId(),
      total,
      sha256: opened.sha256 !== undefined,
      ...(threads !== undefined ? { threads } : {}),
      ...beginOptions,
    });
    // A wasm engine queues chunks behind `loadBegin`: keep reading the download while it
    // starts (the threaded build takes a moment; a stream that errors drops what it had
    // buffered), and stop at the first chunk after a failed start.
    let failed: { error: unknown } | undefined;
    if (pipelined) {
      begin.catch((error: unknown) => {
        failed = { error };
      });
    } else {
      await begin;
    }
    let loaded = 0;
    const stage = opened.stage ?? 'download';
    progress({ stage, loaded, total });
    for await (const chunk of chunks) {
      throwIfAborted(signal);
      if (failed) throw failed.error;
      loaded += chunk.byteLength;
      client.send({ op: 'loadChunk', chunk }, [chunk]);
      progress({ stage, loaded, total });
    }
    throwIfAborted(signal);
    const wasm = await begin;
    const info = await client.request<LoadedInfo>(
      {
        op: 'loadEnd',
        id: client.nextId(),
        contextLength,
        ...(opened.sha256 !== undefined ? { sha256: opened.sha256 } : {}),
      },
      { onProgress: (stage, done) => progress({ stage, loaded: done ? 1 : 0, total: 1 }) },
    );
    return wasm ? { ...info, wasm } : info;
  }

  /** The model summary, the engine's configuration and the context length. */
  info(): RunnerInfo {
    return this.#info;
  }

  /**
   * What the environment offers (SIMD, threads, WebGPU, cross-origin
   * isolation) and, on the wasm engine, which build runs (`wasm`); in
   * browsers also the WebGPU adapter, the backend chain for this load's
   * options and the layer the model runs on (`runsOn`).
   */
  capabilities(): Capabilities {
    const report = this.#wasm;
    if (!report) {
      const native = this.#native;
      return {
        ...capabilities(),
        ...(native
          ? {
              native: {
                ...native,
                adapter: native.adapter
                  ? { ...native.adapter, features: [...native.adapter.features] }
                  : null,
              },
            }
          : {}),
      };
    }
    const {
      simd,
      threads,
      threadCount,
      build,
      webgpuAdapter,
      chain,
      runsOn,
      gpuFeatures,
      gpuLayers,
    } = report;
    const wasm: WasmEngine = { simd, threads, threadCount, build };
    return {
      ...capabilities(),
      engineThreads: threadCount,
      wasm,
      ...(webgpuAdapter ? { webgpuAdapter: { ...webgpuAdapter } } : {}),
      ...(chain ? { chain: chain.map((step) => ({ ...step })) } : {}),
      ...(runsOn ? { runsOn } : {}),
      ...(gpuFeatures && runsOn === 'webgpu' ? { gpuFeatures: [...gpuFeatures] } : {}),
      ...(gpuLayers !== undefined && runsOn === 'webgpu' ? { gpuLayers } : {}),
    };
  }

  /** The engine moved the model off a lost GPU device (`onDeviceLost: 'cpu'`). */
  #deviceLost(to: { runsOn: ChainLayer } | { native: NativeDeviceReport }): void {
    if ('native' in to) {
      this.#native = to.native;
      console.warn('@hearth/runner: the GPU device was lost; the model continues on the CPU');
      return;
    }
    if (this.#wasm) this.#wasm = { ...this.#wasm, runsOn: to.runsOn };
    this.#info = { ...this.#info, backend: 'wasm' };
    console.warn(
      '@hearth/runner: the GPU device was lost; the model continues on the wasm CPU engine',
    );
  }

  /** Test hook: destroys the GPU device (`GPUDevice.destroy()`) at once. @internal */
  [LOSE_GPU_DEVICE](): Promise<void> {
    return this.#call(() => ({ op: 'loseGpuDevice', id: this.#client.nextId() }));
  }

  /** Whether {@link dispose} was called or the worker died. */
  get disposed(): boolean {
    return this.#disposed || this.#client.failed;
  }

  /**
   * Continues `prompt` (text, tokenized with the model's BOS rules, or token
   * ids). Queued behind earlier generations of this runner.
   *
   * @throws {HearthError} synchronously, `INVALID_OPTION` for a bad option.
   */
  generateText(
    prompt: string | number[] | Uint32Array,
    options: GenerateTextOptions = {},
  ): Generation {
    const { parseSpecial, ...rest } = options;
    if (parseSpecial !== undefined && typeof parseSpecial !== 'boolean') {
      throw new HearthError(
        RunnerErrorCode.InvalidOption,
        `invalid option parseSpecial: ${String(parseSpecial)} (expected a boolean)`,
      );
    }
    const engine = toEngineOptions(rest);
    if (typeof prompt !== 'string') {
      const ids = checkIds(prompt);
      return this.#generate(rest.signal, (id) => ({
        op: 'generate',
        id,
        prompt: ids,
        options: engine,
      }));
    }
    if (parseSpecial) {
      // Tokenize with control tokens first, then generate from the ids.
      return this.#generate(rest.signal, async (id) => ({
        op: 'generate',
        id,
        prompt: await this.tokenize(prompt, { parseSpecial: true }),
        options: engine,
      }));
    }
    return this.#generate(rest.signal, (id) => ({ op: 'generate', id, prompt, options: engine }));
  }

  /**
   * Answers a conversation with the model's chat template. Pass the whole
   * conversation each time: the runner keeps the KV cache of the previous
   * turn, so only the new messages are evaluated (`timings.reusedTokens`).
   *
   * @throws {HearthError} synchronously, `INVALID_OPTION` / `HEARTH_INVALID_ARGUMENT`.
   */
  chat(messages: ChatMessage[], options: GenerateOptions = {}): Generation {
    const wire = checkMessages(messages);
    const engine = toEngineOptions(options);
    return this.#generate(options.signal, (id) => ({
      op: 'chat',
      id,
      messages: wire,
      options: engine,
    }));
  }

  #generate(
    signal: AbortSignal | undefined,
    build: (id: number) => (Request & { id: number }) | Promise<Request & { id: number }>,
  ): Generation {
    return new Generation((push) => {
      const run = async (): Promise<GenerationResult> => {
        this.#checkOpen();
        const client = this.#client;
        const id = client.nextId();
        const req = await build(id);
        const cancel = () => {
          if (!client.failed) client.send({ op: 'cancel', target: id });
        };
        const done = client.request<GenerationResult>(req, {
          onToken: (token, text) => push({ token, text }),
          onDeviceLost: (to) => this.#deviceLost(to),
        });
        if (signal?.aborted) cancel();
        signal?.addEventListener('abort', cancel, { once: true });
        try {
          return await done;
        } finally {
          signal?.removeEventListener('abort', cancel);
        }
      };
      const result = this.#queue.then(run, run);
      this.#queue = result.catch(() => {});
      return result;
    }, signal);
  }

  /** Token ids of `text`. `addSpecial` (default true): BOS/EOS as the model declares. */
  tokenize(
    text: string,
    options: { addSpecial?: boolean; parseSpecial?: boolean } = {},
  ): Promise<number[]> {
    return this.#call(() => {
      if (typeof text !== 'string') {
        throw new HearthError(RunnerErrorCode.InvalidArgument, 'text must be a string');
      }
      return {
        op: 'tokenize',
        id: this.#client.nextId(),
        text,
        addSpecial: options.addSpecial ?? true,
        parseSpecial: options.parseSpecial ?? false,
      };
    });
  }

  /** The text of token ids; special tokens are rendered unless `skipSpecial`. */
  detokenize(
    ids: number[] | Uint32Array,
    options: { skipSpecial?: boolean } = {},
  ): Promise<string> {
    return this.#call(() => ({
      op: 'detokenize',
      id: this.#client.nextId(),
      ids: checkIds(ids),
      skipSpecial: options.skipSpecial ?? false,
    }));
  }

  /** Renders `messages` with the model's chat template (as `chat` does before tokenizing). */
  applyChatTemplate(
    messages: ChatMessage[],
    options: { addGenerationPrompt?: boolean } = {},
  ): Promise<string> {
    return this.#call(() => ({
      op: 'applyChatTemplate',
      id: this.#client.nextId(),
      messages: checkMessages(messages),
      addGenerationPrompt: options.addGenerationPrompt ?? true,
    }));
  }

  /**
   * Summarizes `text` with the model's chat template (greedy by default; `maxWords`,
   * `style: 'paragraph' | 'bullets'`, and any generation option). Stream it or await `result`.
   *
   * @throws {HearthError} synchronously, `EMPTY_INPUT` or `INVALID_OPTION`.
   */
  summarize(text: string, options: SummarizeOptions = {}): Generation {
    return summarize(this, text, options);
  }

  /**
   * Zero-shot classification: the model picks one of `labels` for `text`, decoded greedily
   * with the choice constrained to the labels' tokens (see `tasks.ts`).
   *
   * @throws {HearthError} `HEARTH_INVALID_ARGUMENT` (no labels, duplicates, a label that is a
   *   token prefix of another), `ABORTED`.
   */
  classify(text: string, labels: string[], options: ClassifyOptions = {}): Promise<Classification> {
    return classify(this, text, labels, options);
  }

  /** Empties the KV cache (after the queued generations). */
  reset(): Promise<void> {
    const run = () => {
      this.#checkOpen();
      return this.#client.request<void>({ op: 'reset', id: this.#client.nextId() });
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Terminates the worker and frees the model; pending calls reject with `HEARTH_DISPOSED`. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#client.fail(new HearthError(RunnerErrorCode.Disposed, 'the runner was disposed'));
  }

  #checkOpen(): void {
    if (this.#disposed) {
      throw new HearthError(RunnerErrorCode.Disposed, 'the runner was disposed');
    }
  }

  async #call<T>(build: () => Request & { id: number }): Promise<T> {
    this.#checkOpen();
    return this.#client.request<T>(build());
  }
}
