// withHearth, the hot-reload-proof model singleton and the Edge runtime check.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { withHearth } from '../src/config.js';
import { createChatRoute, disposeSharedModels, sharedModel } from '../src/server.js';
import { SMOLLM2 } from './models.js';

afterAll(() => disposeSharedModels());

describe('withHearth', () => {
  it('adds the runner and the addon to serverExternalPackages, keeping the config', () => {
    const config = withHearth({
      reactStrictMode: true,
      serverExternalPackages: ['sharp', '@hearth/node'],
    });
    expect(config.reactStrictMode).toBe(true);
    expect(config.serverExternalPackages).toEqual(['sharp', '@hearth/node', '@hearth/runner']);
  });

  it('adds COOP/COEP to every path after the config’s own headers', async () => {
    const own = [{ source: '/a', headers: [{ key: 'X-A', value: '1' }] }];
    const config = withHearth({ headers: async () => own }, { crossOriginIsolation: true });
    const rules = await config.headers?.();
    expect(rules?.[0]).toEqual(own[0]);
    expect(rules?.[1]).toEqual({
      source: '/:path*',
      headers: [
        { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
        { key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' },
      ],
    });
    const plain = { reactStrictMode: true, serverExternalPackages: [] };
    expect(withHearth(plain).headers).toBeUndefined();
  });
});

describe('sharedModel', () => {
  it('loads once per process, also across re-evaluated modules (a hot reload)', async () => {
    const [a, b] = await Promise.all([sharedModel(SMOLLM2), sharedModel(SMOLLM2)]);
    expect(a).toBe(b);
    vi.resetModules();
    const reloaded = await import('../src/model.js');
    expect(reloaded.sharedModel).not.toBe(sharedModel);
    expect(await reloaded.sharedModel(SMOLLM2)).toBe(a);
  });

  it('loads again after the runner was disposed or a load failed', async () => {
    const first = await sharedModel(SMOLLM2);
    first.dispose();
    const second = await sharedModel(SMOLLM2);
    expect(second).not.toBe(first);
    expect(second.disposed).toBe(false);
    await expect(sharedModel('/nonexistent.gguf')).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(sharedModel('/nonexistent.gguf')).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});

describe('the Edge runtime', () => {
  afterEach(() => {
    delete (globalThis as { EdgeRuntime?: string }).EdgeRuntime;
  });

  it('is refused with an error that names the fix', async () => {
    (globalThis as { EdgeRuntime?: string }).EdgeRuntime = 'edge-runtime';
    expect(() => createChatRoute({ model: SMOLLM2 })).toThrow(
      /Node\.js runtime only.*runtime = 'nodejs'/,
    );
    await expect(sharedModel(SMOLLM2)).rejects.toThrow(/not on the Edge runtime/);
  });
});
