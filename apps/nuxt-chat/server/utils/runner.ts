import { LlamaRunner } from '@hearth/runner';

// One runner per server process, kept on globalThis so that dev-server hot reloads reuse it.
const cache = globalThis as { hearthRunner?: Promise<LlamaRunner> };

/** The server's runner (the native addon; loaded on first use from `runtimeConfig.hearthModel`). */
export function serverRunner(): Promise<LlamaRunner> {
  cache.hearthRunner ??= LlamaRunner.load(useRuntimeConfig().hearthModel).catch((e: unknown) => {
    cache.hearthRunner = undefined;
    throw e;
  });
  return cache.hearthRunner;
}
