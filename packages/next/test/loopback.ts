/**
 * A node:http server on 127.0.0.1 around App Router handlers: the request as
 * a web `Request` (its `signal` aborts when the client disconnects, as Next.js
 * does), the `Response` streamed back chunk by chunk.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

type Handler = (request: Request) => Promise<Response>;

/** Handlers by method and URL path suffix (`POST /v1/chat/completions` …). */
export type Routes = Record<string, Handler>;

export interface Loopback {
  origin: string;
  close(): Promise<void>;
}

async function handle(routes: Routes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const route = Object.entries(routes).find(([key]) => {
    const [method, path] = key.split(' ');
    return method === req.method && url.pathname === path;
  });
  if (!route) {
    res.writeHead(404).end();
    return;
  }
  const controller = new AbortController();
  // The client went away before the response ended.
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(url, {
    method: req.method ?? 'GET',
    headers: req.headers as Record<string, string>,
    signal: controller.signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
  } as RequestInit);
  const response = await route[1](request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.on('close', () => {
    reader.cancel().catch(() => {});
  });
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    res.write(value);
  }
  res.end();
}

/** Serves `routes` on a free loopback port. */
export async function serveLoopback(routes: Routes): Promise<Loopback> {
  const server = createServer((req, res) => {
    handle(routes, req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
