import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Node loads the real runner itself (native addon), not through Vite's transform.
    server: { deps: { external: [/packages\/runner\/dist\//, /@hearth\/runner/] } },
    // One model, shared by the files: run them one after another.
    fileParallelism: false,
    testTimeout: 60_000,
  },
});
