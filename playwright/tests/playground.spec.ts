// The playground (apps/playground) in Chromium: built with Vite and served by
// `vite preview` exactly as `scripts/main` serves it (COOP/COEP, the test models
// under /models/), then driven like a user: load SmolLM2, complete, stop, chat.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, type Page } from '@playwright/test';
import { build, type PreviewServer, preview } from 'vite';
import { expect, modelsDir } from './fixtures.js';

const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const root = fileURLToPath(new URL('../../apps/playground/', import.meta.url));

const test = base.extend<object, { playground: string }>({
  playground: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures must destructure their dependencies.
    async ({}, use) => {
      await build({ root, logLevel: 'warn' });
      const server: PreviewServer = await preview({
        root,
        logLevel: 'warn',
        preview: { port: 0, strictPort: false },
      });
      const { port } = server.httpServer.address() as AddressInfo;
      await use(`http://127.0.0.1:${port}`);
      await server.close();
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  baseURL: async ({ playground }, use) => use(playground),
});

test.beforeAll(() => {
  expect(existsSync(join(modelsDir, SMOLLM2)), `run scripts/fetch-models (${modelsDir})`).toBe(
    true,
  );
});

/** Uncaught errors of each page (checked after every test). */
const pageErrors = new Map<Page, string[]>();

test.afterEach(({ page }) => {
  expect(pageErrors.get(page) ?? []).toEqual([]);
});

/** Opens the playground and loads the default model (the served SmolLM2). */
async function loadDefaultModel(page: Page): Promise<void> {
  const failures: string[] = [];
  pageErrors.set(page, failures);
  page.on('pageerror', (e) => failures.push(e.message));
  await page.goto('/');
  await expect(page.getByTestId('model-url')).toHaveValue(`/models/${SMOLLM2}`);
  await expect(page.getByTestId('model-status')).toHaveText('idle');
  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-status')).toHaveText('loading');
  await expect(page.getByTestId('model-status')).toHaveText('ready', { timeout: 30_000 });
}

async function setSampling(page: Page, values: Record<string, number>): Promise<void> {
  for (const [key, value] of Object.entries(values)) {
    await page.getByTestId(`sampling-${key}`).fill(String(value));
  }
}

test('loads SmolLM2 with per-stage progress, shows the backend and the threaded build, completes greedily with " Paris."', async ({
  page,
}) => {
  await loadDefaultModel(page);
  // Every stage bar reached its end: the whole file downloaded, then parse and init.
  const download = page.getByTestId('progress-download');
  await expect(download).toBeVisible();
  const size = (await import('node:fs')).statSync(join(modelsDir, SMOLLM2)).size;
  await expect(download).toHaveAttribute('data-loaded', String(size));
  await expect(download).toHaveAttribute('max', String(size));
  for (const stage of ['parse', 'init']) {
    await expect(page.getByTestId(`progress-${stage}`)).toHaveAttribute('data-loaded', '1');
  }
  await expect(page.getByTestId('model-backend')).toHaveText('wasm');
  const caps = page.getByTestId('capabilities');
  await expect(caps).toContainText('cross-origin isolated yes');
  // Isolated, the Vite-built runner runs the threaded wasm build: its pool workers were bundled too.
  await expect(caps).toHaveAttribute('data-engine-build', 'threads');
  expect(Number(await caps.getAttribute('data-engine-threads'))).toBeGreaterThanOrEqual(2);

  await setSampling(page, { temperature: 0, maxTokens: 12 });
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('request-status')).toHaveText('ready', { timeout: 30_000 });
  const completion = (await page.getByTestId('completion').textContent()) ?? '';
  expect(completion.startsWith(' Paris.'), JSON.stringify(completion)).toBe(true);
  await expect(page.getByTestId('stats')).toHaveAttribute('data-tokens', '12');
  await expect(page.getByTestId('stats')).toHaveAttribute('data-finish', 'length');
  await expect(page.getByTestId('stats')).toContainText('tok/s');
});

test('Stop halts the stream within one token', async ({ page }) => {
  await loadDefaultModel(page);
  await setSampling(page, { temperature: 0, maxTokens: 400 });
  await page.getByTestId('generate').click();
  const stats = page.getByTestId('stats');
  await expect
    .poll(async () => Number(await stats.getAttribute('data-tokens')), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(3);
  await page.getByTestId('stop').click();
  await expect(page.getByTestId('request-status')).toHaveText('ready', { timeout: 10_000 });
  await expect(stats).toHaveAttribute('data-finish', 'cancelled');
  const atStop = Number(await stats.getAttribute('data-tokens-at-stop'));
  const final = Number(await stats.getAttribute('data-tokens'));
  console.log(`stop: ${atStop} tokens when Stop was clicked, ${final} in the end`);
  expect(atStop).toBeGreaterThanOrEqual(3);
  expect(final).toBeLessThanOrEqual(atStop + 1);
  expect(final).toBeLessThan(400);
});

test('chat mode sends a message and streams the answer', async ({ page }) => {
  await page.setViewportSize({ width: 1100, height: 900 });
  await loadDefaultModel(page);
  await setSampling(page, { temperature: 0, maxTokens: 48 });
  await page.getByTestId('mode-chat').click();
  await page.getByTestId('chat-input').fill('Write a short poem about the sea.');
  await page.getByTestId('send').click();
  const status = page.getByTestId('request-status');
  const assistant = page.locator('[data-role="assistant"] .text');
  // Streaming: part of the answer is on the page before it is complete.
  await expect(status).toHaveText('streaming', { timeout: 30_000 });
  await expect(assistant).not.toBeEmpty();
  const partial = (await assistant.textContent()) ?? '';
  await expect(status).toHaveText('ready', { timeout: 30_000 });
  const answer = (await assistant.textContent()) ?? '';
  expect(answer.startsWith(partial)).toBe(true);
  expect(answer.length).toBeGreaterThan(partial.length);
  await expect(page.locator('[data-role="user"] .text')).toHaveText(
    'Write a short poem about the sea.',
  );
  expect(Number(await page.getByTestId('stats').getAttribute('data-tokens'))).toBeGreaterThan(5);

  // docs/playground.png (the README's picture) is refreshed with HEARTH_UPDATE_SCREENSHOT=1.
  const shot = process.env.HEARTH_UPDATE_SCREENSHOT
    ? fileURLToPath(new URL('../../docs/playground.png', import.meta.url))
    : test.info().outputPath('playground.png');
  await page.screenshot({ path: shot, fullPage: true });
});

test('the cache panel lists the loaded model; a reload reads it from the cache; Delete removes it', async ({
  page,
}) => {
  await loadDefaultModel(page);
  const size = String((await import('node:fs')).statSync(join(modelsDir, SMOLLM2)).size);
  const entry = page.getByTestId('cache-entry');
  await expect(entry).toHaveCount(1);
  await expect(entry).toHaveAttribute('data-size', size);
  await expect(entry).toHaveAttribute('data-complete', 'true');
  await expect(entry).toContainText(`/models/${SMOLLM2}`);

  await page.getByTestId('load').click();
  await expect(page.getByTestId('model-status')).toHaveText('ready', { timeout: 30_000 });
  await expect(page.getByTestId('progress-cache-read')).toHaveAttribute('data-loaded', size);
  await expect(page.getByTestId('progress-download')).not.toHaveAttribute('data-loaded', /.*/);

  await page.getByTestId('cache-delete').click();
  await expect(entry).toHaveCount(0);
});
