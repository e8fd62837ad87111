// EmbeddingRunner in Chromium: all-MiniLM-L6-v2's SafeTensors directory downloaded from the
// test server into the wasm engine's worker, checked against the numpy reference; and the
// ONNX adapter on onnxruntime-web (its wasm files served from node_modules, no CDN) agreeing
// with Hearth's vectors.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as Runner from '@hearth/runner';
import { bertReference, LONG, SENTENCES } from '../../packages/runner/test/bert-reference.js';
import { expect, modelsDir, test } from './fixtures.js';

const DIR = join(modelsDir, 'all-MiniLM-L6-v2');

interface PageResult {
  info: Runner.EmbeddingInfo;
  ids: number[][];
  vectors: number[][];
  truncated: boolean[];
  q8?: number[][];
  errors?: Record<string, string>;
}

declare global {
  interface Window {
    hearth: typeof Runner;
  }
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  });
  return dot / Math.sqrt(na * nb);
}

test.beforeAll(() => {
  expect(existsSync(join(DIR, 'model.safetensors')), `run scripts/fetch-models`).toBe(true);
});

test('embeds with the wasm engine matching the numpy reference (F32 0.9999, Q8_0 0.99)', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await page.goto('/embed.html');
  await expect(page.locator('#status')).toHaveText('ready');
  const r: PageResult = await page.evaluate(async (texts) => {
    const { EmbeddingRunner } = window.hearth;
    const runner = await EmbeddingRunner.load('/models/all-MiniLM-L6-v2/');
    const out = await runner.embed(texts);
    const ids = await Promise.all(texts.map(async (t) => (await runner.encode(t)).ids));
    const errors: Record<string, string> = {};
    await runner.embed([]).catch((e) => {
      errors.empty = e.code;
    });
    await EmbeddingRunner.load('/models/no-such-model/').catch((e) => {
      errors.missing = e.code;
    });
    runner.dispose();
    const q = await EmbeddingRunner.load(
      {
        config: '/models/all-MiniLM-L6-v2/config.json',
        tokenizer: '/models/all-MiniLM-L6-v2/tokenizer.json',
        weights: '/models/all-MiniLM-L6-v2/model.safetensors',
        pooling: '/models/all-MiniLM-L6-v2/1_Pooling/config.json',
        modules: '/models/all-MiniLM-L6-v2/modules.json',
        sentenceConfig: '/models/all-MiniLM-L6-v2/sentence_bert_config.json',
      },
      { quantize: true },
    );
    const q8 = (await q.embed(texts)).vectors.map((v) => Array.from(v));
    q.dispose();
    return {
      info: runner.info(),
      ids,
      vectors: out.vectors.map((v) => Array.from(v)),
      truncated: out.truncated,
      q8,
      errors,
    };
  }, SENTENCES);
  expect(r.info).toMatchObject({ adapter: 'hearth', engine: 'wasm', dims: 384, maxTokens: 256 });
  expect(r.truncated).toEqual(SENTENCES.map((_, i) => i === LONG));
  expect(r.errors).toEqual({ empty: 'EMPTY_INPUT', missing: 'MISSING_MODEL_FILE' });
  const reference = bertReference(DIR, r.ids);
  r.vectors.forEach((v, i) => {
    expect(cosine(v, reference[i] as number[])).toBeGreaterThanOrEqual(0.9999);
  });
  r.q8?.forEach((v, i) => {
    expect(cosine(v, reference[i] as number[])).toBeGreaterThanOrEqual(0.99);
  });
  expect(failures).toEqual([]);
});

test('the ONNX adapter runs on onnxruntime-web and agrees with Hearth (cosine >= 0.98)', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await page.goto('/embed.html');
  await expect(page.locator('#status')).toHaveText('ready');
  const r = await page.evaluate(async (texts) => {
    const { EmbeddingRunner } = window.hearth;
    const base = '/models/all-MiniLM-L6-v2/';
    const onnx = await EmbeddingRunner.load(
      {
        onnx: '/models/all-MiniLM-L6-v2-int8.onnx',
        tokenizer: `${base}tokenizer.json`,
        pooling: `${base}1_Pooling/config.json`,
        modules: `${base}modules.json`,
        sentenceConfig: `${base}sentence_bert_config.json`,
      },
      { wasmPaths: '/ort/' },
    );
    const hearth = await EmbeddingRunner.load(base);
    const a = await onnx.embed(texts, { batchSize: 4 });
    const b = await hearth.embed(texts);
    onnx.dispose();
    hearth.dispose();
    return {
      info: onnx.info(),
      a: a.vectors.map((v) => Array.from(v)),
      b: b.vectors.map((v) => Array.from(v)),
      truncated: [a.truncated, b.truncated],
    };
  }, SENTENCES);
  expect(r.info).toMatchObject({ adapter: 'onnx', engine: 'onnxruntime-web', dims: 384 });
  expect(r.truncated[0]).toEqual(r.truncated[1]);
  r.a.forEach((v, i) => {
    expect(cosine(v, r.b[i] as number[])).toBeGreaterThanOrEqual(0.98);
  });
});
