#!/usr/bin/env node
/**
 * `node bench/webgl/run.mjs`: the WebGL2 fragment-shader prototype vs Hearth's
 * wasm SIMD kernels on SmolLM2-135M Q4_1's real weight matrices, in one headless
 * Chromium (WebGL on whatever ANGLE finds: SwiftShader without a GPU). Writes
 * bench/results/webgl-<date>.json and prints a table plus the per-token estimate.
 * The verdict and its reasoning are in docs/webgl.md.
 *
 *   --reps N      repetitions per measurement, median reported (default 5)
 *   --pipeline N  products queued before one readback for `gl_pipelined_ms` (default 8)
 *   --model PATH  GGUF file (default $HEARTH_MODELS_DIR/SmolLM2-135M-Instruct.Q4_1.gguf)
 *   --out DIR     results folder (default bench/results)
 *
 * Chromium may fall back to SwiftShader so WebGL2 exists without a GPU; on a
 * machine with one, the hardware is used (the JSON records the renderer).
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { machine } from '../lib/machine.mjs';
import { SWIFTSHADER_FLAGS, startWebglServer } from './server.mjs';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    pipeline: { type: 'string', default: '8' },
    model: { type: 'string' },
    out: { type: 'string' },
  },
});
const reps = Number(values.reps);
const pipeline = Number(values.pipeline);
if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps: a positive integer');
if (!Number.isInteger(pipeline) || pipeline < 1) throw new Error('--pipeline: a positive integer');
const models = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');
const modelPath = values.model ?? join(models, 'SmolLM2-135M-Instruct.Q4_1.gguf');
const out = values.out ?? fileURLToPath(new URL('../results/', import.meta.url));

/**
 * One of each shape a SmolLM2-135M layer multiplies (v has k's shape, o has q's,
 * gate has up's), and the tied Q8_0 output matrix, which only the last prompt
 * token needs (so no 64-token row for it).
 */
const TENSORS = [
  { name: 'blk.0.attn_q.weight', tokens: [1, 64] },
  { name: 'blk.0.attn_k.weight', tokens: [1, 64] },
  { name: 'blk.0.ffn_up.weight', tokens: [1, 64] },
  { name: 'blk.0.ffn_down.weight', tokens: [1, 64] },
  { name: 'token_embd.weight', tokens: [1] },
];
/** Products per token of the whole model: 30 layers of q,k,v,o,gate,up,down, then output. */
const LAYERS = 30;
const PER_LAYER = {
  'blk.0.attn_q.weight': 2,
  'blk.0.attn_k.weight': 2,
  'blk.0.ffn_up.weight': 2,
  'blk.0.ffn_down.weight': 1,
};

const date = new Date().toISOString().slice(0, 10);
const load = [loadavg()];
const server = await startWebglServer(modelPath);
const browser = await chromium.launch({
  executablePath: process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--no-first-run', '--disable-background-networking', ...SWIFTSHADER_FLAGS],
});
let result;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => 'webgl' in globalThis);
  const env = await page.evaluate(
    ([m, w]) => /** @type {any} */ (globalThis).webgl.setup(m, w),
    ['/model.gguf', '/wasm/hearth_wasm.js'],
  );
  console.log(`WebGL: ${env.gl.renderer}; wasm: ${env.simd}, ${env.wasmThreads} thread(s)`);
  const rows = await page.evaluate((spec) => /** @type {any} */ (globalThis).webgl.bench(spec), {
    tensors: TENSORS,
    reps,
    pipeline,
  });
  load.push(loadavg());
  result = {
    schema: 1,
    date,
    suite: 'webgl',
    machine: { ...(await machine()), chromium_version: browser.version() },
    webgl: env.gl,
    wasm: { simd: env.simd, threads: env.wasmThreads },
    model: modelPath.split('/').pop(),
    options: { reps, pipeline },
    load: load.map((l) => l.map((x) => Math.round(x * 100) / 100)),
    rows,
    per_token: perToken(rows),
  };
} finally {
  await browser.close();
  await server.close();
}

/** Sums the per-shape medians into whole-model costs (ms) for a decode step and a 64-token prefill. */
function perToken(rows) {
  const ms = (metric, tensor, tokens) =>
    rows.find((r) => r.metric === metric && r.tensor === tensor && r.tokens === tokens)?.value;
  const estimate = (metric, tokens) => {
    let sum = 0;
    for (const [t, n] of Object.entries(PER_LAYER)) sum += LAYERS * n * ms(metric, t, tokens);
    // The output matrix: one product (the last token's logits) in both cases.
    return sum + ms(metric, 'token_embd.weight', 1);
  };
  const table = {};
  for (const metric of ['gl_ms', 'gl_pipelined_ms', 'wasm_ms'])
    table[metric] = { decode_step_ms: estimate(metric, 1), prefill64_ms: estimate(metric, 64) };
  return { products_per_token: LAYERS * 7 + 1, ...table };
}

mkdirSync(out, { recursive: true });
const file = join(out, `webgl-${date}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
const fmt = (x) => (x === undefined ? '' : x < 10 ? x.toFixed(3) : x.toFixed(1));
console.log('\ntensor                 shape        tok   gl+readback  gl pipelined   wasm (ms)');
for (const t of TENSORS)
  for (const n of t.tokens) {
    const get = (m) =>
      result.rows.find((r) => r.tensor === t.name && r.tokens === n && r.metric === m)?.value;
    const r = result.rows.find((x) => x.tensor === t.name);
    console.log(
      `${t.name.padEnd(22)} ${`${r.rows}×${r.cols}`.padEnd(12)} ${String(n).padStart(3)} ${fmt(get('gl_ms')).padStart(12)} ${fmt(get('gl_pipelined_ms')).padStart(13)} ${fmt(get('wasm_ms')).padStart(10)}`,
    );
  }
const rt = result.rows.find((r) => r.metric === 'gl_roundtrip_ms').value;
console.log(`\nround trip of a 4×32 product: ${fmt(rt)} ms`);
console.log('whole model (211 products):', JSON.stringify(result.per_token, null, 1));
console.log(`wrote ${file}`);
