/**
 * `createModelFilesRoute`: serves model files from a directory to browsers
 * (for `@hearth/runner` in the page), with the single-range `Range` /
 * `If-Range` requests its model cache uses to resume an interrupted download.
 *
 * @module
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { assertNodeRuntime } from './runtime.js';

/** Options of {@link createModelFilesRoute}. */
export interface ModelFilesRouteOptions {
  /** The directory served. */
  dir: string;
  /** The URL path the route answers below (default `/models/`): `/models/a.gguf` → `<dir>/a.gguf`. */
  urlPrefix?: string;
}

/** The route's handlers: export them from `app/models/[...file]/route.ts`. */
export interface ModelFilesRoute {
  GET(request: Request): Promise<Response>;
  HEAD(request: Request): Promise<Response>;
}

/** A byte range, both ends included; `'unsatisfiable'`; or `undefined` for the whole file. */
function parseRange(
  header: string | null,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const [first, last] = [m[1] ?? '', m[2] ?? ''];
  if (first === '') {
    const n = Number(last);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/**
 * `GET`/`HEAD` handlers streaming files of `dir` (404 for anything else,
 * `..` included), with `ETag`, `Accept-Ranges` and 206/416 answers to `Range`.
 */
export function createModelFilesRoute(options: ModelFilesRouteOptions): ModelFilesRoute {
  assertNodeRuntime();
  const root = resolve(options.dir);
  const prefix = options.urlPrefix ?? '/models/';

  async function serve(request: Request, withBody: boolean): Promise<Response> {
    const path = new URL(request.url).pathname;
    let name: string;
    try {
      name = decodeURIComponent(path.startsWith(prefix) ? path.slice(prefix.length) : '');
    } catch {
      name = '';
    }
    const file = resolve(join(root, name));
    const info =
      name && file.startsWith(root + sep) ? await stat(file).catch(() => undefined) : undefined;
    if (!info?.isFile()) {
      return new Response(`404: no model file ${path}`, {
        status: 404,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      });
    }
    const size = info.size;
    const etag = `"${size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers = new Headers({
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: etag,
      'Last-Modified': info.mtime.toUTCString(),
      'Cache-Control': 'no-cache',
    });
    // If-Range: resume only while the file is the one the client started with.
    const ifRange = request.headers.get('if-range');
    const range =
      ifRange === null || ifRange === etag
        ? parseRange(request.headers.get('range'), size)
        : undefined;
    if (range === 'unsatisfiable') {
      headers.set('Content-Range', `bytes */${size}`);
      return new Response(null, { status: 416, headers });
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    headers.set('Content-Length', String(Math.max(0, end - start + 1)));
    if (range) headers.set('Content-Range', `bytes ${start}-${end}/${size}`);
    const status = range ? 206 : 200;
    if (!withBody || size === 0) return new Response(null, { status, headers });
    const stream = Readable.toWeb(
      createReadStream(file, { start, end }),
    ) as ReadableStream<Uint8Array>;
    return new Response(stream, { status, headers });
  }

  return {
    GET: (request) => serve(request, true),
    HEAD: (request) => serve(request, false),
  };
}
