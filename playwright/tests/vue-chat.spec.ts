// apps/vue-chat (Vue 3 + @hearth/vue) in Chromium: built with Vite and served by
// `vite preview` (COOP/COEP, the test models under /models/), then the shared demo suite.
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { defineDemoSuite } from './demo-suite.js';

const root = fileURLToPath(new URL('../../apps/vue-chat/', import.meta.url));

defineDemoSuite('vue-chat', async () => {
  await build({ root, logLevel: 'warn' });
  const server = await preview({ root, logLevel: 'warn', preview: { port: 0, strictPort: false } });
  const { port } = server.httpServer.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => server.close() };
});
