import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The real runner's Node entry (native addon, or wasm in a worker thread), whatever
    // conditions the jsdom environment resolves with.
    alias: {
      '@hearth/runner': fileURLToPath(new URL('../runner/dist/node.js', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'jsdom',
    // Node loads the runner itself (not Vite's web transform), so its `import.meta.url`
    // stays a file: URL for its worker thread and wasm file.
    server: { deps: { external: [/packages\/runner\/dist\//] } },
    // Real models are read from disk and parsed; a cold CI runner needs some slack.
    testTimeout: 60_000,
  },
});
