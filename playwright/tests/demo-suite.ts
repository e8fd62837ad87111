// One Playwright suite for every framework demo under apps/*-chat: each demo
// implements the same small DOM contract (below), and its spec calls
// `defineDemoSuite` with a function that builds and serves it. The checks are
// what a user sees: progress while the model loads, a streamed answer growing
// token by token, Stop halting the stream, and a clear error for a bad URL.
//
// The contract (data-testid attributes):
//   load        button: loads the model (URL from `?model=`, else the served
//               `/models/SmolLM2-135M-Instruct.Q4_1.gguf`)
//   status      text: `idle` | `loading` | `ready` | `generating` | `error`
//   progress    a <progress> element while loading (`value` and `max` set, in bytes or 0..1)
//   error       the error message (present only after a failure)
//   input       textarea for the user's message; `send` button submits it
//   stop        button: stops the running generation
//   message     one per chat message, with `data-role="user"|"assistant"`
// Demos generate with their own sampling; `?maxTokens=N` must cap the answer length.

import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.js';

/** A served demo: its origin, and how to stop serving it. */
export interface ServedDemo {
  origin: string;
  close(): Promise<void>;
}

/** The test model every demo loads by default (served under `/models/`). */
export const DEMO_MODEL = 'SmolLM2-135M-Instruct.Q4_1.gguf';

/** Records the texts the last assistant message shows over time (one entry per DOM change). */
async function recordAssistantTexts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __hearthTexts: string[] };
    w.__hearthTexts = [];
    const observer = new MutationObserver(() => {
      const all = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const last = all[all.length - 1];
      const text = last?.textContent ?? '';
      if (w.__hearthTexts[w.__hearthTexts.length - 1] !== text) w.__hearthTexts.push(text);
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

async function assistantTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __hearthTexts: string[] }).__hearthTexts);
}

/** Opens the demo (with extra query parameters) and loads the model through its UI. */
export async function loadDemoModel(page: Page, query = ''): Promise<void> {
  await page.goto(`/${query}`);
  await expect(page.getByTestId('status')).toHaveText('idle', { timeout: 30_000 });
  await page.getByTestId('load').click();
  await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 60_000 });
}

/**
 * Defines the demo tests in the current file. `serve` builds and serves the demo
 * (once per worker); the page's origin becomes the tests' `baseURL`.
 */
export function defineDemoSuite(name: string, serve: () => Promise<ServedDemo>): void {
  const demoTest = test.extend<object, { demo: ServedDemo }>({
    demo: [
      // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures must destructure their dependencies.
      async ({}, use) => {
        const demo = await serve();
        await use(demo);
        await demo.close();
      },
      { scope: 'worker', timeout: 240_000 },
    ],
    baseURL: async ({ demo }, use) => use(demo.origin),
  });

  const pageErrors = new Map<Page, string[]>();
  demoTest.beforeEach(({ page }) => {
    const errors: string[] = [];
    pageErrors.set(page, errors);
    page.on('pageerror', (e) => errors.push(e.message));
  });
  demoTest.afterEach(({ page }) => {
    expect(pageErrors.get(page) ?? []).toEqual([]);
  });

  demoTest.describe(name, () => {
    demoTest('loads SmolLM2 with visible progress', async ({ page }) => {
      await page.goto('/');
      await expect(page.getByTestId('status')).toHaveText('idle', { timeout: 30_000 });
      // Sample the progress bar while the model loads: it is visible and moves.
      await page.evaluate(() => {
        const w = window as unknown as { __hearthProgress: number[] };
        w.__hearthProgress = [];
        const sample = () => {
          const bar = document.querySelector<HTMLProgressElement>('[data-testid="progress"]');
          if (bar && bar.max > 0) w.__hearthProgress.push(bar.value / bar.max);
          if (document.querySelector('[data-testid="status"]')?.textContent !== 'ready') {
            requestAnimationFrame(sample);
          }
        };
        requestAnimationFrame(sample);
      });
      await page.getByTestId('load').click();
      await expect(page.getByTestId('status')).toHaveText('loading');
      await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 60_000 });
      const fractions = await page.evaluate(
        () => (window as unknown as { __hearthProgress: number[] }).__hearthProgress,
      );
      expect(fractions.length, 'progress was shown while loading').toBeGreaterThan(0);
      expect(Math.max(...fractions)).toBeGreaterThan(0);
      expect(Math.min(...fractions)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...fractions)).toBeLessThanOrEqual(1);
      await expect(page.getByTestId('error')).toHaveCount(0);
    });

    demoTest('sends a message and streams the answer token by token', async ({ page }) => {
      await loadDemoModel(page, '?maxTokens=40');
      await recordAssistantTexts(page);
      await page.getByTestId('input').fill('Write a short poem about the sea.');
      await page.getByTestId('send').click();
      await expect(page.getByTestId('status')).toHaveText('generating', { timeout: 30_000 });
      await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 60_000 });
      await expect(page.locator('[data-testid="message"][data-role="user"]').last()).toContainText(
        'Write a short poem about the sea.',
      );
      const texts = (await assistantTexts(page)).filter((t) => t.trim() !== '');
      // Incremental: many distinct partial texts, each extending the previous one.
      expect(texts.length, JSON.stringify(texts)).toBeGreaterThanOrEqual(5);
      for (let i = 1; i < texts.length; i++) {
        expect(texts[i]?.startsWith(texts[i - 1]?.trimEnd() ?? '')).toBe(true);
      }
      const final = texts[texts.length - 1] ?? '';
      expect(final.trim().length).toBeGreaterThan(10);
    });

    demoTest('Stop halts the generation', async ({ page }) => {
      await loadDemoModel(page, '?maxTokens=1000');
      await recordAssistantTexts(page);
      await page.getByTestId('input').fill('Tell me a very long story about a dragon.');
      await page.getByTestId('send').click();
      await expect
        .poll(async () => (await assistantTexts(page)).length, { timeout: 30_000 })
        .toBeGreaterThanOrEqual(4);
      await page.getByTestId('stop').click();
      await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 10_000 });
      const atStop = (await assistantTexts(page)).length;
      await page.waitForTimeout(1000);
      // At most one more update after the status settled; then nothing changes.
      expect((await assistantTexts(page)).length).toBeLessThanOrEqual(atStop + 1);
      const message = page.locator('[data-testid="message"][data-role="assistant"]').last();
      const text = (await message.textContent()) ?? '';
      await page.waitForTimeout(500);
      expect(await message.textContent()).toBe(text);
    });

    demoTest('shows a clear error for a bad model URL', async ({ page }) => {
      await page.goto('/?model=/models/does-not-exist.gguf');
      await expect(page.getByTestId('status')).toHaveText('idle', { timeout: 30_000 });
      await page.getByTestId('load').click();
      await expect(page.getByTestId('status')).toHaveText('error', { timeout: 30_000 });
      await expect(page.getByTestId('error')).toBeVisible();
      await expect(page.getByTestId('error')).toContainText(/404|not found/i);
    });
  });
}
