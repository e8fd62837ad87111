import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, modelsDir, test } from './fixtures.js';

const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';

test('shows the real SmolLM2 model info in a cross-origin isolated page', async ({ page }) => {
  expect(existsSync(join(modelsDir, SMOLLM2)), `run scripts/fetch-models (${modelsDir})`).toBe(
    true,
  );
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  page.on('requestfailed', (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));

  await page.goto(`/info.html?model=/models/${SMOLLM2}`);
  await expect(page.locator('#status')).toHaveText('done');
  await expect(page.locator('[data-field=architecture]')).toHaveText('llama');
  await expect(page.locator('[data-field=tensor_count]')).toHaveText('272');
  await expect(page.locator('[data-field=vocab_size]')).toHaveText('49152');
  await expect(page.locator('[data-field=chat_template]')).toHaveText('true');
  await expect(page.locator('#error')).toBeHidden();
  await expect(page.locator('#isolated')).toHaveText('true');
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  expect(failures).toEqual([]);
});

test('shows a clear error with its code for a file that is not a model', async ({ page }) => {
  await page.goto('/info.html?model=/not-a-model.bin');
  const error = page.locator('#error');
  await expect(error).toBeVisible();
  await expect(error).toHaveAttribute('data-code', 'GGUF_BAD_MAGIC');
  await expect(error).toContainText('not a GGUF file');
  await expect(page.locator('#info')).toBeEmpty();
});

test('shows the HTTP status for a model URL that does not exist', async ({ page }) => {
  await page.goto('/info.html?model=/models/missing.gguf');
  const error = page.locator('#error');
  await expect(error).toHaveAttribute('data-code', 'HTTP_404');
  await expect(error).toContainText('/models/missing.gguf: 404');
});

test('the wasm engine is served as application/wasm from the built package', async ({
  request,
}) => {
  const res = await request.get('/runner/wasm/hearth_wasm_bg.wasm');
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toBe('application/wasm');
  expect(res.headers()['cross-origin-embedder-policy']).toBe('require-corp');
});
