// apps/svelte-chat in Chromium: the shared demo suite on the production build
// (`vite build` + `vite preview`), and the autocomplete (`use:llamaCompletion`)
// of its message box on the dev server (`npm run dev`). Both send COOP/COEP and
// serve the test models under /models/.
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, createServer, preview } from 'vite';
import { defineDemoSuite, type ServedDemo } from './demo-suite.js';
import { expect, test } from './fixtures.js';

const root = fileURLToPath(new URL('../../apps/svelte-chat/', import.meta.url));

defineDemoSuite('svelte-chat', async () => {
  await build({ root, logLevel: 'warn' });
  const server = await preview({ root, logLevel: 'warn', preview: { port: 0, strictPort: false } });
  const { port } = server.httpServer.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => server.close() };
});

test.describe('svelte-chat autocomplete', () => {
  let demo: ServedDemo;
  test.beforeAll(async () => {
    const server = await createServer({
      root,
      logLevel: 'warn',
      server: { port: 0, host: '127.0.0.1' },
    });
    await server.listen();
    const address = server.httpServer?.address() as AddressInfo;
    demo = { origin: `http://127.0.0.1:${address.port}`, close: () => server.close() };
  });
  test.afterAll(async () => {
    await demo.close();
  });

  test('the message box shows the model continuation as ghost text; Tab accepts it', async ({
    page,
  }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${demo.origin}/`);
    await page.getByTestId('load').click();
    await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 60_000 });
    const input = page.getByTestId('input');
    await input.click();
    await input.pressSequentially('The capital of France is');
    // Greedy, stopped at the first newline: the whole suggestion is " Paris.".
    await expect(input).toHaveAttribute('data-suggestion', ' Paris.', { timeout: 30_000 });
    const ghost = page.locator('[data-hearth-ghost]');
    await expect(ghost).toBeVisible();
    await expect(ghost).toHaveText('The capital of France is Paris.');
    // The ghost text lies over the textarea, with the same box.
    const [box, over] = [await input.boundingBox(), await ghost.boundingBox()];
    expect(over).toEqual(box);
    await page.keyboard.press('Tab');
    await expect(input).toHaveValue('The capital of France is Paris.');
    await expect(input).toBeFocused();
    // Sending leaves the field (the click blurs it): no suggestion is left behind.
    await page.getByTestId('send').click();
    await expect(input).toHaveValue('');
    await expect(ghost).toHaveCount(0);
    await expect(page.getByTestId('status')).toHaveText('generating');
    expect(errors).toEqual([]);
  });
});
