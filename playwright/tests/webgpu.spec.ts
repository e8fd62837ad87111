// WebGPU in Debian's headless Chromium, without Hearth: `--enable-unsafe-webgpu`
// (playwright.config.ts) exposes SwiftShader's Vulkan as a *fallback* adapter, on
// the page and in workers (where the engine runs); a compute shader runs on it.
import { expect, test } from './fixtures.js';

interface Report {
  available: boolean;
  reason?: string;
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  features?: string[];
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
  output?: number[];
}

test('headless Chromium offers a WebGPU adapter on the page and in a worker, and runs a compute shader', async ({
  page,
}) => {
  await page.goto('/webgpu.html');
  const result = page.locator('#result');
  await expect(result).toHaveAttribute('data-done', 'true', { timeout: 30_000 });
  const { page: onPage, worker } = JSON.parse((await result.textContent()) ?? '{}') as {
    page: Report;
    worker: Report;
  };
  const { output, ...adapter } = onPage;
  console.log(`WebGPU adapter: ${JSON.stringify(adapter)}`);
  const expected = Array.from({ length: 64 }, (_, i) => i * 2 + 1);
  for (const report of [onPage, worker]) {
    expect(report.available, report.reason).toBe(true);
    expect(report.output).toEqual(expected);
    // SwiftShader (what a machine without a GPU offers) is a fallback adapter: `auto` skips it.
    expect(report.isFallbackAdapter).toBe(report.architecture === 'swiftshader');
  }
  expect(worker.features).toEqual(onPage.features);
});
