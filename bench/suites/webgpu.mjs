/**
 * Suite `webgpu`: Hearth on WebGPU (`@hearth/runner`, `backend: 'webgpu'`) vs Hearth on
 * the wasm CPU engine (`backend: 'wasm'`) in the same headless Chromium
 * (`--enable-unsafe-webgpu`), with the protocol of the wasm suite (bench/web/bench.js),
 * a fresh browser per engine × model. The rows record the adapter `navigator.gpu` gave.
 *
 * It runs in the default `npm run bench` when Chromium offers a hardware adapter; a
 * fallback (software) adapter such as SwiftShader only with `--allow-software-gpu`, and
 * then with fewer tokens (prompts of 64 and 16, 16 decode steps): SwiftShader is the CPU
 * emulating a GPU, far slower than the wasm engine, so those rows are not GPU speed.
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../lib/server.mjs';
import { descendants, exec, peakRss, rowsFrom, unavailableRows } from '../lib/stats.mjs';
import { SOFTWARE } from './gpu.mjs';

export const name = 'webgpu';
export const description = 'Hearth WebGPU vs Hearth wasm (CPU) in headless Chromium';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** The two engines of the suite: the runner's `backend` option for each. */
const ENGINES = /** @type {const} */ ([
  ['hearth-wasm', 'wasm'],
  ['hearth-webgpu', 'webgpu'],
]);

/** @param {import('../run.mjs').SuiteContext} ctx */
export async function run(ctx) {
  const runnerDir = dirname(require.resolve('@hearth/runner/package.json'));
  const nobleDir = dirname(
    createRequire(join(runnerDir, 'package.json')).resolve('@noble/hashes/sha2.js'),
  );
  const server = await startServer(
    { '/runner/': runnerDir, '/noble-hashes/': nobleDir, '/': join(here, '..', 'web') },
    Object.fromEntries(ctx.models.map((m) => [m.id, m.path])),
  );
  const rows = [];
  try {
    const adapter = await probe(ctx, server.origin);
    if (!adapter) return [];
    const software = adapter.isFallbackAdapter === true;
    const prompts = software ? SOFTWARE.prompts : ctx.prompts;
    const decode = software ? SOFTWARE.decode : ctx.decode;
    // The wasm baseline gets the most threads asked for (the threaded build when above 1).
    const threads = Math.max(...ctx.threads);
    if (software) {
      ctx.note(
        `webgpu: the WebGPU rows ran on Chromium's fallback adapter ${JSON.stringify(label(adapter))} (--allow-software-gpu): the CPU emulating a GPU, so they show the WebGPU path working and its cost there, not GPU speed. Prompts of ${prompts.join(' and ')} tokens and ${decode} decode steps for both engines.`,
      );
    }
    for (const model of ctx.models) {
      const tokens = JSON.parse(
        await exec(ctx.hearthBench, [
          'tokens',
          '--model',
          model.path,
          '--prompt',
          [...new Set([16, ...prompts])].join(','),
        ]),
      );
      for (const [engine, backend] of ENGINES) {
        const base = {
          suite: name,
          engine,
          model: model.id,
          threads,
          ...(engine === 'hearth-webgpu' ? { peer: 'hearth-wasm' } : {}),
        };
        ctx.log(`webgpu ${engine} ${model.id} ${threads} thread(s)`);
        let r;
        try {
          r = await measure(ctx, server.origin, {
            engine: 'hearth',
            backend,
            modelUrl: `${server.origin}/m/${model.id}.gguf`,
            threads,
            reps: ctx.reps,
            tokens,
            prompts,
            decode,
          });
        } catch (e) {
          const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
          ctx.log(`webgpu ${engine} ${model.id} failed: ${message}`);
          const metrics = [
            'load_ms',
            'ttft_ms',
            ...prompts.map((n) => `pp${n}_tok_s`),
            'decode_tok_s',
            'peak_rss_bytes',
          ];
          rows.push(...unavailableRows(base, metrics, `error: ${message}`));
          continue;
        }
        const runsOn = r.gpu?.runsOn;
        if (backend === 'webgpu' && runsOn !== 'webgpu')
          throw new Error(`hearth-webgpu ran on ${runsOn}, not WebGPU`);
        rows.push(
          ...rowsFrom(
            {
              ...base,
              ...(backend === 'webgpu' ? { adapter: adapterOf(r.gpu.adapter) } : {}),
              engine_threads: r.threads,
            },
            { ...r.samples, peak_rss_bytes: [r.peakRss] },
          ),
        );
      }
    }
    return { rows, options: { threads: [threads], prompts, decode } };
  } finally {
    await server.close();
  }
}

/** Chromium with WebGPU on (off by default on Linux; SwiftShader where there is no GPU). */
function launch() {
  return chromium.launch({
    executablePath: process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--enable-unsafe-webgpu',
    ],
  });
}

/** `GPUAdapterInfo` plus the fallback flag, as the rows' `adapter` (see report.mjs). */
function adapterOf(a) {
  return {
    name: label(a),
    backend: 'webgpu',
    vendor: a?.vendor ?? '',
    architecture: a?.architecture ?? '',
    software: a?.isFallbackAdapter === true,
  };
}

const label = (a) =>
  [a?.vendor, a?.architecture, a?.description].filter(Boolean).join(' / ') || 'unknown';

/**
 * The adapter Chromium offers the bench page, or null (with a note) when there is none
 * the suite may use: none, or a fallback one without `--allow-software-gpu`.
 */
async function probe(ctx, origin) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/index.html`);
    const a = await page.evaluate(async () => {
      const gpu = /** @type {any} */ (navigator).gpu;
      if (!gpu) return { error: 'navigator.gpu is missing' };
      const adapter = await gpu.requestAdapter();
      if (!adapter) return { error: 'requestAdapter() gave no adapter' };
      const i = adapter.info ?? {};
      return {
        vendor: i.vendor,
        architecture: i.architecture,
        description: i.description,
        isFallbackAdapter: i.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
      };
    });
    if ('error' in a) {
      ctx.note(`webgpu: skipped: no WebGPU adapter in Chromium (${a.error}).`);
      return null;
    }
    if (a.isFallbackAdapter && !ctx.allowSoftwareGpu) {
      ctx.note(
        `webgpu: skipped: Chromium offers only the fallback adapter ${JSON.stringify(label(a))}; pass --allow-software-gpu to measure it anyway.`,
      );
      return null;
    }
    return a;
  } finally {
    await browser.close();
  }
}

/**
 * One engine × model in a fresh browser. Peak memory: the largest renderer (the page and
 * its workers) plus the GPU process, where WebGPU buffers live (with SwiftShader in host
 * memory; on a real GPU the weights are in video memory and not in this number).
 */
async function measure(ctx, origin, spec) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => ctx.log(`page error: ${e.message}`));
    await page.goto(`${origin}/index.html`);
    await page.waitForFunction(() => 'bench' in globalThis);
    const r = await page.evaluate((s) => /** @type {any} */ (globalThis).bench(s), spec);
    const procs = descendants(process.pid);
    const renderer = Math.max(
      0,
      ...procs.filter((p) => p.cmd.includes('--type=renderer')).map((p) => peakRss(p.pid)),
    );
    const gpu = Math.max(
      0,
      ...procs.filter((p) => p.cmd.includes('--type=gpu-process')).map((p) => peakRss(p.pid)),
    );
    r.peakRss = renderer + gpu;
    return r;
  } finally {
    await browser.close();
  }
}
