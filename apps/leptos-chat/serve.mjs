#!/usr/bin/env node
// Serves dist/ cross-origin isolated (COOP/COEP), with the test models from
// $HEARTH_MODELS_DIR (default ~/.cache/hearth/models) under /models/.
// PORT picks the port (default 4175).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('dist/', import.meta.url));
const models = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache/hearth/models');
const port = Number(process.env.PORT ?? 4175);
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};

createServer(async (req, res) => {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const [root, rest] = path.startsWith('/models/')
    ? [models, path.slice(8)]
    : [dist, path.slice(1)];
  const file = resolve(root, rest === '' || rest.endsWith('/') ? `${rest}index.html` : rest);
  const info = file.startsWith(resolve(root) + sep) ? await stat(file).catch(() => null) : null;
  if (!info?.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, {
    'Content-Type': types[extname(file)] ?? 'application/octet-stream',
    'Content-Length': info.size,
  });
  createReadStream(file).pipe(res);
}).listen(port, '127.0.0.1', () => console.log(`leptos-chat: http://127.0.0.1:${port}/`));
