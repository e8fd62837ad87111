/**
 * The engine of a runner in Node when the native addon (`@hearth/node`) is
 * available: a {@link WorkerPort} that answers the worker protocol in-process.
 * Loading runs on a libuv thread and each generation on a native thread of
 * its own, so the event loop is never blocked; no worker is needed.
 *
 * @internal
 */

import { createHash, type Hash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  GpuLoadOptions,
  NativeDevice,
  NativeDeviceReport,
  Request,
  Response,
  WireError,
  WireMessage,
  WorkerPort,
} from './protocol.js';

/** `{ token, text }` as the addon streams it; `null` marks the end. */
type NativeEvent = { token: number | null; text: string } | null;

/** The parts of `@hearth/node` used here (its `index.d.ts`, restated to keep it optional). */
export interface NativeSession {
  readonly nCtx: number;
  readonly device: NativeDeviceReport;
  loseGpuDevice(): void;
  generate(
    prompt: number[],
    options: unknown,
    onToken: (event: NativeEvent) => void,
  ): Promise<unknown>;
  chat(
    messages: WireMessage[],
    options: unknown,
    onToken: (event: NativeEvent) => void,
  ): Promise<unknown>;
  cancel(): void;
  reset(): void;
  dispose(): void;
}

export interface NativeModel {
  info(): { summary: unknown; config: unknown; backend: string };
  tokenize(text: string, addSpecial?: boolean, parseSpecial?: boolean): number[];
  detokenize(ids: number[], skipSpecial?: boolean): string;
  applyChatTemplate(messages: WireMessage[], addGenerationPrompt?: boolean): string;
  createSession(nCtx?: number): NativeSession;
  dispose(): void;
}

/** A native embedding model (`@hearth/node`'s `NativeEmbeddingModel`). */
export interface NativeEmbeddingModel {
  info(): unknown;
  encode(text: string): { ids: number[]; truncated: boolean };
  embed(
    texts: string[],
    options?: { normalize?: boolean; batchSize?: number },
  ): Promise<{ vectors: Float32Array; dims: number; truncated: boolean[] }>;
  dispose(): void;
}

/** A bare `tokenizer.json` tokenizer (`@hearth/node`'s `NativeTokenizer`). */
export interface NativeTokenizer {
  encode(text: string, addSpecial: boolean): number[];
  isSpecial(id: number): boolean;
}

/** `@hearth/node`'s `LoadModelOptions`. */
export interface NativeLoadOptions {
  backend?: string;
  device?: NativeDevice;
  allowSoftwareGpu?: boolean;
  gpuMaxMemoryBytes?: number;
  gpuLayers?: number;
  onDeviceLost?: 'error' | 'cpu';
}

/** The load request's GPU options as the addon takes them. */
function nativeLoadOptions(req: GpuLoadOptions): NativeLoadOptions {
  return {
    ...(req.device !== undefined ? { device: req.device } : {}),
    ...(req.allowFallbackAdapter !== undefined
      ? { allowSoftwareGpu: req.allowFallbackAdapter }
      : {}),
    ...(req.gpuMaxMemoryBytes !== undefined ? { gpuMaxMemoryBytes: req.gpuMaxMemoryBytes } : {}),
    ...(req.gpuLayers !== undefined ? { gpuLayers: req.gpuLayers } : {}),
    ...(req.onDeviceLost !== undefined ? { onDeviceLost: req.onDeviceLost } : {}),
  };
}

export interface NativeAddon {
  loadEmbeddingModel(dir: string, options?: { quantize?: boolean }): Promise<NativeEmbeddingModel>;
  NativeTokenizer: { fromJson(json: Uint8Array): NativeTokenizer };
  loadModel(path: string, options?: NativeLoadOptions): Promise<NativeModel>;
  loadModelFromBytes(bytes: Uint8Array, options?: NativeLoadOptions): Promise<NativeModel>;
  version(): string;
}

let addon: NativeAddon | undefined;
let addonError: unknown;

/**
 * Loads `@hearth/node` once (`HEARTH_NODE_ADDON` may name another path).
 * @returns the addon, or throws why it cannot be loaded.
 */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (addonError !== undefined) throw addonError;
  try {
    const require = createRequire(import.meta.url);
    addon = require(process.env.HEARTH_NODE_ADDON || '@hearth/node') as NativeAddon;
    return addon;
  } catch (e) {
    addonError = e;
    throw e;
  }
}

function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The `code` and message of anything the addon throws. */
function wireError(e: unknown): WireError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'HEARTH_INTERNAL', message: e.message };
  }
  return { code: 'HEARTH_INTERNAL', message: String(e) };
}

