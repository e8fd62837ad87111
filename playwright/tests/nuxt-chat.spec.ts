// apps/nuxt-chat in Chromium: built with `nuxt build` and served by its Nitro
// server (`node .output/server/index.mjs`). The shared demo suite runs the
// browser chat (@hearth/vue); one more test checks that the Nitro route
// /api/chat streams the native runner's tokens as Server-Sent Events.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { defineDemoSuite, type ServedDemo } from './demo-suite.js';

const root = fileURLToPath(new URL('../../apps/nuxt-chat/', import.meta.url));
const env = { ...process.env, NUXT_TELEMETRY_DISABLED: '1' };

/** Runs a command in the app's folder; rejects with its output when it fails. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) =>
      code === 0 ? ok() : fail(new Error(`${command} failed:\n${output}`)),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

/** Starts the built Nitro server and resolves once it listens. */
async function startServer(): Promise<{ origin: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['.output/server/index.mjs'], {
    cwd: root,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((ok, fail) => {
    let output = '';
    const onData = (d: Buffer) => {
      output += d;
      if (output.includes('Listening')) ok();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => fail(new Error(`the Nitro server exited (${code}):\n${output}`)));
  });
  return { origin: `http://127.0.0.1:${port}`, child };
}

// One build and one server for both fixtures below (closed when the last one is done).
let serving: Promise<{ origin: string; child: ChildProcess }> | undefined;
let users = 0;
async function serve(): Promise<ServedDemo> {
  users++;
  serving ??= run('npx', ['nuxt', 'build']).then(startServer);
  const { origin, child } = await serving;
  return {
    origin,
    close: async () => {
      if (--users === 0) child.kill();
    },
  };
}

defineDemoSuite('nuxt-chat', serve);

const serverTest = test.extend<object, { nitro: ServedDemo }>({
  nitro: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures must destructure their dependencies.
    async ({}, use) => {
      const demo = await serve();
      await use(demo);
      await demo.close();
    },
    { scope: 'worker', timeout: 240_000 },
  ],
  baseURL: async ({ nitro }, use) => use(nitro.origin),
});

serverTest('the Nitro route streams the native runner’s tokens over SSE', async ({ page }) => {
  await page.goto('/?maxTokens=40');
  await page.getByTestId('mode-server').check();
  await expect(page.getByTestId('status')).toHaveText('ready');
  // Record the assistant's text at every DOM change.
  await page.evaluate(() => {
    const w = window as unknown as { __texts: string[] };
    w.__texts = [];
    new MutationObserver(() => {
      const all = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const text = all[all.length - 1]?.textContent ?? '';
      if (w.__texts.at(-1) !== text) w.__texts.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByTestId('input').fill('Write a short poem about the sea.');
  await page.getByTestId('send').click();
  await expect(page.locator('[data-testid="message"][data-role="assistant"]')).not.toBeEmpty();
  await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 30_000 });
  const texts = await page.evaluate(() =>
    (window as unknown as { __texts: string[] }).__texts.filter((t) => t.trim() !== ''),
  );
  expect(texts.length, JSON.stringify(texts)).toBeGreaterThanOrEqual(5);
  for (let i = 1; i < texts.length; i++) {
    expect(texts[i]?.startsWith(texts[i - 1] ?? '')).toBe(true);
  }

  // The wire format, read with fetch: an event stream of text events, then `done`.
  const wire = await page.evaluate(async () => {
    const response = await fetch('/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: [{ role: 'user', content: 'Count to ten.' }],
        maxTokens: 24,
      }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const reads: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      reads.push(new TextDecoder().decode(value));
    }
    return { type: response.headers.get('content-type'), reads };
  });
  expect(wire.type).toContain('text/event-stream');
  const events = wire.reads
    .join('')
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => JSON.parse(e.slice(6)));
  expect(events.filter((e) => typeof e.text === 'string').length).toBeGreaterThanOrEqual(5);
  expect(events.at(-1)).toMatchObject({ done: true });
  // Streamed, not sent at once: the tokens arrived over several reads.
  expect(wire.reads.length).toBeGreaterThan(3);
});
