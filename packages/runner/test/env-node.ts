/**
 * What the shared runner suite needs from its host, in Node: model bytes from
 * disk and an HTTP server for URL sources. `env-browser.ts` is the same
 * interface in Chromium; vitest.config.ts aliases `#test-env` to one of them.
 */

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { inject } from 'vitest';
import { modelPath } from './models.js';

/** The runtime under test (typed as every runtime, so the shared suite can branch on it). */
export const runtime = inject('runtime') as 'native' | 'wasm' | 'browser';

/** The bytes of a test model. */
export async function modelBytes(file: string): Promise<Uint8Array<ArrayBuffer>> {
  return readFile(modelPath(file));
}

/** A test model over HTTP (`url`), a URL that answers 404 (`missingUrl`), and how to stop serving. */
export interface Served {
  url: string;
  missingUrl: string;
  close(): Promise<void>;
}

/** Serves `file` on a loopback port. */
export async function serveModel(file: string): Promise<Served> {
  const bytes = await modelBytes(file);
  const server = createServer((req, res) => {
    if (req.url !== `/${file}`) return res.writeHead(404).end('<html>404</html>');
    res.writeHead(200, { 'Content-Length': bytes.byteLength }).end(bytes);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url: `${origin}/${file}`,
    missingUrl: `${origin}/missing.gguf`,
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
