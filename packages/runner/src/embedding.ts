/**
 * Sentence embeddings: {@link EmbeddingRunner} loads an embedding model through the adapter
 * registry (`adapters.ts`) and turns texts into vectors; {@link similarity} and {@link topK}
 * search them. The built-in `hearth` adapter runs BERT-family models (all-MiniLM-L6-v2 …) from
 * a Hugging Face directory or a `bert` GGUF file (llama.cpp's layout) in hearth-core: natively in Node (`@hearth/node`, libuv threads)
 * or as wasm in the runner's worker (browsers, `HEARTH_RUNTIME=wasm`).
 */

import { type AdapterLoadOptions, loadWithAdapters, registerAdapter } from './adapters.js';
import { WorkerClient } from './client.js';
import { HearthError, RunnerErrorCode, toHearthError } from './errors.js';
import type { WireEmbeddingFiles, WireEmbeddings } from './protocol.js';
import { platform } from './runner.js';
import { openSource, throwIfAborted } from './source.js';

/** One file of a model: a URL (or, in Node, a path), a `Blob`, or bytes. */
export type EmbeddingFileSource = string | URL | Blob | ArrayBuffer | Uint8Array;

/** The files of a Hugging Face embedding model directory, given one by one. */
export interface EmbeddingFiles {
  /** `config.json` (required). */
  config: EmbeddingFileSource;
  /** `tokenizer.json` (required). */
  tokenizer: EmbeddingFileSource;
  /** `model.safetensors` (required; F32, F16 or BF16). */
  weights: EmbeddingFileSource;
  /** The Pooling module's `config.json` (`1_Pooling/config.json`); absent: mean pooling. */
  pooling?: EmbeddingFileSource;
  /** `sentence_bert_config.json` (`max_seq_length`); absent: the model's position limit. */
  sentenceConfig?: EmbeddingFileSource;
  /** `modules.json` (declares `Normalize`); absent: no normalisation. */
  modules?: EmbeddingFileSource;
}

/**
 * Where an embedding model comes from: a `bert` GGUF file (a path or URL ending in `.gguf`, or
 * its bytes as `ArrayBuffer`/`Uint8Array`/`Blob`), a directory (a path or `file:` URL in Node, a base URL
 * whose `config.json`, `tokenizer.json`, `model.safetensors` and sentence-transformers files
 * are fetched in browsers), its files one by one, or anything a registered adapter accepts
 * (the ONNX adapter: `{ onnx, tokenizer }`).
 */
export type EmbeddingSource =
  | string
  | URL
  | Blob
  | ArrayBuffer
  | Uint8Array
  | EmbeddingFiles
  | Record<string, unknown>;

/** Options of {@link EmbeddingRunner.load}. */
export interface EmbeddingLoadOptions extends AdapterLoadOptions {
  /** Quantize the encoder's matrices to Q8_0 at load (hearth adapter; faster, cosine ≥ 0.99). */
  quantize?: boolean;
  /**
   * Engine of the hearth adapter: `auto` (default) is the native addon in Node for a
   * directory on disk, else wasm; `wasm` forces the wasm engine.
   */
  backend?: 'auto' | 'wasm';
}

/** Options of {@link EmbeddingRunner.embed}. */
export interface EmbedOptions {
  /** L2-normalise the vectors; default: as the model declares (a `Normalize` module). */
  normalize?: boolean;
  /** Texts per encoder batch (default 32). */
  batchSize?: number;
}

/** What {@link EmbeddingRunner.embed} returns. */
export interface EmbedResult {
  /** One vector per input text, in input order, each `dims` long. */
  vectors: Float32Array[];
  /** Vector length. */
  dims: number;
  /**
   * Per input: whether its tokens were cut at the model's window (`info().maxTokens`); its
   * vector then describes the first `maxTokens` tokens only.
   */
  truncated: boolean[];
}

