/**
 * A static file server for the wasm suite: cross-origin isolated (COOP/COEP,
 * so both engines may use wasm threads) with correct MIME types. `mounts` maps
 * URL prefixes (`/runner/`) to folders; `/m/<id>.gguf` serves the bench models.
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * @param {Record<string, string>} mounts URL prefix (ending in `/`) → folder
 * @param {Record<string, string>} models model id → GGUF file, served at `/m/<id>.gguf`
 * @returns {Promise<{ origin: string, close(): Promise<void> }>}
 */
export async function startServer(mounts, models) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file;
    const m = path.match(/^\/m\/(.+)\.gguf$/);
    if (m) file = models[m[1]];
    else {
      for (const [prefix, dir] of Object.entries(mounts)) {
        if (!path.startsWith(prefix)) continue;
        const root = resolve(dir);
        const f = resolve(join(root, path.slice(prefix.length) || 'index.html'));
        if (f === root || f.startsWith(root + sep)) file = f;
        break;
      }
    }
    const info = file ? await stat(file).catch(() => undefined) : undefined;
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    if (!file || !info?.isFile()) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Content-Length': info.size,
    });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(undefined)));
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    origin: `http://127.0.0.1:${addr.port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok(undefined));
      }),
  };
}