/** An in-process engine over the native addon, speaking the worker protocol. */
export class NativePort implements WorkerPort {
  readonly engine: 'hearth' | 'llama.cpp';
  readonly loadsFiles = true;
  #addon: NativeAddon;
  #onMessage: ((m: Response) => void) | undefined;
  #model: NativeModel | undefined;
  #session: NativeSession | undefined;
  #embedder: NativeEmbeddingModel | undefined;
  #terminated = false;
  /** Requests run one after another (loads, generations, reset). */
  #queue: Promise<void> = Promise.resolve();
  /** The running generation's request id. */
  #running: number | undefined;
  /** Requests cancelled (possibly before they started). */
  #cancelled = new Set<number>();
  /** A model arriving as bytes (`loadBegin`/`loadChunk`). */
  #incoming:
    | {
        buf: Buffer;
        at: number;
        hash: Hash | undefined;
        error?: Error;
        options: NativeLoadOptions;
      }
    | undefined;

  constructor(addonModule: NativeAddon, engine: 'hearth' | 'llama.cpp') {
    this.#addon = addonModule;
    this.engine = engine;
  }

  listen(onMessage: (message: Response) => void): void {
    this.#onMessage = onMessage;
  }

  postMessage(req: Request): void {
    if (this.#terminated) return;
    switch (req.op) {
      case 'cancel':
        this.#cancelled.add(req.target);
        if (this.#running === req.target) this.#session?.cancel();
        return;
      case 'loadChunk':
        this.#chunk(req.chunk);
        return;
      case 'loseGpuDevice':
        // The test hook acts at once, between two tokens of a running generation.
        void this.#run(req.id, () => {
          const s = this.#session;
          if (s?.device.device !== 'gpu') {
            throw coded('HEARTH_INTERNAL', 'the model is not on the GPU');
          }
          s.loseGpuDevice();
          return null;
        });
        return;
      case 'tokenize':
      case 'detokenize':
      case 'applyChatTemplate':
        // Tokenizer calls need only the model and do not wait for generations.
        queueMicrotask(() => this.#run(req.id, () => this.#tokenizer(req)));
        return;
      default: {
        const id = req.id;
        this.#queue = this.#queue.then(() => this.#run(id, () => this.#handle(req)));
      }
    }
  }

  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#incoming = undefined;
    this.#session?.dispose();
    this.#model?.dispose();
    this.#session = undefined;
    this.#model = undefined;
    this.#embedder?.dispose();
    this.#embedder = undefined;
  }

  #post(m: Response): void {
    if (!this.#terminated) this.#onMessage?.(m);
  }

