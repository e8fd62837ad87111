// apps/next-chat under `next build` + `next start`: the shared demo suite on the
// in-browser engine, the same page on the server route (`?backend=server`), and
// the `openai` client talking to the route on loopback.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from '@playwright/test';
import OpenAI from 'openai';
import { defineDemoSuite, loadDemoModel, type ServedDemo } from './demo-suite.js';
import { expect, modelsDir, test } from './fixtures.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const appDir = dirname(require.resolve('@hearth/next-chat/package.json'));
const nextBin = join(
  dirname(require.resolve('next/package.json', { paths: [appDir] })),
  'dist/bin/next',
);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs `next <args>` in the app; resolves once `ready` matches its output (or it exits 0). */
function next(args: string[], ready?: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [nextBin, ...args], {
    cwd: appDir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', HEARTH_MODELS_DIR: modelsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      if (ready?.test(output)) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0 && !ready) resolve(child);
      else reject(new Error(`next ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

let served: { demo: Promise<{ origin: string; server: ChildProcess }>; users: number } | undefined;

/** Builds and starts the app once per worker, for every fixture that asks (both close it). */
function serve(): Promise<ServedDemo> {
  served ??= {
    users: 0,
    demo: (async () => {
      await next(['build']);
      const port = await freePort();
      const server = await next(['start', '-H', '127.0.0.1', '-p', String(port)], /Ready in/);
      return { origin: `http://127.0.0.1:${port}`, server };
    })(),
  };
  const current = served;
  current.users += 1;
  return current.demo.then(({ origin, server }) => ({
    origin,
    async close() {
      current.users -= 1;
      if (current.users > 0) return;
      served = undefined;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    },
  }));
}

defineDemoSuite('next-chat (in the browser)', serve);

const serverTest = test.extend<object, { app: ServedDemo }>({
  app: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures must destructure their dependencies.
    async ({}, use) => {
      const app = await serve();
      await use(app);
      await app.close();
    },
    { scope: 'worker', timeout: 240_000 },
  ],
  baseURL: async ({ app }, use) => use(app.origin),
});

/** The texts of the last assistant message, one entry per change. */
async function recordAssistant(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const w = window as unknown as { __texts: string[] };
    w.__texts = [];
    new MutationObserver(() => {
      const all = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const text = all[all.length - 1]?.textContent ?? '';
      if (w.__texts[w.__texts.length - 1] !== text) w.__texts.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { __texts: string[] }).__texts);
}

serverTest(
  'the in-browser engine runs the threaded wasm build under Turbopack',
  async ({ page }) => {
    const workers: string[] = [];
    page.on('worker', (w) => workers.push(w.url()));
    const notices: string[] = [];
    page.on('console', (m) => notices.push(m.text()));
    await loadDemoModel(page);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // No fallback notice, and the engine worker plus its rayon pool (≥ 2 bundled worker-pool threads).
    expect(notices.filter((n) => n.includes('single-threaded'))).toEqual([]);
    expect(workers.length, JSON.stringify(workers)).toBeGreaterThanOrEqual(3);
  },
);

serverTest.describe('next-chat on the server route', () => {
  serverTest('streams the answer over SSE token by token, and Stop halts it', async ({ page }) => {
    await loadDemoModel(page, '?backend=server&maxTokens=40');
    const texts = await recordAssistant(page);
    await page.getByTestId('input').fill('Write a short poem about the sea.');
    await page.getByTestId('send').click();
    await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 60_000 });
    const seen = (await texts()).filter((t) => t.trim() !== '');
    expect(seen.length, JSON.stringify(seen)).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]?.startsWith(seen[i - 1]?.trimEnd() ?? '')).toBe(true);
    }
    await expect(page.getByTestId('error')).toHaveCount(0);

    // A long answer, stopped after a few tokens: the server's stream ends, the text stays.
    await page.goto('/?backend=server&maxTokens=1000');
    await page.getByTestId('load').click();
    await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 60_000 });
    const long = await recordAssistant(page);
    await page.getByTestId('input').fill('Tell me a very long story about a dragon.');
    await page.getByTestId('send').click();
    await expect
      .poll(async () => (await long()).length, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(4);
    await page.getByTestId('stop').click();
    await expect(page.getByTestId('status')).toHaveText('ready', { timeout: 10_000 });
    const atStop = (await long()).length;
    await page.waitForTimeout(1000);
    expect((await long()).length).toBeLessThanOrEqual(atStop + 1);
    await expect(page.getByTestId('error')).toHaveCount(0);
  });

  serverTest('answers the openai client on loopback (next start)', async ({ app }) => {
    const client = new OpenAI({ baseURL: `${app.origin}/api/v1`, apiKey: 'local', maxRetries: 0 });
    const [model] = (await client.models.list()).data;
    expect(model?.id).toBe('SmolLM2-135M-Instruct.Q4_1');
    const question = [{ role: 'user' as const, content: 'Tell me the capital of France.' }];
    const stream = await client.chat.completions.create({
      model: model?.id as string,
      messages: question,
      temperature: 0,
      max_tokens: 24,
      stream: true,
    });
    const deltas: string[] = [];
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta.content;
      if (text) deltas.push(text);
    }
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toMatch(/Paris/);
    const whole = await client.chat.completions.create({
      model: model?.id as string,
      messages: question,
      temperature: 0,
      max_tokens: 24,
    });
    expect(whole.choices[0]?.message.content).toBe(deltas.join(''));
    await expect(
      client.chat.completions.create({ model: 'gpt-4o', messages: question }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  serverTest(
    "runs the docs' openai script (apps/next-chat/ask.mjs) against next start",
    async ({ app }) => {
      const { stdout } = await run(
        process.execPath,
        ['ask.mjs', 'Tell me the capital of France.'],
        {
          cwd: appDir,
          env: { ...process.env, APP_URL: app.origin },
        },
      );
      expect(stdout).toMatch(/Paris/);
    },
  );
});
