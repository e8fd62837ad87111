// The test server's HTTP Range support (model downloads resume with it).
import { expect, test } from './fixtures.js';

const FILE = '/not-a-model.bin'; // "<html>404</html>\n": 17 bytes

test('serves whole files with length, validators and isolation headers', async ({ request }) => {
  const res = await request.get(FILE);
  expect(res.status()).toBe(200);
  expect(await res.text()).toBe('<html>404</html>\n');
  const h = res.headers();
  expect(h['content-length']).toBe('17');
  expect(h['accept-ranges']).toBe('bytes');
  expect(h.etag).toBeTruthy();
  expect(h['cross-origin-opener-policy']).toBe('same-origin');
  expect(h['cross-origin-embedder-policy']).toBe('require-corp');
});

test('answers byte ranges with 206 and Content-Range', async ({ request }) => {
  const mid = await request.get(FILE, { headers: { Range: 'bytes=1-4' } });
  expect(mid.status()).toBe(206);
  expect(await mid.text()).toBe('html');
  expect(mid.headers()['content-range']).toBe('bytes 1-4/17');

  const open = await request.get(FILE, { headers: { Range: 'bytes=10-' } });
  expect(open.status()).toBe(206);
  expect(await open.text()).toBe('/html>\n');

  const suffix = await request.get(FILE, { headers: { Range: 'bytes=-2' } });
  expect(await suffix.text()).toBe('>\n');
  expect(suffix.headers()['content-range']).toBe('bytes 15-16/17');
});

test('refuses ranges past the end with 416', async ({ request }) => {
  const res = await request.get(FILE, { headers: { Range: 'bytes=17-' } });
  expect(res.status()).toBe(416);
  expect(res.headers()['content-range']).toBe('bytes */17');
});

test('resumes only when If-Range still matches the ETag', async ({ request }) => {
  const etag = (await request.head(FILE)).headers().etag ?? '';
  const same = await request.get(FILE, { headers: { Range: 'bytes=6-', 'If-Range': etag } });
  expect(same.status()).toBe(206);
  const changed = await request.get(FILE, { headers: { Range: 'bytes=6-', 'If-Range': '"old"' } });
  expect(changed.status()).toBe(200);
  expect(await changed.text()).toBe('<html>404</html>\n');
});

test('never serves files outside its roots', async ({ request }) => {
  expect((await request.get('/runner/..%2f..%2fpackage.json')).status()).toBe(404);
});

test('X-Test-Cut-After drops the connection after that many body bytes', async ({ request }) => {
  const cut = request.get(FILE, { headers: { 'X-Test-Cut-After': '5' } });
  await expect(cut).rejects.toThrow();
  const whole = await request.get(FILE, { headers: { 'X-Test-Cut-After': '100' } });
  expect(await whole.text()).toBe('<html>404</html>\n');
});