/** What a loaded embedding model is. */
export interface EmbeddingInfo {
  /** The adapter that loaded it (`hearth`, `onnx`, or a registered one). */
  adapter: string;
  /** The engine running it (`hearth` native, `wasm`, `onnxruntime-node`, `onnxruntime-web` …). */
  engine: string;
  /** Output vector length. */
  dims: number;
  /** Longest token sequence (special tokens included) before truncation. */
  maxTokens: number;
  /** Pooling mode (`mean`, `cls`, `max`). */
  pooling: string;
  /** Whether vectors are L2-normalised by default. */
  normalize: boolean;
  /** Engine-specific details (the hearth adapter: layers, heads, matrixType, quantized …). */
  details: Record<string, unknown>;
}

/** What an adapter's `load` returns: an engine that embeds texts. */
export interface EmbeddingEngine {
  info(): EmbeddingInfo;
  /** Embeds a non-empty list of strings (validated by the runner). */
  embed(texts: string[], options: { normalize?: boolean; batchSize: number }): Promise<EmbedResult>;
  /** The token ids embedded for `text` (special tokens added, cut at `maxTokens`). */
  encode(text: string): Promise<{ ids: number[]; truncated: boolean }>;
  /** Frees the model. */
  dispose(): void;
}

/** Error codes of embeddings (engine errors keep theirs, e.g. `MISSING_MODEL_FILE`). */
export const EmbedErrorCode = {
  /** `embed` was given an empty list. */
  EmptyInput: 'EMPTY_INPUT',
  /** No registered adapter accepts the source. */
  NoAdapter: 'NO_ADAPTER',
  /** A model file is absent (also raised by the engines for directories on disk). */
  MissingFile: 'MISSING_MODEL_FILE',
} as const;

/**
 * An embedding model ready to embed texts. Calls are queued: one runs at a time.
 *
 * ```ts
 * const embedder = await EmbeddingRunner.load('/models/all-MiniLM-L6-v2');
 * const { vectors } = await embedder.embed(['a query', 'a document']);
 * similarity(vectors[0], vectors[1]);
 * ```
 */
export class EmbeddingRunner {
  #engine: EmbeddingEngine;
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  private constructor(engine: EmbeddingEngine) {
    this.#engine = engine;
  }

  /**
   * Loads an embedding model with the first registered adapter whose `canLoad` accepts the
   * source (adapters registered later are asked first; the built-in `hearth` adapter last).
   *
   * @throws {HearthError} `NO_ADAPTER`, `MISSING_MODEL_FILE` (no `config.json`,
   *   `tokenizer.json` or `model.safetensors`), `IO_ERROR` (not a directory), `HTTP_<status>`,
   *   `SAFETENSORS_*` (a damaged or lying weights file), `INVALID_MODEL_CONFIG`,
   *   `UNSUPPORTED_ARCHITECTURE`, `ABORTED`, the ONNX adapter's `ONNX_*`.
   */
  static async load(
    source: EmbeddingSource,
    options: EmbeddingLoadOptions = {},
  ): Promise<EmbeddingRunner> {
    throwIfAborted(options.signal);
    const engine = await loadWithAdapters(source, options);
    return new EmbeddingRunner(engine);
  }

  /** What the model is and which engine runs it. */
  info(): EmbeddingInfo {
    return this.#engine.info();
  }

