// EmbeddingRunner end to end in Node on all-MiniLM-L6-v2 (the SafeTensors directory): vectors
// against the numpy reference, Q8_0, truncation flags, search helpers, typed errors, and the
// ONNX adapter (onnxruntime-node, int8 model) agreeing with Hearth. Runs under
// HEARTH_RUNTIME=native (the @hearth/node addon) and HEARTH_RUNTIME=wasm (worker thread).
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adapterNames,
  EmbeddingRunner,
  HearthError,
  registerAdapter,
  similarity,
  topK,
} from '@hearth/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bertReference, LONG, SENTENCES } from './bert-reference.js';
import { modelPath, SMOLLM2 } from './models.js';
import { runRustCli } from './rust-cli.js';

const RUNTIME = process.env.HEARTH_RUNTIME === 'wasm' ? 'wasm' : 'native';
const DIR = modelPath('all-MiniLM-L6-v2');

async function rejection(f: () => unknown): Promise<HearthError> {
  let error: unknown;
  try {
    await f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HearthError);
  return error as HearthError;
}

describe(`EmbeddingRunner on all-MiniLM-L6-v2, ${RUNTIME}`, () => {
  let runner: EmbeddingRunner;
  let reference: number[][];

  beforeAll(async () => {
    runner = await EmbeddingRunner.load(DIR);
    const ids = await Promise.all(SENTENCES.map(async (s) => (await runner.encode(s)).ids));
    reference = bertReference(DIR, ids);
  }, 120_000);
  afterAll(() => runner?.dispose());

  it('describes the model and its engine', () => {
    const info = runner.info();
    expect(info).toMatchObject({
      adapter: 'hearth',
      engine: RUNTIME === 'wasm' ? 'wasm' : 'hearth',
      dims: 384,
      maxTokens: 256,
      pooling: 'mean',
      normalize: true,
    });
    expect(info.details).toMatchObject({ architecture: 'bert', layers: 6, quantized: false });
  });

  it('matches the numpy reference (cosine >= 0.9999) and flags the truncated text', async () => {
    const r = await runner.embed(SENTENCES);
    expect(r.dims).toBe(384);
    expect(r.vectors).toHaveLength(SENTENCES.length);
    expect(r.truncated).toEqual(SENTENCES.map((_, i) => i === LONG));
    r.vectors.forEach((v, i) => {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(384);
      expect(similarity(v, reference[i] as number[])).toBeGreaterThanOrEqual(0.9999);
    });
    const enc = await runner.encode(SENTENCES[LONG] as string);
    expect(enc).toMatchObject({ truncated: true });
    expect(enc.ids).toHaveLength(256);
  });

  it('gives the same vectors for any batch size, and unnormalised on request', async () => {
    const a = await runner.embed(SENTENCES.slice(0, 4), { batchSize: 1 });
    const b = await runner.embed(SENTENCES.slice(0, 4), { batchSize: 3 });
    a.vectors.forEach((v, i) => {
      expect(similarity(v, b.vectors[i] as Float32Array)).toBeGreaterThan(0.99999);
    });
    const raw = await runner.embed(SENTENCES.slice(0, 1), { normalize: false });
    const norm = Math.hypot(...(raw.vectors[0] as Float32Array));
    expect(Math.abs(norm - 1)).toBeGreaterThan(0.01);
    expect(
      similarity(raw.vectors[0] as Float32Array, a.vectors[0] as Float32Array),
    ).toBeGreaterThan(0.99999);
  });

  it('ranks paraphrases above unrelated texts (similarity, topK)', async () => {
    const { vectors } = await runner.embed(SENTENCES.slice(0, 4));
    const [guitar, plays, stocks, bread] = vectors as Float32Array[];
    expect(similarity(guitar as Float32Array, plays as Float32Array)).toBeGreaterThan(
      similarity(guitar as Float32Array, stocks as Float32Array) + 0.3,
    );
    const best = topK(plays as Float32Array, [stocks, bread, guitar] as Float32Array[], 2);
    expect(best.map((b) => b.index)).toEqual([2, expect.any(Number)]);
    expect(best[0]?.score).toBeGreaterThan(best[1]?.score as number);
    expect(() => similarity([1, 0], [1])).toThrow(HearthError);
  });

  it('quantizes to Q8_0 at load (cosine >= 0.99 to the reference)', async () => {
    const q = await EmbeddingRunner.load(DIR, { quantize: true });
    try {
      expect(q.info().details).toMatchObject({ quantized: true, matrixType: 'Q8_0' });
      const r = await q.embed(SENTENCES);
      r.vectors.forEach((v, i) => {
        expect(similarity(v, reference[i] as number[])).toBeGreaterThanOrEqual(0.99);
      });
    } finally {
      q.dispose();
    }
  });

  it('rejects bad input with typed errors', async () => {
    expect((await rejection(() => runner.embed([]))).code).toBe('EMPTY_INPUT');
    expect((await rejection(() => runner.embed('text' as never))).code).toBe(
      'HEARTH_INVALID_ARGUMENT',
    );
    expect((await rejection(() => runner.embed(['a'], { batchSize: 0 }))).code).toBe(
      'INVALID_OPTION',
    );
    expect((await rejection(() => EmbeddingRunner.load(join(DIR, 'nope')))).code).toBe('IO_ERROR');
    expect((await rejection(() => EmbeddingRunner.load(42 as never))).code).toBe('NO_ADAPTER');
    const tmp = await mkdtemp(join(tmpdir(), 'hearth-embed-'));
    try {
      const load = () => EmbeddingRunner.load(tmp);
      let e = await rejection(load);
      expect(e.code).toBe('MISSING_MODEL_FILE');
      expect(e.message).toContain('config.json');
      await symlink(join(DIR, 'config.json'), join(tmp, 'config.json'));
      e = await rejection(load);
      expect(e.code).toBe('MISSING_MODEL_FILE');
      expect(e.message).toContain('tokenizer.json');
      await symlink(join(DIR, 'tokenizer.json'), join(tmp, 'tokenizer.json'));
      expect((await rejection(load)).code).toBe('MISSING_MODEL_FILE');
      // A SafeTensors header that claims more data than the file has.
      const header = JSON.stringify({
        'embeddings.word_embeddings.weight': {
          dtype: 'F32',
          shape: [30522, 384],
          data_offsets: [0, 30522 * 384 * 4],
        },
      });
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      await writeFile(
        join(tmp, 'model.safetensors'),
        Buffer.concat([len, Buffer.from(header), Buffer.alloc(64)]),
      );
      expect((await rejection(load)).code).toBe('SAFETENSORS_INVALID');
      // A dtype that disagrees with the byte count.
      const header2 = JSON.stringify({
        x: { dtype: 'F16', shape: [4], data_offsets: [0, 16] },
      });
      len.writeBigUInt64LE(BigInt(header2.length));
      await writeFile(
        join(tmp, 'model.safetensors'),
        Buffer.concat([len, Buffer.from(header2), Buffer.alloc(16)]),
      );
      expect((await rejection(load)).code).toBe('SAFETENSORS_INVALID');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    const gone = await EmbeddingRunner.load(DIR, { quantize: true });
    gone.dispose();
    expect((await rejection(() => gone.embed(['a']))).code).toBe('HEARTH_DISPOSED');
  });

  it('loads through a registered adapter first, and by name', async () => {
    const seen: unknown[] = [];
    const unregister = registerAdapter({
      name: 'test-fixed',
      canLoad: (source, header) => {
        seen.push(header);
        return source instanceof Uint8Array;
      },
      load: async () => ({
        info: () => ({
          adapter: 'test-fixed',
          engine: 'js',
          dims: 2,
          maxTokens: 8,
          pooling: 'mean',
          normalize: false,
          details: {},
        }),
        embed: async (texts) => ({
          vectors: texts.map((t) => Float32Array.of(t.length, 1)),
          dims: 2,
          truncated: texts.map(() => false),
        }),
        encode: async () => ({ ids: [], truncated: false }),
        dispose: () => {},
      }),
    });
    try {
      expect(adapterNames()[0]).toBe('test-fixed');
      const r = await EmbeddingRunner.load(new Uint8Array([1, 2, 3]));
      expect(seen[0]).toEqual(new Uint8Array([1, 2, 3]));
      expect((await r.embed(['abc'])).vectors[0]).toEqual(Float32Array.of(3, 1));
      const e = await rejection(() => EmbeddingRunner.load(DIR, { adapter: 'nope' }));
      expect(e.code).toBe('NO_ADAPTER');
    } finally {
      unregister();
    }
    expect(adapterNames()).not.toContain('test-fixed');
  });
});

// The GGUF is written by the Rust CLI's converter (`hearth convert-embedding`, tested against
// llama.cpp in core/tests/embed_gguf.rs): the simplest honest way to get a bert GGUF here
// without a second GGUF writer in JavaScript.
describe(`EmbeddingRunner on a bert GGUF (all-MiniLM-L6-v2 converted), ${RUNTIME}`, () => {
  let tmp: string;
  let gguf: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'hearth-embed-gguf-'));
    gguf = join(tmp, 'all-MiniLM-L6-v2.f16.gguf');
    await runRustCli(['convert-embedding', '--out', gguf, '--type', 'f16', DIR]);
  }, 120_000);
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('embeds from a path and from bytes like the SafeTensors directory', async () => {
    const st = await EmbeddingRunner.load(DIR);
    const fromPath = await EmbeddingRunner.load(gguf);
    // Bytes always run in the wasm engine (the native addon maps files from disk).
    const fromBytes = await EmbeddingRunner.load(new Uint8Array(await readFile(gguf)));
    try {
      expect(fromPath.info()).toMatchObject({
        adapter: 'hearth',
        engine: RUNTIME === 'wasm' ? 'wasm' : 'hearth',
        dims: 384,
        pooling: 'mean',
        normalize: true,
      });
      expect(fromPath.info().details).toMatchObject({ architecture: 'bert', matrixType: 'F16' });
      expect(fromBytes.info().engine).toBe('wasm');
      const texts = SENTENCES.slice(0, 4);
      const want = await st.embed(texts);
      for (const r of [fromPath, fromBytes]) {
        const got = await r.embed(texts);
        got.vectors.forEach((v, i) => {
          expect(similarity(v, want.vectors[i] as Float32Array)).toBeGreaterThanOrEqual(0.999);
        });
        expect((await r.encode(texts[0] as string)).ids).toEqual(
          (await st.encode(texts[0] as string)).ids,
        );
      }
    } finally {
      st.dispose();
      fromPath.dispose();
      fromBytes.dispose();
    }
  });

  it('refuses a decoder LLM GGUF and damaged GGUF bytes with typed errors', async () => {
    const e = await rejection(() => EmbeddingRunner.load(modelPath(SMOLLM2)));
    expect(e.code).toBe('UNSUPPORTED_ARCHITECTURE');
    const bytes = new Uint8Array(await readFile(gguf));
    const cut = await rejection(() => EmbeddingRunner.load(bytes.subarray(0, 4096)));
    expect(cut.code).toMatch(/^GGUF_/);
  });
});

