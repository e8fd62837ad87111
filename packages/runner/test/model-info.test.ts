import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { HearthError, type ModelInfo, readModelInfo, version } from '../src/node.js';
import { GEMMA3, modelPath, SMOLLM2 } from './models.js';

/** Every key of a ModelInfo: the TS interface must match what the engine returns. */
const MODEL_INFO_KEYS: (keyof ModelInfo)[] = [
  'gguf_version',
  'file_size',
  'architecture',
  'name',
  'parameter_count',
  'context_length',
  'embedding_length',
  'block_count',
  'head_count',
  'head_count_kv',
  'file_type',
  'tensor_count',
  'tensor_bytes',
  'tensor_types',
  'tokenizer',
  'vocab_size',
  'chat_template',
  'license',
  'source',
  'alignment',
  'metadata_count',
];

/** Awaits a rejection and returns it as a HearthError (fails the test otherwise). */
async function rejection(p: Promise<unknown>): Promise<HearthError> {
  const e = await p.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HearthError);
  return e as HearthError;
}

describe('readModelInfo on SmolLM2-135M (Q4_1)', () => {
  let bytes: Uint8Array;
  let info: ModelInfo;
  beforeAll(async () => {
    bytes = await readFile(modelPath(SMOLLM2));
    info = await readModelInfo(bytes);
  });

  it('reports the llama architecture, tensors, vocabulary and chat template', () => {
    expect(info.architecture).toBe('llama');
    expect(info.tensor_count).toBe(272);
    expect(info.vocab_size).toBe(49152);
    expect(info.tokenizer.vocab_size).toBe(49152);
    expect(info.tokenizer.model).toBe('gpt2');
    expect(info.chat_template).toBe(true);
    expect(info.file_type).toBe('Q4_1');
    expect(info.file_size).toBe(bytes.byteLength);
    expect(info.block_count).toBe(30);
    expect(info.embedding_length).toBe(576);
    expect(info.gguf_version).toBe(3);
  });

  it('has exactly the ModelInfo shape: snake_case keys, null for absent, plain objects for maps', () => {
    expect(Object.keys(info).sort()).toEqual([...MODEL_INFO_KEYS].sort());
    expect(Object.getPrototypeOf(info.tensor_types)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(info.source)).toBe(Object.prototype);
    const perType = Object.values(info.tensor_types);
    expect(perType.reduce((n, t) => n + t.count, 0)).toBe(272);
    expect(perType.reduce((n, t) => n + t.bytes, 0)).toBe(info.tensor_bytes);
    expect(info.tensor_types.Q4_1?.count).toBeGreaterThan(0);
    expect(Object.values(info).some((v) => v === undefined)).toBe(false);
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
  });

  it('accepts an ArrayBuffer as well as a Uint8Array', async () => {
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    expect(copy).toBeInstanceOf(ArrayBuffer);
    expect(await readModelInfo(copy as ArrayBuffer)).toEqual(info);
  });

  it('rejects a file cut inside its fixed header with GGUF_TRUNCATED', async () => {
    const e = await rejection(readModelInfo(bytes.subarray(0, 20)));
    expect(e.code).toBe('GGUF_TRUNCATED');
    expect(e.message).toMatch(/truncated/);
  });

  it('rejects a file cut inside its vocabulary with GGUF_COUNT_TOO_LARGE', async () => {
    const e = await rejection(readModelInfo(bytes.subarray(0, 64 * 1024)));
    expect(e.code).toBe('GGUF_COUNT_TOO_LARGE');
  });

  it('rejects a file cut inside its tensor data with GGUF_TENSOR_OUT_OF_BOUNDS', async () => {
    const e = await rejection(readModelInfo(bytes.subarray(0, bytes.byteLength - 1024 * 1024)));
    expect(e.code).toBe('GGUF_TENSOR_OUT_OF_BOUNDS');
    expect(e.message).toMatch(/outside the file's data section/);
  });
});

describe('readModelInfo on Gemma 3 270M (Q4_K_M)', () => {
  it('reports the gemma3 architecture and its 236 tensors', async () => {
    const info = await readModelInfo(await readFile(modelPath(GEMMA3)));
    expect(info.architecture).toBe('gemma3');
    expect(info.tensor_count).toBe(236);
    expect(info.file_type).toBe('Q4_K_M');
    expect(info.tokenizer.model).toBe('llama');
    expect(info.vocab_size).toBe(262144);
    // This GGUF conversion carries no tokenizer.chat_template.
    expect(info.chat_template).toBe(false);
  });
});

describe('errors', () => {
  it('rejects an HTML error page with GGUF_BAD_MAGIC', async () => {
    const e = await rejection(readModelInfo(new TextEncoder().encode('<html>404</html>')));
    expect(e.code).toBe('GGUF_BAD_MAGIC');
    expect(e.name).toBe('HearthError');
    expect(e.message).toMatch(/not a GGUF file/);
    expect(e).toBeInstanceOf(Error);
  });

  it('rejects an empty buffer without trapping', async () => {
    const e = await rejection(readModelInfo(new Uint8Array()));
    expect(e.code).toBe('GGUF_TRUNCATED');
  });

  it('keeps working after errors', async () => {
    await rejection(readModelInfo(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
    expect(await version()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects a non-buffer argument with HEARTH_INVALID_ARGUMENT', async () => {
    const e = await rejection(readModelInfo('model.gguf' as unknown as Uint8Array));
    expect(e.code).toBe('HEARTH_INVALID_ARGUMENT');
  });
});

describe('the built package', () => {
  it('resolves to the Node entry through its exports map and loads the real wasm', async () => {
    const script = `
      import { readFile } from 'node:fs/promises';
      import { readModelInfo, version, HearthError } from '@hearth/runner';
      const info = await readModelInfo(await readFile(process.argv[1]));
      let code;
      try { await readModelInfo(new Uint8Array(16)); } catch (e) { code = e instanceof HearthError && e.code; }
      console.log(JSON.stringify({ v: await version(), arch: info.architecture, n: info.tensor_count, code }));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script, modelPath(SMOLLM2)],
      { cwd: import.meta.dirname },
    );
    expect(JSON.parse(stdout)).toMatchObject({ arch: 'llama', n: 272, code: 'GGUF_BAD_MAGIC' });
  });
});
