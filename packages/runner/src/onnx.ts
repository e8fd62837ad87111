/**
 * The ONNX adapter: sentence-embedding models exported to ONNX (BERT-style inputs
 * `input_ids`, `attention_mask`, optional `token_type_ids`; output the token states
 * `[batch, tokens, dims]`) run by onnxruntime — `onnxruntime-web` (wasm) in browsers,
 * `onnxruntime-node` (CPU) in Node, both optional peer dependencies loaded by dynamic
 * import on first use. Texts are tokenized with Hearth's tokenizer (hearth-wasm, or
 * `@hearth/node` in Node) from the model's `tokenizer.json`; pooling and normalisation follow
 * the sentence-transformers files when given (default: mean pooling, L2-normalised, 256
 * tokens, as all-MiniLM-L6-v2).
 *
 * Source: `{ onnx, tokenizer, pooling?, modules?, sentenceConfig? }`, each a file source
 * (URL, Node path, `Blob` or bytes). Load options of its own: `wasmPaths` (browsers: where
 * onnxruntime-web's files are served) and `sessionOptions` (merged into onnxruntime's, e.g.
 * `{ intraOpNumThreads: 1 }`).
 */

import type { ModelAdapter } from './adapters.js';
import type {
  EmbeddingEngine,
  EmbeddingFileSource,
  EmbeddingInfo,
  EmbedResult,
} from './embedding.js';
import { readFileSource } from './embedding.js';
import { HearthError } from './errors.js';

/** The files of an ONNX embedding model. */
export interface OnnxEmbeddingSource {
  /** The `.onnx` model. */
  onnx: EmbeddingFileSource;
  /** The model's `tokenizer.json`. */
  tokenizer: EmbeddingFileSource;
  /** The Pooling module's `config.json` (default: mean pooling). */
  pooling?: EmbeddingFileSource;
  /** `modules.json`: a `Normalize` module turns normalisation on (default: on). */
  modules?: EmbeddingFileSource;
  /** `sentence_bert_config.json`: `max_seq_length` (default 256). */
  sentenceConfig?: EmbeddingFileSource;
}

/** Error codes of the ONNX adapter. */
export const OnnxErrorCode = {
  /** onnxruntime (`onnxruntime-web` / `onnxruntime-node`) is not installed or failed to start. */
  Unavailable: 'ONNX_UNAVAILABLE',
  /** The model cannot be loaded, or its inputs/outputs are not those of a BERT-style encoder. */
  BadModel: 'ONNX_BAD_MODEL',
  /** onnxruntime failed while running the model. */
  RunFailed: 'ONNX_RUN_FAILED',
} as const;

/** The parts of onnxruntime's API used here (shared by -web and -node). */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}
export interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: readonly number[]) => OrtTensor;
  env: { wasm?: { wasmPaths?: unknown; numThreads?: number } };
}

/** A tokenizer from `tokenizer.json` bytes (Hearth's, through hearth-wasm or hearth-node). */
export interface TextTokenizer {
  encode(text: string, addSpecial: boolean): ArrayLike<number>;
  isSpecial(id: number): boolean;
}

/** How an entry module provides onnxruntime and the tokenizer. */
export interface OnnxPlatform {
  /** `onnxruntime-web` or `onnxruntime-node`, loaded on first use. */
  runtime(): Promise<OrtModule>;
  /** The engine name reported in `info().engine`. */
  runtimeName: string;
  /** Session options (execution providers). */
  sessionOptions: Record<string, unknown>;
  tokenizer(json: Uint8Array): Promise<TextTokenizer>;
}

function isOnnxSource(source: unknown): source is OnnxEmbeddingSource {
  return typeof source === 'object' && source !== null && 'onnx' in source && 'tokenizer' in source;
}

async function read(
  s: EmbeddingFileSource | undefined,
  name: string,
  required: boolean,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | undefined> {
  if (s === undefined) return undefined;
  const b = await readFileSource(s, signal, name, required);
  return b ? new Uint8Array(b) : undefined;
}

function json(bytes: Uint8Array, name: string): Record<string, unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch (e) {
    throw new HearthError('INVALID_MODEL_CONFIG', `${name} is not valid JSON: ${String(e)}`);
  }
}

class OnnxEmbeddingEngine implements EmbeddingEngine {
  #ort: OrtModule;
  #session: OrtSession;
  #tok: TextTokenizer;
  #info: EmbeddingInfo;
  #output: string;
  #typeIds: boolean;