describe(`ONNX adapter (onnxruntime-node, int8 all-MiniLM-L6-v2), tokenizer ${RUNTIME}`, () => {
  it('agrees with Hearth (cosine >= 0.98) and flags truncation', async () => {
    const onnx = await EmbeddingRunner.load({
      onnx: modelPath('all-MiniLM-L6-v2-int8.onnx'),
      tokenizer: join(DIR, 'tokenizer.json'),
      pooling: join(DIR, '1_Pooling', 'config.json'),
      modules: join(DIR, 'modules.json'),
      sentenceConfig: join(DIR, 'sentence_bert_config.json'),
    });
    const hearth = await EmbeddingRunner.load(DIR);
    try {
      expect(onnx.info()).toMatchObject({
        adapter: 'onnx',
        engine: 'onnxruntime-node',
        dims: 384,
        maxTokens: 256,
        pooling: 'mean',
        normalize: true,
      });
      const a = await onnx.embed(SENTENCES, { batchSize: 4 });
      const b = await hearth.embed(SENTENCES);
      expect(a.truncated).toEqual(b.truncated);
      a.vectors.forEach((v, i) => {
        expect(similarity(v, b.vectors[i] as Float32Array)).toBeGreaterThanOrEqual(0.98);
      });
      expect(await onnx.encode(SENTENCES[0] as string)).toEqual(
        await hearth.encode(SENTENCES[0] as string),
      );
    } finally {
      onnx.dispose();
      hearth.dispose();
    }
  });

  it('rejects a file that is not an ONNX model', async () => {
    const e = await rejection(() =>
      EmbeddingRunner.load({
        onnx: new Uint8Array([1, 2, 3, 4]),
        tokenizer: join(DIR, 'tokenizer.json'),
      }),
    );
    expect(e.code).toBe('ONNX_BAD_MODEL');
  });
});
