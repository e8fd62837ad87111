// The model cache in Chromium, for IndexedDB and OPFS: a reload loads from the
// cache with no model request, a cut download resumes with Range + If-Range,
// and a wrong SHA-256, a 404 or an HTML page leave no complete entry.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Request } from '@playwright/test';
import { expect, modelsDir, test } from './fixtures.js';

const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const MODEL = `/models/${SMOLLM2}`;

interface Entry {
  url: string;
  size: number;
  storedBytes: number;
  sha256?: string;
  complete: boolean;
  store: string;
}

interface Result {
  text?: string;
  error?: { code: string; message: string };
  stages: Record<string, number>;
  entries: Entry[];
  verified?: boolean;
  usage: { used: number; quota?: number };
}

let size = 0;
let sha256 = '';

test.beforeAll(() => {
  const path = join(modelsDir, SMOLLM2);
  expect(existsSync(path), `run scripts/fetch-models (${modelsDir})`).toBe(true);
  size = statSync(path).size;
  sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
});

/** Opens the cache page (or reloads it) and returns its result. */
async function run(page: Page, query?: string): Promise<Result> {
  if (query === undefined) await page.reload();
  else await page.goto(`/cache.html?${query}`);
  await expect(page.locator('#status')).toHaveText('done', { timeout: 50_000 });
  return JSON.parse((await page.locator('#result').textContent()) ?? '{}') as Result;
}

/** Collects the page's requests for model files. */
function modelRequests(page: Page): Request[] {
  const seen: Request[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/models/')) seen.push(r);
  });
  return seen;
}

for (const store of ['indexeddb', 'opfs'] as const) {
  test.describe(store, () => {
    test('a reload loads the model from the cache with no model request', async ({ page }) => {
      const requests = modelRequests(page);
      const first = await run(page, `store=${store}&model=${MODEL}&verify`);
      expect(first.error).toBeUndefined();
      expect(first.text).toBe(' Paris.');
      expect(Object.keys(first.stages)).toEqual(['download', 'parse', 'init']);
      expect(first.entries).toEqual([
        expect.objectContaining({ size, storedBytes: size, sha256, complete: true, store }),
      ]);
      expect(first.verified).toBe(true);
      expect(first.usage.used).toBe(size);
      expect(requests).toHaveLength(1);

      const second = await run(page);
      expect(second.error).toBeUndefined();
      expect(second.text).toBe(' Paris.');
      expect(Object.keys(second.stages)).toEqual(['cache-read', 'parse', 'init']);
      expect(requests).toHaveLength(1);
    });

    test('an interrupted download resumes with a Range request', async ({ page }) => {
      const requests = modelRequests(page);
      // The first model response is cut after 24 MiB.
      await page.route('**/models/**', (route) =>
        route.continue({
          headers: { ...route.request().headers(), 'x-test-cut-after': String(24 << 20) },
        }),
      );
      const cut = await run(page, `store=${store}&model=${MODEL}&verify`);
      expect(cut.error?.code).toBe('NETWORK_ERROR');
      expect(cut.entries).toHaveLength(1);
      const partial = cut.entries[0] as Entry;
      expect(partial.complete).toBe(false);
      expect(partial.storedBytes).toBeGreaterThan(0);
      expect(partial.storedBytes).toBeLessThanOrEqual(24 << 20);
      await page.unrouteAll();

      const resumed = await run(page);
      expect(resumed.error).toBeUndefined();
      expect(resumed.text).toBe(' Paris.');
      expect(requests).toHaveLength(2);
      const headers = await (requests[1] as Request).allHeaders();
      expect(headers.range).toBe(`bytes=${partial.storedBytes}-`);
      expect(headers['if-range']).toMatch(/^"/);
      expect((await (requests[1] as Request).response())?.status()).toBe(206);
      expect(resumed.entries).toEqual([
        expect.objectContaining({ storedBytes: size, sha256, complete: true }),
      ]);
      expect(resumed.verified).toBe(true);
    });

    test('a wrong SHA-256, a 404 and an HTML page fail clearly and cache nothing', async ({
      page,
    }) => {
      const wrong = await run(page, `store=${store}&model=${MODEL}&sha256=${'0'.repeat(64)}`);
      expect(wrong.error?.code).toBe('SHA256_MISMATCH');
      expect(wrong.error?.message).toContain(sha256);
      expect(wrong.stages).not.toHaveProperty('parse');
      expect(wrong.entries).toEqual([]);

      const missing = await run(page, `store=${store}&model=/models/missing.gguf`);
      expect(missing.error?.code).toBe('HTTP_404');
      expect(missing.entries).toEqual([]);

      const html = await run(page, `store=${store}&model=/cache.html`);
      expect(html.error?.code).toBe('NOT_A_MODEL');
      expect(html.error?.message).toContain('HTML');
      expect(html.entries).toEqual([]);
    });
  });
}

test('an aborted download keeps an incomplete entry that the next load completes', async ({
  page,
}) => {
  const aborted = await run(page, `store=indexeddb&model=${MODEL}&abortAfter=${40 << 20}&verify`);
  expect(aborted.error?.code).toBe('ABORTED');
  expect(aborted.entries).toEqual([expect.objectContaining({ complete: false })]);
  expect(aborted.verified).toBe(false);
  const done = await run(page, `store=indexeddb&model=${MODEL}`);
  expect(done.text).toBe(' Paris.');
  expect(done.entries).toEqual([expect.objectContaining({ complete: true, sha256 })]);
});

test('a model larger than the quota fails QUOTA_EXCEEDED, naming the sizes, and caches nothing', async ({
  page,
  baseURL,
}) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', {
    origin: baseURL as string,
    quotaSize: 32 << 20,
  });
  const full = await run(page, `store=indexeddb&model=${MODEL}`);
  expect(full.error?.code).toBe('QUOTA_EXCEEDED');
  expect(full.error?.message).toContain(`needs ${size} bytes`);
  // Chromium's estimate() does not reflect the override: the write fails, not the pre-check.
  expect(full.entries).toEqual([]);
});
