// The playground's smoke check (`scripts/main --check`): serves the built app
// with `vite preview` (COOP/COEP, the test model under /models/), opens it in
// headless Chromium, loads the default model, completes "The capital of France is"
// greedily and exits 0 when the answer starts with " Paris". Prints what it saw.
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const root = new URL('.', import.meta.url).pathname;
const executablePath = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

const server = await preview({ root, logLevel: 'warn', preview: { port: 0, strictPort: false } });
const address = server.httpServer.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 4173}/`;
const browser = await chromium.launch({
  executablePath,
  args: ['--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking'],
});
let ok = false;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message} ${e.stack}`));
  page.on('console', (m) => m.type() === 'error' && console.error(m.text()));
  await page.goto(url);
  await page.getByTestId('load').click();
  const status = page.getByTestId('model-status');
  await status.filter({ hasText: /^(ready|error)$/ }).waitFor({ timeout: 60_000 });
  if ((await status.textContent()) !== 'ready') {
    throw new Error(`loading failed: ${await page.getByTestId('model-error').textContent()}`);
  }
  console.log(`playground ${url}: ${await page.getByTestId('model-info').textContent()}`);
  await page.getByTestId('sampling-temperature').fill('0');
  await page.getByTestId('sampling-maxTokens').fill('16');
  await page.getByTestId('generate').click();
  await page
    .getByTestId('request-status')
    .filter({ hasText: /^(ready|error)$/ })
    .waitFor({ timeout: 60_000 });
  await page.getByTestId('stats').filter({ hasText: 'finish' }).waitFor({ timeout: 5_000 });
  const completion = (await page.getByTestId('completion').textContent()) ?? '';
  console.log(`The capital of France is${completion}`);
  console.log((await page.getByTestId('stats').locator('span').allTextContents()).join(' · '));
  ok = completion.startsWith(' Paris');
  if (!ok) console.error('smoke check failed: expected the completion to start with " Paris"');
} finally {
  await browser.close();
  await server.close();
}
process.exit(ok ? 0 : 1);
