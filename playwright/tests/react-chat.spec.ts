// apps/react-chat in Chromium, built once with Vite and served by `vite preview`
// (COOP/COEP, the test models under /models/). The shared demo suite runs on both
// modes: @hearth/react's useLlamaChat, and useChat from @ai-sdk/react over
// HearthChatTransport (`?mode=ai-sdk`, added by a redirect on that server, as the
// suite opens `/`). One more test: a message sent before Load gets the model's
// load progress as a data part.
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, type Plugin, preview } from 'vite';
import { defineDemoSuite, type ServedDemo } from './demo-suite.js';
import { expect, test } from './fixtures.js';

const root = fileURLToPath(new URL('../../apps/react-chat/', import.meta.url));

let built: Promise<unknown> | undefined;

/** Builds the app once per worker and serves it; `plugins` add middleware to the server. */
async function serve(plugins: Plugin[] = []): Promise<ServedDemo> {
  built ??= build({ root, logLevel: 'warn' });
  await built;
  const server = await preview({
    root,
    logLevel: 'warn',
    preview: { port: 0, strictPort: false },
    plugins,
  });
  const { port } = server.httpServer.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** Redirects page loads of `/` without `mode` to `?mode=ai-sdk` (the other query kept). */
function aiSdkMode(): Plugin {
  return {
    name: 'react-chat-ai-sdk-mode',
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (url.pathname !== '/' || url.searchParams.has('mode')) return next();
        url.searchParams.set('mode', 'ai-sdk');
        res.statusCode = 302;
        res.setHeader('Location', `${url.pathname}${url.search}`);
        res.end();
      });
    },
  };
}

defineDemoSuite('react-chat (useLlamaChat)', () => serve());
defineDemoSuite('react-chat (useChat + HearthChatTransport)', () => serve([aiSdkMode()]));

const aiSdkTest = test.extend<object, { demo: ServedDemo }>({
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

aiSdkTest(
  'useChat: a message sent before Load shows the load progress data part, then the answer',
  async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/?mode=ai-sdk&maxTokens=20');
    await expect(page.getByTestId('status')).toHaveText('idle', { timeout: 30_000 });
    // Record every progress data part the page renders (it is gone once the model is ready).
    await page.evaluate(() => {
      const w = window as unknown as { __parts: number[] };
      w.__parts = [];
      new MutationObserver(() => {
        document
          .querySelectorAll<HTMLProgressElement>('[data-testid="message-progress"]')
          .forEach((bar) => {
            w.__parts.push(bar.value / bar.max);
          });
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.getByTestId('input').fill('What is the capital of France?');
    await page.getByTestId('send').click();
    await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 60_000 });
    const parts = await page.evaluate(() => (window as unknown as { __parts: number[] }).__parts);
    expect(parts.length, 'a progress data part was shown').toBeGreaterThan(0);
    expect(Math.max(...parts)).toBeGreaterThan(0);
    expect(Math.max(...parts)).toBeLessThanOrEqual(1);
    const answer = page.locator('[data-testid="message"][data-role="assistant"]');
    await expect(answer).toHaveCount(1);
    expect(((await answer.textContent()) ?? '').trim().length).toBeGreaterThan(0);
    await expect(page.getByTestId('error')).toHaveCount(0);
    expect(errors).toEqual([]);
  },
);