  /**
   * Embeds `texts` (one vector each, in order). Texts longer than `info().maxTokens` tokens
   * are truncated and flagged in `truncated`.
   *
   * @throws {HearthError} `EMPTY_INPUT` (no texts), `HEARTH_INVALID_ARGUMENT` (not an array
   *   of strings), `INVALID_OPTION`, `HEARTH_DISPOSED`.
   */
  embed(texts: string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const run = async () => {
      if (this.#disposed) {
        throw new HearthError(RunnerErrorCode.Disposed, 'the embedding runner was disposed');
      }
      if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
        throw new HearthError(RunnerErrorCode.InvalidArgument, 'texts must be an array of strings');
      }
      if (texts.length === 0) {
        throw new HearthError(EmbedErrorCode.EmptyInput, 'no texts to embed');
      }
      const { normalize, batchSize = 32 } = options;
      if (normalize !== undefined && typeof normalize !== 'boolean') {
        throw new HearthError(
          RunnerErrorCode.InvalidOption,
          `invalid option normalize: ${String(normalize)} (expected a boolean)`,
        );
      }
      if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
        throw new HearthError(
          RunnerErrorCode.InvalidOption,
          `invalid option batchSize: ${String(batchSize)} (expected an integer >= 1)`,
        );
      }
      try {
        return await this.#engine.embed(texts, {
          batchSize,
          ...(normalize !== undefined ? { normalize } : {}),
        });
      } catch (e) {
        throw toHearthError(e);
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  /**
   * The token ids `embed` runs for `text` (special tokens added, cut at `info().maxTokens`),
   * and whether it was truncated: to check a text's length before embedding it.
   */
  encode(text: string): Promise<{ ids: number[]; truncated: boolean }> {
    if (this.#disposed) {
      return Promise.reject(
        new HearthError(RunnerErrorCode.Disposed, 'the embedding runner was disposed'),
      );
    }
    if (typeof text !== 'string') {
      return Promise.reject(
        new HearthError(RunnerErrorCode.InvalidArgument, 'text must be a string'),
      );
    }
    return this.#engine.encode(text).catch((e: unknown) => {
      throw toHearthError(e);
    });
  }

  /** Frees the model; later calls reject with `HEARTH_DISPOSED`. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#engine.dispose();
  }
}

/** Cosine similarity of two vectors (0 when either is all zeros). @throws on length mismatch. */
export function similarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new HearthError(
      RunnerErrorCode.InvalidArgument,
      `vectors differ in length (${a.length} and ${b.length})`,
    );
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * The `k` vectors most similar to `query` by cosine, best first, as `{ index, score }`; ties
 * keep the input order.
 */
export function topK(
  query: ArrayLike<number>,
  vectors: readonly ArrayLike<number>[],
  k: number,
): { index: number; score: number }[] {
  if (!Number.isSafeInteger(k) || k < 0) {
    throw new HearthError(RunnerErrorCode.InvalidArgument, `k must be an integer >= 0, got ${k}`);
  }
  return vectors
    .map((v, index) => ({ index, score: similarity(query, v) }))
    .sort((x, y) => y.score - x.score || x.index - y.index)
    .slice(0, k);
}

// ---- the built-in hearth adapter -------------------------------------------------------

/** The directory's files and whether each is required. */
const DIR_FILES: [keyof EmbeddingFiles, string, boolean][] = [
  ['config', 'config.json', true],
  ['tokenizer', 'tokenizer.json', true],
  ['weights', 'model.safetensors', true],
  ['modules', 'modules.json', false],
  ['sentenceConfig', 'sentence_bert_config.json', false],
];

