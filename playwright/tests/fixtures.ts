/** Playwright fixtures: one static server per worker, used as the `baseURL`. */

import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base } from '@playwright/test';
import { type StaticServer, startStaticServer } from '../server.js';

/** `$HEARTH_MODELS_DIR`, default `~/.cache/hearth/models` (filled by `scripts/fetch-models`). */
export const modelsDir: string =
  process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');

const require = createRequire(import.meta.url);
/** The built `@hearth/runner` package, resolved as a dependency would be. */
const runnerDir = dirname(require.resolve('@hearth/runner/package.json'));
/** `@noble/hashes` (the runner's SHA-256), as the runner resolves it; pages map it in their import map. */
const nobleDir = dirname(
  createRequire(join(runnerDir, 'package.json')).resolve('@noble/hashes/sha2.js'),
);
/** onnxruntime-web's browser files (the ONNX adapter's tests serve them; no CDN). */
const ortDir = dirname(
  require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm', { paths: [runnerDir] }),
);

export const test = base.extend<object, { server: StaticServer }>({
  server: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures must destructure their dependencies.
    async ({}, use) => {
      const server = await startStaticServer({
        '/': fileURLToPath(new URL('../fixtures/', import.meta.url)),
        '/runner/': runnerDir,
        '/noble-hashes/': nobleDir,
        '/models/': modelsDir,
        '/ort/': ortDir,
      });
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ server }, use) => use(server.origin),
});

export { expect } from '@playwright/test';
