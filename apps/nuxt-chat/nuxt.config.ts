// Nuxt: the chat runs in the browser (@hearth/vue, wasm in a Web Worker), and a
// Nitro route (server/api/chat.post.ts) streams tokens from the native runner in Node.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** COOP/COEP: cross-origin isolation lets the browser engine use wasm threads. */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineNuxtConfig({
  compatibilityDate: '2026-11-01',
  // The model runs in the browser: nothing to render on the server (Nitro still serves /api).
  ssr: false,
  telemetry: false,
  devtools: { enabled: false },
  runtimeConfig: {
    // The model the server route loads (a file path; NUXT_HEARTH_MODEL overrides it at run time).
    hearthModel: join(
      process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models'),
      'SmolLM2-135M-Instruct.Q4_1.gguf',
    ),
  },
  routeRules: { '/**': { headers: isolation } },
  vite: {
    // The runner starts its engine as a module worker (`new Worker(new URL(…), { type: 'module' })`).
    worker: { format: 'es' },
    // Pre-bundling would move the runner away from its worker and wasm files.
    optimizeDeps: { exclude: ['@hearth/runner', '@hearth/vue'] },
    server: { headers: isolation },
    // No gzip-size report of the wasm files (tens of MB): seconds off every build.
    build: { reportCompressedSize: false },
  },
  sourcemap: false,
  nitro: {
    // Never bundle the runner nor its native addon (nor its worker and wasm files): the
    // server imports them from node_modules at run time. (Rollup's own `external`, as
    // Nitro's `externals` inlines workspace packages, which resolve outside node_modules.)
    rollupConfig: { external: ['@hearth/runner', '@hearth/node'] },
  },
});
