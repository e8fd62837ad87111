// LlamaRunner in Chromium: the engine in a module Web Worker, the real wasm,
// SmolLM2 downloaded from the test server, greedy decoding.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, modelsDir, test } from './fixtures.js';

const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';

interface Summary {
  text: string;
  tokens: number;
  chunks: number;
  finishReason: string;
  ttftMs: number;
  decodeTokS: number;
  capabilities: { simd: boolean; crossOriginIsolated: boolean; threads: boolean };
}

test.beforeAll(() => {
  expect(existsSync(join(modelsDir, SMOLLM2)), `run scripts/fetch-models (${modelsDir})`).toBe(
    true,
  );
});

test('downloads SmolLM2 by URL with progress and continues "The capital of France is" greedily', async ({
  page,
}) => {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  page.on('requestfailed', (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));

  await page.goto(`/generate.html?model=/models/${SMOLLM2}&maxTokens=30`);
  await expect(page.locator('#status')).toHaveText('done', { timeout: 50_000 });
  await expect(page.locator('#error')).toBeHidden();

  const events = JSON.parse((await page.locator('#stages').getAttribute('data-events')) ?? '{}');
  expect(Object.keys(events)).toEqual(['download', 'parse', 'init']);
  expect(events.download).toBeGreaterThan(2);
  await expect(page.locator('#progress')).toHaveText('init 1/1');

  const summary: Summary = JSON.parse((await page.locator('#result').textContent()) ?? '');
  console.log(
    `wasm in Chromium: ${JSON.stringify(summary.text)}; decode ${summary.decodeTokS.toFixed(1)} tok/s, ttft ${summary.ttftMs.toFixed(0)} ms`,
  );
  expect(
    summary.text.startsWith(' Paris.\n\nThe United States has a population of approximately'),
  ).toBe(true);
  expect(summary).toMatchObject({ tokens: 30, finishReason: 'length' });
  expect(summary.chunks).toBeGreaterThan(5);
  expect(await page.locator('#output').textContent()).toBe(summary.text);
  expect(summary.capabilities).toMatchObject({
    simd: true,
    crossOriginIsolated: true,
    threads: true,
  });
  expect(failures).toEqual([]);
});

test('cancelling stops the generation between tokens', async ({ page }) => {
  await page.goto(`/generate.html?model=/models/${SMOLLM2}&maxTokens=30&cancelAfter=3`);
  await expect(page.locator('#status')).toHaveText('done', { timeout: 50_000 });
  const summary: Summary = JSON.parse((await page.locator('#result').textContent()) ?? '');
  expect(summary.finishReason).toBe('cancelled');
  expect(summary.tokens).toBeLessThanOrEqual(4);
  expect(summary.text.startsWith(' Paris')).toBe(true);
});

test('a model URL that does not exist fails with HTTP_404', async ({ page }) => {
  await page.goto('/generate.html?model=/models/missing.gguf');
  const error = page.locator('#error');
  await expect(error).toHaveAttribute('data-code', 'HTTP_404');
  await expect(error).toContainText('/models/missing.gguf: 404');
});

test('a file that is not a model fails with GGUF_BAD_MAGIC', async ({ page }) => {
  await page.goto('/generate.html?model=/not-a-model.bin');
  await expect(page.locator('#error')).toHaveAttribute('data-code', 'GGUF_BAD_MAGIC');
});
