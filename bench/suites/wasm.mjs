/**
 * Suite `wasm`: Hearth's wasm engine (@hearth/runner) vs @wllama/wllama in the
 * same headless Chromium, page-side timings (bench/web/bench.js), a fresh
 * browser per engine × model × threads so the renderer's peak RSS is that
 * engine's alone. Hearth rows above one thread need the threaded wasm build;
 * without it they are recorded as unavailable rather than failing the run.
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../lib/server.mjs';
import { descendants, exec, peakRss, rowsFrom, unavailableRows } from '../lib/stats.mjs';

export const name = 'wasm';
export const description = 'Hearth wasm vs wllama in headless Chromium';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** @param {import('../run.mjs').SuiteContext} ctx */
export async function run(ctx) {
  const runnerDir = dirname(require.resolve('@hearth/runner/package.json'));
  const wllamaDir = dirname(require.resolve('@wllama/wllama/package.json'));
  // `@noble/hashes` (the runner's SHA-256 in browsers), as the runner resolves it.
  const nobleDir = dirname(
    createRequire(join(runnerDir, 'package.json')).resolve('@noble/hashes/sha2.js'),
  );
  const server = await startServer(
    {
      '/runner/': runnerDir,
      '/noble-hashes/': nobleDir,
      '/wllama/': wllamaDir,
      '/': join(here, '..', 'web'),
    },
    Object.fromEntries(ctx.models.map((m) => [m.id, m.path])),
  );
  const rows = [];
  try {
    for (const model of ctx.models) {
      const tokens = JSON.parse(
        await exec(ctx.hearthBench, [
          'tokens',
          '--model',
          model.path,
          '--prompt',
          [16, ...ctx.prompts].join(','),
        ]),
      );
      for (const threads of ctx.threads) {
        for (const engine of ['wllama', 'hearth']) {
          const base = {
            suite: name,
            engine,
            model: model.id,
            threads,
            ...(engine === 'hearth' ? { peer: 'wllama' } : {}),
          };
          ctx.log(`wasm ${engine} ${model.id} ${threads} thread(s)`);
          let r;
          try {
            r = await measure(ctx, server.origin, {
              engine,
              modelUrl: `${server.origin}/m/${model.id}.gguf`,
              threads,
              reps: ctx.reps,
              tokens,
              prompts: ctx.prompts,
              decode: ctx.decode,
            });
          } catch (e) {
            // One engine failing on one model is a result to record, not the end of the suite.
            const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
            ctx.log(`wasm ${engine} ${model.id} ${threads}t failed: ${message}`);
            rows.push(...unavailableRows(base, METRIC_NAMES(ctx), `error: ${message}`));
            continue;
          }
          if (!r.crossOriginIsolated)
            throw new Error('the bench page is not cross-origin isolated');
          // An engine that ran on another thread count than asked is not that row's measurement.
          if (r.threads !== threads) {
            const note =
              engine === 'hearth'
                ? `n/a (ran ${r.threads} thread: no threaded build)`
                : `n/a (ran ${r.threads ?? '?'} threads)`;
            rows.push(
              ...unavailableRows(base, [...Object.keys(r.samples), 'peak_rss_bytes'], note),
            );
            continue;
          }
          rows.push(
            ...rowsFrom(
              { ...base, ...(r.threads === null ? {} : { engine_threads: r.threads }) },
              { ...r.samples, peak_rss_bytes: [r.peakRss] },
            ),
          );
        }
      }
    }
  } finally {
    await server.close();
  }
  return rows;
}

/** The metrics every measurement reports, in the order of the tables. */
const METRIC_NAMES = (ctx) => [
  'load_ms',
  'ttft_ms',
  ...ctx.prompts.map((n) => `pp${n}_tok_s`),
  'decode_tok_s',
  'peak_rss_bytes',
];

/** One engine × model × threads in a fresh browser; adds the renderer's peak RSS. */
async function measure(ctx, origin, spec) {
  const browser = await chromium.launch({
    executablePath: process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => ctx.log(`page error: ${e.message}`));
    await page.goto(`${origin}/index.html`);
    await page.waitForFunction(() => 'bench' in globalThis);
    const r = await page.evaluate((s) => /** @type {any} */ (globalThis).bench(s), spec);
    // The page and its workers live in renderer processes: the largest one is the tab.
    // One browser runs at a time, so every renderer below this process is this one's.
    const renderers = descendants(process.pid).filter((p) => p.cmd.includes('--type=renderer'));
    r.peakRss = Math.max(0, ...renderers.map((p) => peakRss(p.pid)));
    return r;
  } finally {
    await browser.close();
  }
}
