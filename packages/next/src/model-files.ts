/**
 * `createModelFilesHandler`: serves model files from a directory to browsers
 * (for `@hearth/runner` in the page), with `Content-Length` (download progress)
 * and the single-range `Range` / `If-Range` requests its model cache uses to
 * resume an interrupted download.
 *
 * A Node `(req, res)` handler, not an App Router route handler: Next.js drops
 * `Content-Length` from route handlers' responses. In Next.js, use it in a
 * Pages Router API route (`pages/api/models/[...file].ts`, with a rewrite from
 * `/models/:file*`), or in any Node server.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertNodeRuntime } from './runtime.js';

/** Options of {@link createModelFilesHandler}. */
export interface ModelFilesOptions {
  /** The directory served. */
  dir: string;
}

/**
 * Serves the file `name` (a path relative to the directory, `/`-separated) of
 * the directory.
 */
export type ModelFilesHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
) => Promise<void>;

/** A byte range, both ends included; `'unsatisfiable'`; or `undefined` for the whole file. */
function parseRange(
  header: string | undefined,
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
 * A handler streaming files of `dir` for `GET` and `HEAD` (404 for anything
 * else, paths out of `dir` included), with `ETag`, `Accept-Ranges` and 206/416
 * answers to `Range`.
 */
export function createModelFilesHandler(options: ModelFilesOptions): ModelFilesHandler {
  assertNodeRuntime();
  // Node modules load on the first request: this entry must also load on Edge, to say it cannot run there.
  const node = Promise.all([import('node:fs'), import('node:fs/promises'), import('node:path')]);

  return async (req, res, name) => {
    const [{ createReadStream }, { stat }, { join, resolve, sep }] = await node;
    const root = resolve(options.dir);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolve(join(root, name));
    const info =
      name && file.startsWith(root + sep) ? await stat(file).catch(() => undefined) : undefined;
    if (!info?.isFile()) {
      res
        .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end(`404: no model file ${JSON.stringify(name)}`);
      return;
    }
    const size = info.size;
    const etag = `"${size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', info.mtime.toUTCString());
    res.setHeader('Cache-Control', 'no-cache');
    // If-Range: resume only while the file is the one the client started with.
    const ifRange = req.headers['if-range'];
    const range =
      ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, size) : undefined;
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const headers: Record<string, string> = {
      'Content-Length': String(Math.max(0, end - start + 1)),
    };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(file, { start, end });
    // A client that goes away closes the file too.
    res.on('close', () => stream.destroy());
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };
}
