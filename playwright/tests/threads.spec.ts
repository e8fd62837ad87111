// The two wasm builds in Chromium: the threaded one (shared memory, a rayon pool
// of Web Workers) on a cross-origin isolated page, the single-threaded SIMD one
// when asked for one thread or when the page is not isolated. Both must give
// the same greedy text.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, modelsDir, test } from './fixtures.js';

const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';

interface Summary {
  text: string;
  tokens: number;
  finishReason: string;
  decodeTokS: number;
  capabilities: {
    crossOriginIsolated: boolean;
    engineThreads: number;
    wasm?: { simd: boolean; threads: boolean; threadCount: number; build: string };
  };
}

test.beforeAll(() => {
  expect(existsSync(join(modelsDir, SMOLLM2)), `run scripts/fetch-models (${modelsDir})`).toBe(
    true,
  );
});

/** Loads SmolLM2 on the generate page with `query` and returns its summary. */
async function generate(page: Page, query: string): Promise<Summary> {
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  await page.goto(`/generate.html?model=/models/${SMOLLM2}&maxTokens=30${query}`);
  await expect(page.locator('#status')).toHaveText('done', { timeout: 50_000 });
  await expect(page.locator('#error')).toBeHidden();
  expect(failures).toEqual([]);
  return JSON.parse((await page.locator('#result').textContent()) ?? '');
}

test('the threaded and the single-threaded builds continue the prompt identically', async ({
  page,
}) => {
  const threaded = await generate(page, '&threads=2');
  expect(threaded.capabilities).toMatchObject({
    crossOriginIsolated: true,
    engineThreads: 2,
    wasm: { simd: true, threads: true, threadCount: 2, build: 'threads' },
  });
  const single = await generate(page, '&threads=1');
  expect(single.capabilities).toMatchObject({
    crossOriginIsolated: true,
    engineThreads: 1,
    wasm: { simd: true, threads: false, threadCount: 1, build: 'simd' },
  });
  console.log(
    `wasm decode: ${threaded.decodeTokS.toFixed(1)} tok/s on 2 threads, ${single.decodeTokS.toFixed(1)} tok/s on 1`,
  );
  expect(threaded).toMatchObject({ tokens: 30, finishReason: 'length' });
  expect(threaded.text.startsWith(' Paris.\n\nThe United States')).toBe(true);
  expect(threaded.text).toBe(single.text);
});

test('an isolated page runs the threaded build by default', async ({ page }) => {
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const summary = await generate(page, '');
  const threads = Math.min(cores, 8);
  expect(summary.capabilities.wasm).toEqual(
    threads > 1
      ? { simd: true, threads: true, threadCount: threads, build: 'threads' }
      : { simd: true, threads: false, threadCount: 1, build: 'simd' },
  );
});

test('a page without COOP/COEP runs the single-threaded build and logs why', async ({ page }) => {
  // Drop the isolation headers from the page itself (its workers inherit its state).
  await page.route(
    (url) => url.pathname === '/generate.html',
    async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    },
  );
  const notices: string[] = [];
  page.on('console', (m) => {
    if (m.text().includes('cross-origin isolated')) notices.push(m.text());
  });
  const summary = await generate(page, '&threads=2');
  expect(summary.capabilities).toMatchObject({
    crossOriginIsolated: false,
    wasm: { threads: false, threadCount: 1, build: 'simd' },
  });
  expect(summary.text.startsWith(' Paris.\n\nThe United States')).toBe(true);
  expect(notices).toHaveLength(1);
  expect(notices[0]).toContain('Cross-Origin-Embedder-Policy');
});
