/**
 * The message protocol between a runner (main thread) and its engine worker.
 * Requests carry an `id`; the worker answers each with `done` or `error`,
 * after `token` (generations) or `progress` (loading) events for that id.
 * Model chunks travel as transferred `ArrayBuffer`s, without an answer.
 *
 * @internal
 */

import type { WasmEngine } from './capabilities.js';
import type { ChainLayer, ChainStep, WebGpuReport } from './chain.js';

/** The GPU options a load carries (`LoadOptions` checked), to wasm and native engines alike. */
export interface GpuLoadOptions {
  /** `auto` may take a software (fallback) adapter. */
  allowFallbackAdapter?: boolean;
  /** What a lost GPU device does to a generation: reject (`error`) or continue on the CPU. */
  onDeviceLost?: 'error' | 'cpu';
  /** GPU memory the model may take (bytes): the blocks that fit run on the GPU. */
  gpuMaxMemoryBytes?: number;
  /** How many of the model's first blocks to run on the GPU (default: as many as fit). */
  gpuLayers?: number;
  /** Native engines: where hearth-core runs (see `LoadOptions.device`). */
  device?: NativeDevice;
}

/** `{ role, content }` chat message. */
export interface WireMessage {
  role: string;
  content: string;
}

export type Request =
  /**
   * Answered with the {@link WasmEngineReport} by wasm engines (`null` by native ones).
   * `threads`: the pool size asked for (browsers: more than 1 picks the threaded build).
   * `backend`, `allowFallbackAdapter`: where the browser chain starts (see `chain.ts`).
   */
  | ({
      op: 'loadBegin';
      id: number;
      total: number;
      sha256: boolean;
      threads?: number;
      backend?: WasmBackend;
    } & GpuLoadOptions)
  | { op: 'loadChunk'; chunk: ArrayBuffer }
  | { op: 'loadEnd'; id: number; sha256?: string; contextLength: number }
  /** Native engines only ({@link WorkerPort.loadsFiles}): memory-map a local file. */
  | ({ op: 'loadFile'; id: number; path: string; contextLength: number } & GpuLoadOptions)
  | { op: 'generate'; id: number; prompt: string | number[]; options: unknown }
  | { op: 'chat'; id: number; messages: WireMessage[]; options: unknown }
  | { op: 'cancel'; target: number }
  /** Test hook: destroy the GPU device now (acts at once, like `cancel`). */
  | { op: 'loseGpuDevice'; id: number }
  | { op: 'tokenize'; id: number; text: string; addSpecial: boolean; parseSpecial: boolean }
  | { op: 'detokenize'; id: number; ids: number[]; skipSpecial: boolean }
  | { op: 'applyChatTemplate'; id: number; messages: WireMessage[]; addGenerationPrompt: boolean }
  | { op: 'reset'; id: number }
  /** An embedding model from its files' bytes (see `EmbeddingFiles`). */
  | { op: 'embedLoad'; id: number; files: WireEmbeddingFiles; quantize: boolean }
  /** A `bert` GGUF embedding model from its bytes. */
  | { op: 'embedLoadGguf'; id: number; bytes: ArrayBuffer; quantize: boolean }
  /** Native engines only: an embedding model directory or `bert` GGUF file on disk. */
  | { op: 'embedLoadDir'; id: number; path: string; quantize: boolean }
  | { op: 'embed'; id: number; texts: string[]; normalize?: boolean; batchSize: number }
  | { op: 'embedEncode'; id: number; text: string };

/** The files of a Hugging Face embedding model directory, as bytes. */
export interface WireEmbeddingFiles {
  config: ArrayBuffer;
  tokenizer: ArrayBuffer;
  weights: ArrayBuffer;
  /** The Pooling module's `config.json`. */
  pooling?: ArrayBuffer;
  /** `sentence_bert_config.json`. */
  sentenceConfig?: ArrayBuffer;
  /** `modules.json`. */
  modules?: ArrayBuffer;
}

/** What `embed` answers: all vectors back to back in one array. */
export interface WireEmbeddings {
  vectors: Float32Array;
  dims: number;
  truncated: boolean[];
}

/** The wasm build a worker runs, and why not the threaded one (`notice`, logged once by the runner). */
export interface WasmEngineReport extends WasmEngine {
  notice?: string;
  /** Browsers: the WebGPU adapter probed, the chain for the load's options, the layer picked. */
  webgpuAdapter?: WebGpuReport;
  chain?: ChainStep[];
  runsOn?: ChainLayer;
  /** On WebGPU: the optional features the engine's kernels use. */
  gpuFeatures?: string[];
  /** On WebGPU: how many of the model's blocks run there (fewer than all: a partial offload). */
  gpuLayers?: number;
}

/** Where the native addon runs hearth-core: `auto` (a hardware GPU when one exists), `cpu`, `gpu`. */
export type NativeDevice = 'auto' | 'cpu' | 'gpu';

/** Where a native engine's session runs (`@hearth/node`'s `session.device`). */
export interface NativeDeviceReport {
  /** `gpu`: hearth-core's wgpu backend (Vulkan, Metal or DX12); `cpu`: its CPU backend. */
  device: 'cpu' | 'gpu';
  /** The GPU adapter; `null` on the CPU. */
  adapter: {
    name: string;
    backend: string;
    deviceType: string;
    software: boolean;
    features: string[];
  } | null;
  /** Why `auto` runs on the CPU (no adapter, only a software one, not one block fits). */
  reason: string | null;
  /** How many of the model's blocks run on the GPU (fewer than all: a partial offload). */
  gpuLayers: number;
}

/** The `backend` values a wasm engine worker understands. */
export type WasmBackend = 'auto' | 'webgpu' | 'wasm';

/** A serialized error: `Error`s lose their own properties in `postMessage`. */
export interface WireError {
  code: string;
  message: string;
}

export type Response =
  | { type: 'done'; id: number; value: unknown }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'token'; id: number; token: number | null; text: string }
  | { type: 'progress'; id: number; stage: 'verify' | 'parse' | 'init'; done: boolean }
  /** The GPU device was lost during request `id` and the model moved to the CPU (`onDeviceLost: 'cpu'`). */
  | { type: 'deviceLost'; id: number; runsOn: ChainLayer }
  /** A native engine's session left its lost GPU device: where it runs now. */
  | { type: 'deviceLost'; id: number; native: NativeDeviceReport };

/** The two ends of a worker, in browsers (`Worker`) and Node (`worker_threads`). */
export interface WorkerPort {
  postMessage(message: Request, transfer?: Transferable[]): void;
  /** Sets the handlers for answers and for the worker dying (uncaught error, failed start). */
  listen(onMessage: (message: Response) => void, onFailure: (error: Error) => void): void;
  terminate(): void;
  /** Node: keep the process alive while requests are pending (`Worker.ref/unref`). */
  setBusy?(busy: boolean): void;
  /** The engine behind this port (default `wasm`). */
  readonly engine?: EngineKind;
  /** Whether it understands `loadFile` (the native addon memory-maps files). */
  readonly loadsFiles?: boolean;
}

/**
 * Which engine runs a model: hearth-core natively, llama.cpp natively, hearth-core as
 * wasm on the CPU, or hearth-core as wasm on WebGPU (browsers).
 */
export type EngineKind = 'hearth' | 'llama.cpp' | 'wasm' | 'webgpu';

/**
 * What `LlamaRunner.load` may ask for: `auto` picks the native addon in Node when it
 * loads, and in browsers WebGPU when a (non-fallback) adapter exists, else wasm.
 */
export type Backend = 'auto' | EngineKind;
