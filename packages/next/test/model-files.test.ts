// createModelFilesHandler over node:http: whole files with their length, single ranges and
// If-Range, as the runner's resumable downloads use them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelFilesHandler } from '../src/server.js';

const dir = mkdtempSync(join(tmpdir(), 'hearth-next-files-'));
const bytes = new Uint8Array(1000).map((_, i) => i % 251);
writeFileSync(join(dir, 'tiny.gguf'), bytes);
const serve = createModelFilesHandler({ dir });

let server: Server;
let origin: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const name = decodeURIComponent(
      new URL(req.url ?? '/', 'http://x').pathname.slice('/models/'.length),
    );
    void serve(req, res, name);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${origin}${path}`, { headers, method });

describe('createModelFilesHandler', () => {
  it('serves a whole file with its length, ETag and Accept-Ranges', async () => {
    const response = await get('/models/tiny.gguf');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('1000');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('etag')).toMatch(/^".+"$/);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
  });

  it('answers a Range with 206 and the bytes asked for', async () => {
    const response = await get('/models/tiny.gguf', { Range: 'bytes=100-199' });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 100-199/1000');
    expect(response.headers.get('content-length')).toBe('100');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes.slice(100, 200));
    const tail = await get('/models/tiny.gguf', { Range: 'bytes=990-' });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(990));
  });

  it('resumes only while If-Range names the same file', async () => {
    const etag = (await get('/models/tiny.gguf')).headers.get('etag') as string;
    const same = await get('/models/tiny.gguf', { Range: 'bytes=500-', 'If-Range': etag });
    expect(same.status).toBe(206);
    await same.arrayBuffer();
    const changed = await get('/models/tiny.gguf', { Range: 'bytes=500-', 'If-Range': '"other"' });
    expect(changed.status).toBe(200);
    expect((await changed.arrayBuffer()).byteLength).toBe(1000);
  });

  it('answers 416 past the end, 404 for missing files and paths outside the directory', async () => {
    const past = await get('/models/tiny.gguf', { Range: 'bytes=1000-' });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */1000');
    expect((await get('/models/missing.gguf')).status).toBe(404);
    expect((await get('/models/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
    expect((await get('/models/')).status).toBe(404);
    expect((await get('/models/tiny.gguf', {}, 'POST')).status).toBe(405);
  });

  it('answers HEAD with the headers and no body', async () => {
    const response = await get('/models/tiny.gguf', {}, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('1000');
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });
});
