// The model cache in Node (the fs store) against a real HTTP server on
// loopback serving the real SmolLM2 file: cache hits without a request,
// resumed downloads (Range + If-Range), checksum, HTTP and non-model errors,
// aborts, and the ModelCache API.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { HearthError, LlamaRunner, type LoadProgress, ModelCache } from '@hearth/runner';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { modelPath, SMOLLM2 } from './models.js';

/** What the test server saw of one request. */
interface Seen {
  path: string;
  range?: string;
  ifRange?: string;
  status: number;
}

/**
 * Serves the model at `/model.gguf` (strong ETag, single ranges with
 * If-Range), a 404 page, an HTML page and a non-model file. `cutNext` cuts
 * the next model response's connection after that many bytes.
 */
class ModelServer {
  seen: Seen[] = [];
  cutNext: number | undefined;
  etag = '"smollm2-v1"';
  origin = '';
  #server: Server;

  constructor(readonly bytes: Uint8Array) {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((ok) => this.#server.listen(0, '127.0.0.1', ok));
    this.origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }

  /** Requests for the model. */
  modelRequests(): Seen[] {
    return this.seen.filter((s) => s.path === '/model.gguf');
  }

  #handle(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const seen: Seen = { path, status: 200 };
    if (req.headers.range) seen.range = req.headers.range;
    if (typeof req.headers['if-range'] === 'string') seen.ifRange = req.headers['if-range'];
    this.seen.push(seen);
    if (path === '/page.gguf') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<html>hi</html>');
      return;
    }
    if (path === '/not-a-model.gguf') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', ETag: '"x"' });
      res.end(new Uint8Array(4096).fill(7));
      return;
    }
    if (path !== '/model.gguf') {
      seen.status = 404;
      res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html>404</html>');
      return;
    }
    const size = this.bytes.byteLength;
    const m = req.headers.range?.match(/^bytes=(\d+)-$/);
    const ranged = m && (seen.ifRange === undefined || seen.ifRange === this.etag);
    const start = ranged ? Number(m[1]) : 0;
    seen.status = ranged ? 206 : 200;
    res.writeHead(seen.status, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': size - start,
      ETag: this.etag,
      'Accept-Ranges': 'bytes',
      ...(ranged ? { 'Content-Range': `bytes ${start}-${size - 1}/${size}` } : {}),
    });
    const cut = this.cutNext;
    this.cutNext = undefined;
    if (cut === undefined) {
      res.end(this.bytes.subarray(start));
    } else {
      // Flush the first `cut` bytes, then drop the connection mid-body.
      res.write(this.bytes.subarray(start, start + cut), () => res.destroy());
    }
  }
}

async function rejection(p: Promise<unknown>): Promise<HearthError> {
  const e = await p.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HearthError);
  return e as HearthError;
}

