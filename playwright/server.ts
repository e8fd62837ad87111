/**
 * A small static file server for the end-to-end tests: cross-origin isolated
 * (COOP/COEP, so pages get SharedArrayBuffer and threads), correct MIME types
 * (wasm streaming compilation needs `application/wasm`) and single HTTP Range
 * requests with `If-Range`, which model downloads use to resume (and a test
 * header that cuts a response short).
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';

/** MIME types by file extension; anything else is `application/octet-stream`. */
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.gguf': 'application/octet-stream',
};

/** Headers on every response: cross-origin isolation for the pages served. */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** A running server. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** A satisfiable byte range, inclusive at both ends. */
interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header for a file of `size` bytes: a range, `'unsatisfiable'`,
 * or `undefined` to serve the whole file (absent, malformed or multi-range headers).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  const m = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const [first, last] = [m[1] ?? '', m[2] ?? ''];
  if (first === '') {
    // Suffix range: the last N bytes.
    const n = Number(last);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  // `bytes=10-5` is syntactically invalid: ignore the header.
  if (last !== '' && Number(last) < start) return undefined;
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Maps a URL path onto a file below one of the mounts, refusing `..` escapes. */
function resolveFile(mounts: Record<string, string>, urlPath: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  // Longest prefix first, so `/runner/` wins over `/`.
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  for (const prefix of prefixes) {
    if (!path.startsWith(prefix)) continue;
    const root = resolve(mounts[prefix] as string);
    const file = resolve(join(root, path.slice(prefix.length)));
    return file.startsWith(root + sep) ? file : undefined;
  }
  return undefined;
}

async function handle(
  mounts: Record<string, string>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  // A directory's `index.html` (the demos' pages are served at `/`).
  const path = url.pathname.endsWith('/') ? `${url.pathname}index.html` : url.pathname;
  const file = resolveFile(mounts, path);
  const info = file ? await stat(file).catch(() => undefined) : undefined;
  if (!file || !info?.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' }).end('<html>404</html>');
    return;
  }

  const size = info.size;
  const etag = `"${size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  res.setHeader('Content-Type', MIME[extname(file).toLowerCase()] ?? 'application/octet-stream');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', info.mtime.toUTCString());
  res.setHeader('Cache-Control', 'no-cache');

  // If-Range: resume only if the file is still the one the client started with.
  const ifRange = req.headers['if-range'];
  const range =
    ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const headers: Record<string, string | number> = { 'Content-Length': end - start + 1 };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  // Tests: `X-Test-Cut-After: N` sends N body bytes, then drops the connection (an interrupted download).
  const cut = Number(req.headers['x-test-cut-after']);
  const last = cut > 0 ? Math.min(end, start + cut - 1) : end;
  const stream = createReadStream(file, { start, end: last });
  stream.on('error', () => res.destroy());
  if (last < end) stream.on('end', () => res.socket?.end());
  stream.pipe(res, { end: last === end });
}

/**
 * Serves each `mounts` entry (URL prefix ending in `/` → directory) on
 * 127.0.0.1 at a free port.
 */
export async function startStaticServer(mounts: Record<string, string>): Promise<StaticServer> {
  const server = createServer((req, res) => {
    handle(mounts, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}
