import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Real models are read from disk and parsed; a cold CI runner needs some slack.
    testTimeout: 60_000,
  },
});