  constructor(
    ort: OrtModule,
    session: OrtSession,
    tok: TextTokenizer,
    info: EmbeddingInfo,
    output: string,
  ) {
    this.#ort = ort;
    this.#session = session;
    this.#tok = tok;
    this.#info = info;
    this.#output = output;
    this.#typeIds = session.inputNames.includes('token_type_ids');
  }

  info(): EmbeddingInfo {
    return this.#info;
  }

  async encode(text: string): Promise<{ ids: number[]; truncated: boolean }> {
    const ids = Array.from(this.#tok.encode(text, true));
    const max = this.#info.maxTokens;
    if (ids.length <= max) return { ids, truncated: false };
    // As HF truncation: keep the closing special token ([SEP]).
    const last = ids[ids.length - 1] as number;
    const cut = ids.slice(0, max);
    if (this.#tok.isSpecial(last)) cut[max - 1] = last;
    return { ids: cut, truncated: true };
  }

  async embed(
    texts: string[],
    options: { normalize?: boolean; batchSize: number },
  ): Promise<EmbedResult> {
    const normalize = options.normalize ?? this.#info.normalize;
    const encoded = await Promise.all(texts.map((t) => this.encode(t)));
    const vectors: Float32Array[] = [];
    for (let at = 0; at < encoded.length; at += options.batchSize) {
      const batch = encoded.slice(at, at + options.batchSize);
      vectors.push(...(await this.#run(batch.map((e) => e.ids))));
    }
    if (normalize) {
      for (const v of vectors) {
        let n = 0;
        for (const x of v) n += x * x;
        n = Math.sqrt(n);
        if (n > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / n;
      }
    }
    return { vectors, dims: this.#info.dims, truncated: encoded.map((e) => e.truncated) };
  }

  /** Runs one right-padded batch and pools each row over its real tokens. */
  async #run(seqs: number[][]): Promise<Float32Array[]> {
    const b = seqs.length;
    const len = Math.max(...seqs.map((s) => s.length));
    const ids = new BigInt64Array(b * len);
    const mask = new BigInt64Array(b * len);
    seqs.forEach((s, i) => {
      s.forEach((id, j) => {
        ids[i * len + j] = BigInt(id);
        mask[i * len + j] = 1n;
      });
    });
    const T = this.#ort.Tensor;
    const feeds: Record<string, OrtTensor> = {
      input_ids: new T('int64', ids, [b, len]),
      attention_mask: new T('int64', mask, [b, len]),
    };
    if (this.#typeIds) feeds.token_type_ids = new T('int64', new BigInt64Array(b * len), [b, len]);
    let out: OrtTensor;
    try {
      const r = await this.#session.run(feeds);
      out = r[this.#output] as OrtTensor;
    } catch (e) {
      throw new HearthError(OnnxErrorCode.RunFailed, `onnxruntime failed: ${String(e)}`, {
        cause: e,
      });
    }
    const [ob, ol, dims] = out.dims;
    if (ob !== b || ol !== len || dims !== this.#info.dims || !(out.data instanceof Float32Array)) {
      throw new HearthError(
        OnnxErrorCode.BadModel,
        `the model's output ${this.#output} has shape [${out.dims.join(', ')}], expected [${b}, ${len}, ${this.#info.dims}] float32`,
      );
    }
    const data = out.data;
    const pooling = this.#info.pooling;
    return seqs.map((s, i) => {
      const v = new Float32Array(dims);
      const row = (j: number) => data.subarray((i * len + j) * dims, (i * len + j + 1) * dims);
      if (pooling === 'cls') {
        v.set(row(0));
      } else if (pooling === 'max') {
        v.fill(-Infinity);
        for (let j = 0; j < s.length; j++) {
          const r = row(j);
          for (let k = 0; k < dims; k++) v[k] = Math.max(v[k] as number, r[k] as number);
        }
      } else {
        for (let j = 0; j < s.length; j++) {
          const r = row(j);
          for (let k = 0; k < dims; k++) v[k] = (v[k] as number) + (r[k] as number);
        }
        for (let k = 0; k < dims; k++) v[k] = (v[k] as number) / s.length;
      }
      return v;
    });
  }

  dispose(): void {
    this.#session.release?.().catch(() => {});
  }
}

/** The ONNX adapter for a platform (registered by the package's entry modules). @internal */
export function onnxAdapter(platform: OnnxPlatform): ModelAdapter {
  return {
    name: 'onnx',
    canLoad: (source) => isOnnxSource(source),
    async load(source, options) {
      if (!isOnnxSource(source)) {
        throw new HearthError(
          'HEARTH_INVALID_ARGUMENT',
          'the onnx adapter loads { onnx, tokenizer, pooling?, modules?, sentenceConfig? }',
        );
      }
      const { signal } = options;
      let ort: OrtModule;
      try {
        ort = await platform.runtime();
      } catch (e) {
        throw new HearthError(
          OnnxErrorCode.Unavailable,
          `${platform.runtimeName} cannot be loaded (install it to use ONNX models): ${String(e)}`,
          { cause: e },
        );
      }
      const wasmPaths = options.wasmPaths;
      if (wasmPaths !== undefined && ort.env.wasm) ort.env.wasm.wasmPaths = wasmPaths;
      const model = (await read(source.onnx, 'model.onnx', true, signal)) as Uint8Array;
      const tokJson = (await read(source.tokenizer, 'tokenizer.json', true, signal)) as Uint8Array;
      const poolingJson = await read(source.pooling, 'pooling config.json', true, signal);
      const modulesJson = await read(source.modules, 'modules.json', true, signal);
      const stJson = await read(source.sentenceConfig, 'sentence_bert_config.json', true, signal);
      let pooling = 'mean';
      if (poolingJson) {
        const p = json(poolingJson, 'the pooling config');
        pooling = p.pooling_mode_cls_token ? 'cls' : p.pooling_mode_max_tokens ? 'max' : 'mean';
      }
      const normalize = modulesJson
        ? (json(modulesJson, 'modules.json') as unknown as { type?: string }[]).some?.((m) =>
            m.type?.endsWith('.Normalize'),
          ) === true
        : true;
      const maxTokens = stJson
        ? Number(json(stJson, 'sentence_bert_config.json').max_seq_length ?? 512)
        : 256;
      const tokenizer = await platform.tokenizer(tokJson);
      let session: OrtSession;
      try {
        const extra = options.sessionOptions;
        session = await ort.InferenceSession.create(model, {
          ...platform.sessionOptions,
          ...(typeof extra === 'object' && extra !== null ? extra : {}),
        });
      } catch (e) {
        throw new HearthError(
          OnnxErrorCode.BadModel,
          `onnxruntime cannot load the model: ${String(e)}`,
          { cause: e },
        );
      }
      const missing = ['input_ids', 'attention_mask'].filter(
        (n) => !session.inputNames.includes(n),
      );
      const output = session.outputNames.includes('last_hidden_state')
        ? 'last_hidden_state'
        : session.outputNames[0];
      if (missing.length > 0 || output === undefined) {
        session.release?.().catch(() => {});
        throw new HearthError(
          OnnxErrorCode.BadModel,
          `not a BERT-style encoder: inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`,
        );
      }
      // The output width: one probe run of "[CLS] [SEP]"-like ids.
      const probe = Array.from(tokenizer.encode('', true));
      const engine = new OnnxEmbeddingEngine(
        ort,
        session,
        tokenizer,
        {
          adapter: 'onnx',
          engine: platform.runtimeName,
          dims: 0,
          maxTokens,
          pooling,
          normalize,
          details: { inputs: session.inputNames, output },
        },
        output,
      );
      const dims = await probeDims(ort, session, output, probe);
      (engine.info() as { dims: number }).dims = dims;
      return engine;
    },
  };
}

async function probeDims(
  ort: OrtModule,
  session: OrtSession,
  output: string,
  ids: number[],
): Promise<number> {
  const n = Math.max(ids.length, 1);
  const feeds: Record<string, OrtTensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
  };
  if (session.inputNames.includes('token_type_ids')) {
    feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n), [1, n]);
  }
  try {
    const r = await session.run(feeds);
    const dims = r[output]?.dims;
    if (dims?.length === 3 && typeof dims[2] === 'number') return dims[2];
  } catch (e) {
    throw new HearthError(OnnxErrorCode.BadModel, `onnxruntime failed on a probe: ${String(e)}`, {
      cause: e,
    });
  }
  throw new HearthError(
    OnnxErrorCode.BadModel,
    `the model's output ${output} is not [batch, tokens, dims]`,
  );
}
