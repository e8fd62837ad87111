/**
 * Serves the WebGL prototype's page to Chromium, for both its Playwright test
 * and `node bench/webgl/run.mjs`: `src/*.ts` transpiled on request (TypeScript's
 * `transpileModule`, no build step), hearth-wasm's single-threaded build from
 * `@hearth/runner/wasm/`, and one GGUF file at `/model.gguf`.
 */

import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const require = createRequire(import.meta.url);
const src = fileURLToPath(new URL('./src/', import.meta.url));

const PAGE = `<!doctype html><meta charset="utf-8"><title>Hearth WebGL matmul</title>
<script type="module" src="/src/page.js"></script>`;

/**
 * Lets Chromium fall back to ANGLE on SwiftShader (software Vulkan) for WebGL2
 * when there is no GPU; recent Chromium versions refuse that fallback unless
 * asked. A hardware GPU, when present, is still preferred. (Debian's Chromium
 * 156 here gives SwiftShader WebGL2 with or without it.)
 */
export const SWIFTSHADER_FLAGS = ['--enable-unsafe-swiftshader'];

/**
 * @param {string} modelPath the GGUF file served at `/model.gguf`
 * @returns {Promise<{ origin: string, close(): Promise<void> }>}
 */
export async function startWebglServer(modelPath) {
  const wasmDir = join(dirname(require.resolve('@hearth/runner/package.json')), 'wasm');
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    };
    try {
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
        res.end(PAGE);
        return;
      }
      const m = path.match(/^\/src\/([a-z-]+)\.js$/);
      if (m) {
        const ts_ = await readFile(join(src, `${m[1]}.ts`), 'utf8');
        const js = ts.transpileModule(ts_, {
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
        }).outputText;
        res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' });
        res.end(js);
        return;
      }
      const w = path.match(/^\/wasm\/(hearth_wasm(?:_bg\.wasm|\.js))$/);
      const file = w ? join(wasmDir, w[1] ?? '') : path === '/model.gguf' ? modelPath : undefined;
      if (!file) {
        res.writeHead(404, headers).end();
        return;
      }
      const info = await stat(file);
      const type = file.endsWith('.wasm')
        ? 'application/wasm'
        : file.endsWith('.js')
          ? 'text/javascript; charset=utf-8'
          : 'application/octet-stream';
      res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': info.size });
      createReadStream(file).pipe(res);
    } catch (e) {
      res.writeHead(500, headers).end(String(e));
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok(undefined));
      }),
  };
}
