/**
 * The WebGL2 matmul prototype (bench/webgl, verdict in docs/webgl.md) on real
 * SmolLM2-135M Q4_1 weights in headless Chromium (SwiftShader without a GPU):
 * the fragment-shader products match a float64 reference computed from the same
 * bytes and Hearth's own wasm kernels (`WasmMatrix.matmul`), and bad inputs give
 * coded errors.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { SWIFTSHADER_FLAGS, startWebglServer } from '../../bench/webgl/server.mjs';
import { modelsDir } from './fixtures.js';

const MODEL = join(modelsDir, 'SmolLM2-135M-Instruct.Q4_1.gguf');

test.use({
  launchOptions: {
    executablePath: process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--no-first-run', ...SWIFTSHADER_FLAGS],
  },
});

/** What `webgl.check` returns (bench/webgl/src/page.ts). */
interface Check {
  name: string;
  type: string;
  rows: number;
  cols: number;
  nTok: number;
  glError: number;
  wasmError: number;
  glVsWasm: number;
  argmaxAgree: number;
  finite: boolean;
}

/** The page's global (bench/webgl/src/page.ts `api`). */
interface WebglPage {
  webgl: {
    setup(model: string, wasm: string): Promise<{ gl: { maxTextureSize: number } }>;
    check(name: string, nTok: number): Check;
    errors(): Record<string, string>;
  };
}

test('WebGL2 Q4_1 / Q8_0 products match the float64 reference and the wasm kernels', async ({
  page,
}) => {
  test.skip(!existsSync(MODEL), `${MODEL} missing: run scripts/fetch-models`);
  const server = await startWebglServer(MODEL);
  try {
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => 'webgl' in globalThis);
    const env = await page.evaluate(() =>
      (globalThis as unknown as WebglPage).webgl.setup('/model.gguf', '/wasm/hearth_wasm.js'),
    );
    expect(env.gl.maxTextureSize).toBeGreaterThanOrEqual(4096);
    const cases: [string, number][] = [
      ['blk.0.ffn_up.weight', 1], // 1536 × 576 Q4_1, a decode step
      ['blk.3.ffn_down.weight', 64], // 576 × 1536 Q4_1, a 64-token prefill batch
      ['token_embd.weight', 1], // 49152 × 576 Q8_0, the tied output matrix
    ];
    for (const [name, nTok] of cases) {
      const r: Check = await page.evaluate(
        ([n, t]) => (globalThis as unknown as WebglPage).webgl.check(n, t),
        [name, nTok] as const,
      );
      expect(r.finite, name).toBe(true);
      // Float32 summation of `cols` terms, in any order, errs by at most about
      // cols·2⁻²⁴·Σ|w·x| (the standard bound); the shader must stay inside it.
      const f32Bound = r.cols * 2 ** -24;
      expect(r.glError, `${name} WebGL vs float64`).toBeLessThan(f32Bound);
      // The wasm kernels quantize activations to 8 bits per 32-block first: ~1/254 of a
      // block's largest |x| per element, measured ≈ 0.13% of Σ|w·x| here; 0.5% bounds it.
      // (A wrong row, block, nibble or scale gives errors of order 1.)
      expect(r.wasmError, `${name} wasm vs float64`).toBeLessThan(0.005);
      expect(r.glVsWasm, `${name} WebGL vs wasm`).toBeLessThan(0.005);
      expect(r.argmaxAgree, `${name} argmax`).toBe(nTok);
    }
    const codes = await page.evaluate(() => (globalThis as unknown as WebglPage).webgl.errors());
    expect(codes).toEqual({
      missingTensor: 'BAD_MATRIX',
      vectorTensor: 'BAD_MATRIX',
      notGguf: expect.stringMatching(/^GGUF_/),
      shortWeights: 'BAD_INPUT',
      oddRows: 'BAD_INPUT',
    });
  } finally {
    await server.close();
  }
});
