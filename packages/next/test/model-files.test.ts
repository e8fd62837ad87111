// createModelFilesRoute: whole files, single ranges and If-Range, as the runner's resumable downloads use them.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModelFilesRoute } from '../src/server.js';

const dir = mkdtempSync(join(tmpdir(), 'hearth-next-files-'));
const bytes = new Uint8Array(1000).map((_, i) => i % 251);
writeFileSync(join(dir, 'tiny.gguf'), bytes);
const route = createModelFilesRoute({ dir });
const get = (path: string, headers: Record<string, string> = {}) =>
  route.GET(new Request(`http://localhost${path}`, { headers }));

describe('createModelFilesRoute', () => {
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
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes.slice(100, 200));
    const tail = await get('/models/tiny.gguf', { Range: 'bytes=990-' });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(990));
  });

  it('resumes only while If-Range names the same file', async () => {
    const etag = (await get('/models/tiny.gguf')).headers.get('etag') as string;
    const same = await get('/models/tiny.gguf', { Range: 'bytes=500-', 'If-Range': etag });
    expect(same.status).toBe(206);
    const changed = await get('/models/tiny.gguf', { Range: 'bytes=500-', 'If-Range': '"other"' });
    expect(changed.status).toBe(200);
    expect((await changed.arrayBuffer()).byteLength).toBe(1000);
  });

  it('answers 416 past the end, 404 for missing files and paths outside the directory', async () => {
    const past = await get('/models/tiny.gguf', { Range: 'bytes=1000-' });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */1000');
    expect((await get('/models/missing.gguf')).status).toBe(404);
    expect((await get('/models/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await get('/models/')).status).toBe(404);
    expect((await get('/models/%E0%A4%A')).status).toBe(404);
  });

  it('answers HEAD with the headers and no body', async () => {
    const response = await route.HEAD(
      new Request('http://localhost/models/tiny.gguf', { method: 'HEAD' }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(
      String(statSync(join(dir, 'tiny.gguf')).size),
    );
    expect(response.body).toBeNull();
  });
});
