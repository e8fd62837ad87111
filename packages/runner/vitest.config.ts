import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { modelsDir } from './test/models.js';

/**
 * One suite, three runtimes: `HEARTH_RUNTIME=native|wasm` runs the tests in
 * Node (the addon, or hearth-wasm in a worker thread); `HEARTH_RUNTIME=browser`
 * runs them in real Chromium (hearth-wasm in a Web Worker), with the model files
 * served by Vite from `$HEARTH_MODELS_DIR` under `/@fs/`.
 */
const runtime = process.env.HEARTH_RUNTIME ?? 'native';
const browser = runtime === 'browser';
const chromium = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

// URL loads go through the model cache: tests use a fresh directory, never the user's
// (test/cache-dir.ts removes it afterwards).
process.env.HEARTH_CACHE_DIR = mkdtempSync(join(tmpdir(), 'hearth-cache-test-'));

export default defineConfig({
  resolve: {
    // Tests reach files through one interface: `fs` in Node, the Vite server in the browser.
    alias: {
      '#test-env': new URL(`./test/env-${browser ? 'browser' : 'node'}.ts`, import.meta.url)
        .pathname,
    },
  },
  server: {
    // Cross-origin isolation, as the browser tests in playwright/ have it.
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
    fs: { allow: ['../..', modelsDir] },
  },
  test: {
    // Chromium runs the shared suite; the Node-only files need fs, http and the addon.
    include: browser ? ['test/runner.test.ts'] : ['test/**/*.test.ts'],
    // The expected greedy tokens come from the Rust `hearth` CLI, computed once per run;
    // the cache tests' directory is removed afterwards.
    globalSetup: ['test/global-setup.ts', 'test/cache-dir.ts'],
    provide: { runtime },
    // Real models are read from disk and parsed; a cold CI runner needs some slack.
    testTimeout: 60_000,
    ...(browser
      ? {
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: { executablePath: chromium, args: ['--no-sandbox'] },
            }),
            instances: [{ browser: 'chromium' as const }],
            screenshotFailures: false,
          },
        }
      : { environment: 'node' }),
  },
});