describe('model cache (fs store)', () => {
  let server: ModelServer;
  let cache: ModelCache;
  let url: string;
  let sha256: string;
  let size: number;

  beforeAll(async () => {
    const bytes = await readFile(modelPath(SMOLLM2));
    size = bytes.byteLength;
    sha256 = createHash('sha256').update(bytes).digest('hex');
    server = new ModelServer(bytes);
    await server.start();
    url = `${server.origin}/model.gguf`;
    cache = await ModelCache.open();
  });
  afterAll(async () => {
    server?.close();
    await cache?.clear();
  });
  beforeEach(async () => {
    await cache.clear();
    server.seen = [];
    server.etag = '"smollm2-v1"';
  });

  it('uses the fs store in $HEARTH_CACHE_DIR by default', async () => {
    expect(cache.store).toBe('fs');
    expect(await cache.list()).toEqual([]);
  });

  it('downloads once, verifies, then loads from the cache with no request', async () => {
    const stages: LoadProgress['stage'][] = [];
    const first = await LlamaRunner.load(
      { url, sha256, name: 'SmolLM2', license: 'Apache-2.0' },
      { onProgress: (p) => stages.push(p.stage) },
    );
    first.dispose();
    expect([...new Set(stages)]).toEqual(['download', 'verify', 'parse', 'init']);
    expect(server.modelRequests()).toHaveLength(1);
    const entry = await cache.get(url);
    expect(entry).toMatchObject({
      url,
      name: 'SmolLM2',
      license: 'Apache-2.0',
      size,
      storedBytes: size,
      sha256,
      etag: '"smollm2-v1"',
      source: server.origin.slice('http://'.length),
      complete: true,
      store: 'fs',
    });

    const progress: LoadProgress[] = [];
    const second = await LlamaRunner.load(url, { onProgress: (p) => progress.push({ ...p }) });
    try {
      expect(server.modelRequests()).toHaveLength(1);
      expect([...new Set(progress.map((p) => p.stage))]).toEqual(['cache-read', 'parse', 'init']);
      expect(progress.filter((p) => p.stage === 'cache-read').at(-1)).toEqual({
        stage: 'cache-read',
        loaded: size,
        total: size,
      });
      const result = await second.generateText('The capital of France is', {
        temperature: 0,
        maxTokens: 2,
      }).result;
      expect(result.text).toBe(' Paris.');
    } finally {
      second.dispose();
    }
    expect((await cache.get(url))?.lastUsedAt).toBeGreaterThanOrEqual(entry?.lastUsedAt ?? 0);
  });

  it('resumes a cut download with Range + If-Range from the stored offset', async () => {
    server.cutNext = 20 << 20;
    const cut = await rejection(LlamaRunner.load({ url, sha256 }));
    expect(cut.code).toBe('NETWORK_ERROR');
    const partial = await cache.get(url);
    expect(partial?.complete).toBe(false);
    expect(partial?.storedBytes).toBeGreaterThan(0);
    expect(partial?.storedBytes).toBeLessThanOrEqual(20 << 20);

    const runner = await LlamaRunner.load({ url, sha256 });
    runner.dispose();
    const requests = server.modelRequests();
    expect(requests).toHaveLength(2);
    expect(requests[1]).toEqual({
      path: '/model.gguf',
      range: `bytes=${partial?.storedBytes}-`,
      ifRange: '"smollm2-v1"',
      status: 206,
    });
    expect(await cache.get(url)).toMatchObject({ complete: true, storedBytes: size, sha256 });
    expect(await cache.verify(url)).toBe(true);
  });

  it('starts over when the ETag changed since the partial download', async () => {
    server.cutNext = 8 << 20;
    await rejection(LlamaRunner.load(url));
    server.etag = '"smollm2-v2"';
    (await LlamaRunner.load(url)).dispose();
    const requests = server.modelRequests();
    expect(requests[1]).toMatchObject({
      range: expect.stringMatching(/^bytes=\d+-$/),
      status: 200,
    });
    expect(await cache.get(url)).toMatchObject({ complete: true, etag: '"smollm2-v2"', sha256 });
  });

  it('keeps only an incomplete entry when aborted mid-download, and resumes it', async () => {
    const controller = new AbortController();
    const e = await rejection(
      LlamaRunner.load(url, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.stage === 'download' && p.loaded > 30 << 20) controller.abort();
        },
      }),
    );
    expect(e.code).toBe('ABORTED');
    const [entry, ...others] = await cache.list();
    expect(others).toEqual([]);
    expect(entry?.complete).toBe(false);
    expect(entry?.storedBytes).toBeGreaterThan(30 << 20);
    expect(entry?.storedBytes).toBeLessThan(size);
    expect(await cache.verify(url)).toBe(false);

    (await LlamaRunner.load(url)).dispose();
    expect(server.modelRequests()[1]?.range).toBe(`bytes=${entry?.storedBytes}-`);
    expect(await cache.get(url)).toMatchObject({ complete: true, sha256 });
  });

  it('runs concurrent loads of one URL one after another: one download, then a cache read', async () => {
    const stages: string[][] = [[], []];
    const runners = await Promise.all(
      [0, 1].map((i) => LlamaRunner.load(url, { onProgress: (p) => stages[i]?.push(p.stage) })),
    );
    for (const r of runners) r.dispose();
    expect(server.modelRequests()).toHaveLength(1);
    expect(stages.map((s) => s.includes('cache-read'))).toEqual([false, true]);
    expect(await cache.verify(url)).toBe(true);
  });

  it('fails SHA256_MISMATCH and stores nothing when the checksum differs', async () => {
    const e = await rejection(LlamaRunner.load({ url, sha256: 'ab'.repeat(32) }));
    expect(e.code).toBe('SHA256_MISMATCH');
    expect(e.message).toContain(sha256);
    expect(await cache.list()).toEqual([]);
  });

  it('fails with HTTP_404, NOT_A_MODEL or GGUF_BAD_MAGIC and stores nothing', async () => {
    expect((await rejection(LlamaRunner.load(`${server.origin}/missing.gguf`))).code).toBe(
      'HTTP_404',
    );
    expect((await rejection(LlamaRunner.load(`${server.origin}/page.gguf`))).code).toBe(
      'NOT_A_MODEL',
    );
    expect((await rejection(LlamaRunner.load(`${server.origin}/not-a-model.gguf`))).code).toBe(
      'GGUF_BAD_MAGIC',
    );
    expect(await cache.list()).toEqual([]);
  });

  it("does not cache with cache: 'none', nor bytes", async () => {
    (await LlamaRunner.load(url, { cache: 'none' })).dispose();
    (await LlamaRunner.load(url, { cache: 'none' })).dispose();
    expect(server.modelRequests()).toHaveLength(2);
    (await LlamaRunner.load(server.bytes)).dispose();
    expect(await cache.list()).toEqual([]);
    const bad = await rejection(LlamaRunner.load(url, { cache: 'disk' as never }));
    expect(bad.code).toBe('INVALID_OPTION');
    const browserOnly = await rejection(LlamaRunner.load(url, { cache: 'indexeddb' }));
    expect(browserOnly.code).toBe('INVALID_OPTION');
  });

  it('lists, verifies, detects damage and deletes through ModelCache', async () => {
    (await LlamaRunner.load({ url, name: 'SmolLM2' })).dispose();
    const [entry] = await cache.list();
    expect(entry).toMatchObject({ url, name: 'SmolLM2', complete: true, sha256 });
    const key = entry?.key as string;
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(await cache.get(key)).toEqual(entry);
    expect(await cache.verify(key)).toBe(true);
    expect(await cache.usage()).toMatchObject({ used: size, quota: expect.any(Number) });

    // Damage one byte of the stored file: verify notices.
    const file = join(process.env.HEARTH_CACHE_DIR as string, `${key}.bin`);
    const stored = await readFile(file);
    const middle = stored.byteLength >> 1;
    stored[middle] = (stored[middle] as number) ^ 0xff;
    await writeFile(file, stored);
    expect(await cache.verify(url)).toBe(false);

    expect(await cache.delete(url)).toBe(true);
    expect(await cache.delete(url)).toBe(false);
    expect(await cache.list()).toEqual([]);
    expect((await cache.usage()).used).toBe(0);
    // Gone from the cache: the next load downloads again.
    (await LlamaRunner.load(url)).dispose();
    expect(server.modelRequests()).toHaveLength(2);
  });

  it('drops a cached model the engine rejects, and downloads it again', async () => {
    (await LlamaRunner.load(url)).dispose();
    const [entry] = await cache.list();
    const file = join(process.env.HEARTH_CACHE_DIR as string, `${entry?.key}.bin`);
    const stored = await readFile(file);
    stored.write('XXXX', 0);
    await writeFile(file, stored);
    const e = await rejection(LlamaRunner.load(url));
    expect(e.code).toBe('GGUF_BAD_MAGIC');
    expect(await cache.list()).toEqual([]);
    expect(server.modelRequests()).toHaveLength(1);
    (await LlamaRunner.load(url)).dispose();
    expect(server.modelRequests()).toHaveLength(2);
    expect(await cache.verify(url)).toBe(true);
  });

  it('opens a store in another directory', async () => {
    const other = await ModelCache.open('fs', {
      dir: join(process.env.HEARTH_CACHE_DIR as string, 'other'),
    });
    expect(await other.list()).toEqual([]);
    expect(await other.usage()).toMatchObject({ used: 0 });
    const e = await rejection(ModelCache.open('opfs'));
    expect(e.code).toBe('INVALID_OPTION');
  });
});
