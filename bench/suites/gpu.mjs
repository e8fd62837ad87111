/**
 * Suite `gpu`: Hearth on its native GPU backend (wgpu: Vulkan/Metal/DX12) vs Hearth on
 * the CPU, same models and prompts, through `hearth-bench measure` (one process per
 * engine × model, so each peak RSS is that engine's alone), plus llama.cpp with every
 * layer on its Vulkan backend when `hearth-bench` was built with `--features
 * llama-vulkan`. Every GPU row records its adapter.
 *
 * It runs in the default `npm run bench` when a hardware adapter exists; a software one
 * (lavapipe) only with `--allow-software-gpu`, and then with fewer tokens (prompts of 64
 * and 16, 16 decode steps): a software GPU is the CPU emulating a GPU, so those rows show
 * that the path works and what it costs there, not GPU speed.
 */

import { exec, measureNative, nativeSamples, rowsFrom } from '../lib/stats.mjs';

export const name = 'gpu';
export const description =
  'Hearth native GPU (wgpu) vs Hearth native CPU, and llama.cpp GPU (Vulkan) where built';

/** Token counts on a software adapter: enough to time each phase, few enough to finish. */
export const SOFTWARE = { prompts: [64, 16], decode: 16 };

/** @param {import('../run.mjs').SuiteContext} ctx */
export async function run(ctx) {
  const adapter = await probe(ctx);
  if (!adapter) return [];
  const software = adapter.software;
  const prompts = software ? SOFTWARE.prompts : ctx.prompts;
  const decode = software ? SOFTWARE.decode : ctx.decode;
  // The CPU baseline gets the most threads asked for (`--threads`); the GPU engines use
  // the same count for their little CPU work (embedding lookup, sampling).
  const threads = Math.max(...ctx.threads);
  if (software) {
    ctx.note(
      `gpu: the GPU rows ran on the software adapter ${JSON.stringify(adapter.name)} (${adapter.backend}; --allow-software-gpu): the CPU emulating a GPU, so they show the GPU path working and its cost there, not GPU speed. Prompts of ${prompts.join(' and ')} tokens and ${decode} decode steps for every engine of the suite.`,
    );
  }
  const rows = [];
  let llamaGpu = true;
  for (const model of ctx.models) {
    for (const engine of ['hearth', 'hearth-gpu', 'llama.cpp-gpu']) {
      if (engine === 'llama.cpp-gpu' && !llamaGpu) continue;
      ctx.log(`gpu ${engine} ${model.id} ${threads} thread(s)`);
      let m;
      try {
        m = await measureNative(ctx, {
          engine,
          model,
          threads,
          prompts,
          decode,
          extra: ctx.allowSoftwareGpu ? ['--allow-software-gpu'] : [],
        });
      } catch (e) {
        if (engine !== 'llama.cpp-gpu') throw e;
        // An optional engine: say once why its rows are missing and go on.
        llamaGpu = false;
        ctx.note(`gpu: no llama.cpp GPU rows: ${benchError(e)}`);
        continue;
      }
      const base = {
        suite: name,
        engine,
        model: model.id,
        threads,
        ...(m.adapter ? { adapter: m.adapter } : {}),
        ...(engine === 'hearth-gpu' ? { peer: ['hearth', 'llama.cpp-gpu'] } : {}),
      };
      rows.push(...rowsFrom(base, nativeSamples(m)));
      ctx.tokens[`${name}/${engine}/${model.id}/${threads}`] = m.tokens;
    }
    const cpu = ctx.tokens[`${name}/hearth/${model.id}/${threads}`];
    const gpu = ctx.tokens[`${name}/hearth-gpu/${model.id}/${threads}`];
    const from = cpu && gpu ? cpu.findIndex((t, i) => t !== gpu[i]) : -1;
    if (from >= 0) {
      ctx.note(
        `gpu ${model.id}: Hearth's GPU and CPU greedy decode tokens differ from token ${from} on (near-ties; core/src/gpu/README.md).`,
      );
    }
  }
  return { rows, options: { threads: [threads], prompts, decode } };
}

/**
 * The adapter the suite runs on, or null (with a note saying why not) when there is
 * none it may use: no adapter, or only a software one without `--allow-software-gpu`.
 */
async function probe(ctx) {
  const ask = async (allowSoftware) => {
    try {
      const out = await exec(ctx.hearthBench, [
        'adapter',
        ...(allowSoftware ? ['--allow-software-gpu'] : []),
      ]);
      return { adapter: JSON.parse(out) };
    } catch (e) {
      return { error: benchError(e) };
    }
  };
  const hw = await ask(ctx.allowSoftwareGpu);
  if (hw.adapter) return hw.adapter;
  const sw = ctx.allowSoftwareGpu ? hw : await ask(true);
  ctx.note(
    sw.adapter
      ? `gpu: skipped: only the software adapter ${JSON.stringify(sw.adapter.name)} (${sw.adapter.backend}); pass --allow-software-gpu to measure it anyway.`
      : `gpu: skipped: no GPU adapter (${hw.error}).`,
  );
  return null;
}

/**
 * `hearth-bench`'s own error line from a failed run (`error: …`), without the Vulkan
 * loader's and Mesa's lines on the same stderr (e.g. "XDG_RUNTIME_DIR is invalid").
 */
function benchError(e) {
  const text = e instanceof Error ? e.message : String(e);
  const errors = text
    .split('\n')
    .map((l) => l.match(/(?:^|exited \d+: )error: (.*)$/)?.[1])
    .filter((l) => l && !l.includes('XDG_'));
  return errors.pop() ?? text.trim();
}
