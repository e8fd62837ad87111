import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Compiles the runes in src/*.svelte.ts, the tests' *.svelte.test.ts and test components.
  plugins: [svelte()],
  resolve: {
    // Svelte's client runtime (effects, mount), as in a browser.
    conditions: ['browser'],
    // The real runner's Node entry (native addon, or wasm in a worker thread), whatever
    // conditions the jsdom environment resolves with.
    alias: {
      // Doc examples import the package by name: test its sources.
      '@hearth/svelte': fileURLToPath(new URL('src/index.ts', import.meta.url)),
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