/** Reads a whole file source; `undefined` for a missing optional one. @internal */
export async function readFileSource(
  source: EmbeddingFileSource,
  signal: AbortSignal | undefined,
  name: string,
  required: boolean,
): Promise<ArrayBuffer | undefined> {
  const files = platform().files;
  const path = files?.pathOf(source as string);
  try {
    const opened =
      path !== undefined && files
        ? await files.open(path, signal)
        : await openSource(source, signal);
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of opened.chunks) {
      parts.push(new Uint8Array(c));
      n += c.byteLength;
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out.buffer;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'IO_ERROR' || code === 'HTTP_404') {
      if (!required) return undefined;
      throw new HearthError(
        EmbedErrorCode.MissingFile,
        `the model has no ${name}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    throw e;
  }
}

/** The Pooling module's folder as `modules.json` declares it (default `1_Pooling`). */
function poolingPath(modules: ArrayBuffer | undefined): string {
  if (!modules) return '1_Pooling';
  try {
    const list = JSON.parse(new TextDecoder().decode(modules)) as {
      type?: string;
      path?: string;
    }[];
    const m = list.find((x) => x.type?.endsWith('.Pooling'));
    return m?.path || '1_Pooling';
  } catch {
    // The engine reports a malformed modules.json with its own error.
    return '1_Pooling';
  }
}

/** Whether bytes start with the GGUF magic. */
function isGgufHeader(header: Uint8Array | undefined): boolean {
  return (
    header !== undefined &&
    header.length >= 4 &&
    header[0] === 0x47 &&
    header[1] === 0x47 &&
    header[2] === 0x55 &&
    header[3] === 0x46
  );
}

/** Whether a path or URL names a `.gguf` file. */
function isGgufName(source: unknown): boolean {
  return (
    (typeof source === 'string' || source instanceof URL) &&
    /\.gguf$/i.test(String(source).replace(/[?#].*$/, ''))
  );
}

function isBytes(source: unknown): source is ArrayBuffer | Uint8Array | Blob {
  return (
    source instanceof ArrayBuffer ||
    source instanceof Uint8Array ||
    (typeof Blob !== 'undefined' && source instanceof Blob)
  );
}

function isFiles(source: unknown): source is EmbeddingFiles {
  return (
    typeof source === 'object' &&
    source !== null &&
    !(source instanceof URL) &&
    'config' in source &&
    'tokenizer' in source &&
    'weights' in source
  );
}

/** `dir` + `/` + `name` for a path or URL directory. */
function child(dir: string | URL, name: string): string | URL {
  if (dir instanceof URL || /^[a-z][a-z0-9+.-]+:/i.test(dir)) {
    const base = new URL(String(dir));
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    return new URL(name, base);
  }
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

/** Reads the files of a directory or an {@link EmbeddingFiles} object. */
async function gatherFiles(
  source: string | URL | EmbeddingFiles,
  signal: AbortSignal | undefined,
): Promise<WireEmbeddingFiles> {
  const given: EmbeddingFiles = isFiles(source)
    ? source
    : {
        config: child(source, 'config.json'),
        tokenizer: child(source, 'tokenizer.json'),
        weights: child(source, 'model.safetensors'),
        modules: child(source, 'modules.json'),
        sentenceConfig: child(source, 'sentence_bert_config.json'),
      };
  const out: Partial<WireEmbeddingFiles> = {};
  for (const [key, name, required] of DIR_FILES) {
    const s = given[key];
    if (s === undefined) continue;
    const bytes = await readFileSource(s, signal, name, required);
    if (bytes) out[key] = bytes;
  }
  const pooling =
    given.pooling ??
    (isFiles(source) ? undefined : child(source, `${poolingPath(out.modules)}/config.json`));
  if (pooling !== undefined) {
    const bytes = await readFileSource(pooling, signal, 'pooling config.json', false);
    if (bytes) out.pooling = bytes;
  }
  return out as WireEmbeddingFiles;
}

/** The hearth-core engine behind the runner's worker protocol. */
class HearthEmbeddingEngine implements EmbeddingEngine {
  #client: WorkerClient;
  #info: EmbeddingInfo;

  constructor(client: WorkerClient, info: EmbeddingInfo) {
    this.#client = client;
    this.#info = info;
  }

  info(): EmbeddingInfo {
    return this.#info;
  }

  async embed(
    texts: string[],
    options: { normalize?: boolean; batchSize: number },
  ): Promise<EmbedResult> {
    const r = await this.#client.request<WireEmbeddings>({
      op: 'embed',
      id: this.#client.nextId(),
      texts,
      batchSize: options.batchSize,
      ...(options.normalize !== undefined ? { normalize: options.normalize } : {}),
    });
    const flat = r.vectors instanceof Float32Array ? r.vectors : new Float32Array(r.vectors);
    const vectors: Float32Array[] = [];
    for (let i = 0; i < texts.length; i++) {
      vectors.push(flat.slice(i * r.dims, (i + 1) * r.dims));
    }
    return { vectors, dims: r.dims, truncated: r.truncated };
  }

  encode(text: string): Promise<{ ids: number[]; truncated: boolean }> {
    return this.#client.request({ op: 'embedEncode', id: this.#client.nextId(), text });
  }

  dispose(): void {
    this.#client.fail(
      new HearthError(RunnerErrorCode.Disposed, 'the embedding runner was disposed'),
    );
  }
}

/** What the engines answer to an embedding model load (`EmbedInfoJs` in hearth-core). */
interface CoreEmbedInfo {
  architecture: string;
  dims: number;
  layers: number;
  heads: number;
  vocabSize: number;
  maxTokens: number;
  pooling: string;
  normalize: boolean;
  matrixType: string;
  quantized: boolean;
  matrixBytes: number;
}

async function loadHearth(
  source: string | URL | EmbeddingFiles | ArrayBuffer | Uint8Array | Blob,
  options: EmbeddingLoadOptions,
): Promise<EmbeddingEngine> {
  const { spawn, files } = platform();
  if (!spawn)
    throw new HearthError(RunnerErrorCode.Internal, 'no worker factory: import @hearth/runner');
  const { signal, quantize = false, backend = 'auto' } = options;
  if (backend !== 'auto' && backend !== 'wasm') {
    throw new HearthError(
      RunnerErrorCode.InvalidOption,
      `invalid option backend: ${JSON.stringify(backend)} (expected auto or wasm)`,
    );
  }
  // A GGUF file (by name or bytes) is one file; anything else is a directory's files.
  const gguf = isBytes(source) || isGgufName(source);
  const dir = isFiles(source) || isBytes(source) ? undefined : files?.pathOf(source as string);
  if (!gguf && dir !== undefined && files?.isDirectory && !(await files.isDirectory(dir))) {
    throw new HearthError('IO_ERROR', `${dir} is not a directory`);
  }
  let port: ReturnType<typeof spawn>;
  try {
    port = spawn(dir !== undefined && backend === 'auto' ? 'auto' : 'wasm');
  } catch (e) {
    throw toHearthError(e, RunnerErrorCode.Worker);
  }
  const client = new WorkerClient(port);
  const onAbort = () =>
    client.fail(new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let info: CoreEmbedInfo;
    if (dir !== undefined && port.loadsFiles) {
      info = await client.request<CoreEmbedInfo>({
        op: 'embedLoadDir',
        id: client.nextId(),
        path: dir,
        quantize,
      });
    } else if (gguf) {
      // A copy: the bytes are transferred to the worker, and a caller's buffer stays usable.
      const bytes = await readFileSource(source as EmbeddingFileSource, signal, 'GGUF file', true);
      throwIfAborted(signal);
      const buffer = bytes as ArrayBuffer;
      const id = client.nextId();
      info = await client.request<CoreEmbedInfo>(
        { op: 'embedLoadGguf', id, bytes: buffer, quantize },
        { transfer: [buffer] },
      );
    } else {
      const wire = await gatherFiles(source as string | URL | EmbeddingFiles, signal);
      throwIfAborted(signal);
      const transfer = Object.values(wire) as ArrayBuffer[];
      const id = client.nextId();
      const done = client.request<CoreEmbedInfo>(
        { op: 'embedLoad', id, files: wire, quantize },
        {
          transfer,
        },
      );
      info = await done;
    }
    const { dims, maxTokens, pooling, normalize, ...details } = info;
    return new HearthEmbeddingEngine(client, {
      adapter: 'hearth',
      engine: port.engine ?? 'wasm',
      dims,
      maxTokens,
      pooling,
      normalize,
      details,
    });
  } catch (e) {
    const error = signal?.aborted
      ? new HearthError(RunnerErrorCode.Aborted, 'model loading was aborted', { cause: e })
      : toHearthError(e);
    client.fail(error);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

registerAdapter({
  name: 'hearth',
  canLoad(source, header) {
    if (isFiles(source)) return true;
    if (header !== undefined) return isGgufHeader(header);
    if (typeof source === 'string' || source instanceof URL) {
      // A GGUF file, or a directory: not a single model file of another format.
      return !/\.(onnx|safetensors|bin)$/i.test(String(source).replace(/[?#].*$/, ''));
    }
    return false;
  },
  load: (source, options) =>
    loadHearth(source as string | URL | EmbeddingFiles | ArrayBuffer | Uint8Array, options),
});
