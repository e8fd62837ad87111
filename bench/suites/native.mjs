/**
 * Suite `native`: Hearth (hearth-core) vs llama.cpp (llama-cpp-sys-2), both
 * through `hearth-bench measure`, one process per engine × model × threads so
 * each peak RSS is that engine's alone. Engines alternate per model and thread
 * count so a change in machine load hits both alike.
 */

import { measureNative, nativeSamples, rowsFrom } from '../lib/stats.mjs';

export const name = 'native';
export const description = 'Hearth native vs llama.cpp native (llama-cpp-sys-2)';

/** @param {import('../run.mjs').SuiteContext} ctx */
export async function run(ctx) {
  const rows = [];
  for (const model of ctx.models) {
    for (const threads of ctx.threads) {
      for (const engine of ['llama.cpp', 'hearth']) {
        ctx.log(`native ${engine} ${model.id} ${threads} thread(s)`);
        const m = await measureNative(ctx, {
          engine,
          model,
          threads,
          prompts: ctx.prompts,
          decode: ctx.decode,
        });
        const base = {
          suite: name,
          engine,
          model: model.id,
          threads,
          ...(engine === 'hearth' ? { peer: 'llama.cpp' } : {}),
        };
        rows.push(...rowsFrom(base, nativeSamples(m)));
        ctx.tokens[`${name}/${engine}/${model.id}/${threads}`] = m.tokens;
      }
    }
  }
  return rows;
}
