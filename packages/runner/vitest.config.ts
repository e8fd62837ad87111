import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// URL loads go through the model cache: tests use a fresh directory, never the user's
// (test/cache-dir.ts removes it afterwards).
process.env.HEARTH_CACHE_DIR = mkdtempSync(join(tmpdir(), 'hearth-cache-test-'));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/cache-dir.ts'],
    // Real models are read from disk and parsed; a cold CI runner needs some slack.
    testTimeout: 60_000,
  },
});
