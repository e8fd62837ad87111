// The Vue chat's build and servers. Both the dev server and `vite preview`
// send COOP/COEP (cross-origin isolation: SharedArrayBuffer, wasm threads) and
// serve the test models of $HEARTH_MODELS_DIR under /models/.
import { homedir } from 'node:os';
import { join } from 'node:path';
import vue from '@vitejs/plugin-vue';
import sirv from 'sirv';
import { type Connect, defineConfig, type Plugin } from 'vite';

/** `$HEARTH_MODELS_DIR`, default `~/.cache/hearth/models` (filled by `scripts/fetch-models`). */
const modelsDir = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Mounts the local models directory at /models/ on the dev and preview servers. */
function localModels(): Plugin {
  const serve = sirv(modelsDir, {
    dev: true,
    etag: true,
    // These responses skip Vite's own header middleware.
    setHeaders: (res) => {
      for (const [name, value] of Object.entries(isolation)) res.setHeader(name, value);
    },
  });
  // A missing model is a 404, not the app's index.html (Vite's SPA fallback).
  const models: Connect.NextHandleFunction = (req, res) =>
    serve(req, res, () => {
      res.statusCode = 404;
      res.end('model not found');
    });
  return {
    name: 'hearth-local-models',
    configureServer(server) {
      server.middlewares.use('/models', models);
    },
    configurePreviewServer(server) {
      server.middlewares.use('/models', models);
    },
  };
}

export default defineConfig({
  plugins: [vue(), localModels()],
  // The runner starts its engine as a module worker (`new Worker(new URL(…), { type: 'module' })`).
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: isolation, host: '127.0.0.1', port: 4174 },
  build: { target: 'es2022' },
});