  async #run(id: number, f: () => unknown): Promise<void> {
    try {
      const value = await f();
      if (value !== NO_ANSWER) this.#post({ type: 'done', id, value });
    } catch (e) {
      this.#post({ type: 'error', id, error: wireError(e) });
    }
  }

  #need(): [NativeModel, NativeSession] {
    if (!this.#model || !this.#session) throw coded('HEARTH_NOT_LOADED', 'no model is loaded');
    return [this.#model, this.#session];
  }

  #needEmbedder(): NativeEmbeddingModel {
    if (!this.#embedder) throw coded('HEARTH_NOT_LOADED', 'no embedding model is loaded');
    return this.#embedder;
  }

  #tokenizer(req: Request): unknown {
    const [m] = this.#need();
    switch (req.op) {
      case 'tokenize':
        return m.tokenize(req.text, req.addSpecial, req.parseSpecial);
      case 'detokenize':
        return m.detokenize(req.ids, req.skipSpecial);
      case 'applyChatTemplate':
        return m.applyChatTemplate(req.messages, req.addGenerationPrompt);
      default:
        throw coded('HEARTH_INTERNAL', `not a tokenizer request: ${req.op}`);
    }
  }

  #chunk(chunk: ArrayBuffer): void {
    const l = this.#incoming;
    if (!l || l.error) return;
    if (l.at + chunk.byteLength > l.buf.byteLength) {
      l.error = coded(
        'MODEL_SIZE_MISMATCH',
        `received more than the announced ${l.buf.byteLength} bytes (${l.at} + ${chunk.byteLength})`,
      );
      return;
    }
    const bytes = new Uint8Array(chunk);
    l.buf.set(bytes, l.at);
    l.at += bytes.byteLength;
    l.hash?.update(bytes);
  }

  async #handle(req: Request): Promise<unknown> {
    if (this.#terminated) return NO_ANSWER;
    switch (req.op) {
      case 'loadBegin': {
        let buf: Buffer;
        try {
          buf = Buffer.allocUnsafeSlow(req.total);
        } catch (e) {
          throw coded(
            'MODEL_ALLOC_FAILED',
            `cannot allocate ${req.total} bytes for the model: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        this.#incoming = {
          buf,
          at: 0,
          hash: req.sha256 ? createHash('sha256') : undefined,
          options: nativeLoadOptions(req),
        };
        return null;
      }
      case 'loadEnd': {
        const l = this.#incoming;
        this.#incoming = undefined;
        if (!l) throw coded('HEARTH_INTERNAL', 'no model is being loaded');
        if (l.error) throw l.error;
        if (l.at !== l.buf.byteLength) {
          throw coded(
            'MODEL_SIZE_MISMATCH',
            `received ${l.at} of the announced ${l.buf.byteLength} bytes`,
          );
        }
        if (req.sha256 !== undefined) {
          this.#progress(req.id, 'verify', false);
          const actual = l.hash?.digest('hex') ?? '';
          if (actual !== req.sha256.trim().toLowerCase()) {
            throw coded(
              'SHA256_MISMATCH',
              `the model's SHA-256 is ${actual}, expected ${req.sha256}`,
            );
          }
          this.#progress(req.id, 'verify', true);
        }
        this.#progress(req.id, 'parse', false);
        const model =
          this.engine === 'hearth'
            ? await this.#addon.loadModelFromBytes(l.buf, l.options)
            : await this.#loadViaTempFile(l.buf, l.options);
        return this.#adopt(req.id, model, req.contextLength);
      }
      case 'loadFile': {
        this.#progress(req.id, 'parse', false);
        const model = await this.#addon.loadModel(req.path, {
          backend: this.engine,
          ...nativeLoadOptions(req),
        });
        return this.#adopt(req.id, model, req.contextLength);
      }
      case 'generate': {
        const [m] = this.#need();
        const prompt =
          typeof req.prompt === 'string' ? m.tokenize(req.prompt, true, false) : req.prompt;
        return this.#generate(req.id, (s, on) => s.generate(prompt, req.options, on));
      }
      case 'chat':
        return this.#generate(req.id, (s, on) => s.chat(req.messages, req.options, on));
      case 'reset':
        this.#need()[1].reset();
        return null;
      case 'embedLoadDir': {
        const model = await this.#addon.loadEmbeddingModel(req.path, { quantize: req.quantize });
        if (this.#terminated) {
          model.dispose();
          return NO_ANSWER;
        }
        this.#embedder?.dispose();
        this.#embedder = model;
        return model.info();
      }
      case 'embed': {
        const e = this.#needEmbedder();
        return e.embed(req.texts, {
          batchSize: req.batchSize,
          ...(req.normalize !== undefined ? { normalize: req.normalize } : {}),
        });
      }
      case 'embedEncode':
        return this.#needEmbedder().encode(req.text);
      default:
        throw coded('HEARTH_INTERNAL', `unexpected request ${req.op}`);
    }
  }

  /** llama.cpp reads models from files: bytes go through a private temporary file. */
  async #loadViaTempFile(buf: Buffer, options: NativeLoadOptions): Promise<NativeModel> {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-'));
    try {
      const file = join(dir, 'model.gguf');
      await writeFile(file, buf);
      return await this.#addon.loadModel(file, { backend: this.engine, ...options });
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  #progress(id: number, stage: 'verify' | 'parse' | 'init', done: boolean): void {
    this.#post({ type: 'progress', id, stage, done });
  }

  #adopt(id: number, model: NativeModel, contextLength: number): unknown {
    if (this.#terminated) {
      model.dispose();
      return NO_ANSWER;
    }
    this.#progress(id, 'parse', true);
    this.#progress(id, 'init', false);
    let session: NativeSession;
    try {
      session = model.createSession(contextLength);
    } catch (e) {
      model.dispose();
      throw e;
    }
    this.#session?.dispose();
    this.#model?.dispose();
    this.#model = model;
    this.#session = session;
    this.#progress(id, 'init', true);
    const { summary, config } = model.info();
    return { summary, config, contextLength: session.nCtx, native: session.device };
  }

  async #generate(
    id: number,
    start: (s: NativeSession, onToken: (event: NativeEvent) => void) => Promise<unknown>,
  ): Promise<unknown> {
    const [, s] = this.#need();
    this.#running = id;
    const wasOnGpu = s.device.device === 'gpu';
    try {
      const done = start(s, (ev) => {
        if (ev) this.#post({ type: 'token', id, token: ev.token, text: ev.text });
      });
      // Cancelled while queued: start, then stop before the first token (as the wasm engine does).
      if (this.#cancelled.has(id)) s.cancel();
      // The runner's result is the same in every engine: `topLogits` is for the CLI.
      const { topLogits: _, ...result } = (await done) as { topLogits?: unknown };
      // `onDeviceLost: 'cpu'` moved the session off a lost device during this generation.
      if (wasOnGpu && s.device.device === 'cpu') {
        this.#post({ type: 'deviceLost', id, native: s.device });
      }
      return result;
    } finally {
      this.#running = undefined;
      this.#cancelled.delete(id);
    }
  }
}

/** Returned by a handler that must not answer (the port was terminated). */
const NO_ANSWER = Symbol('no answer');
