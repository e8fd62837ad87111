// The relaxed-simd microbenchmark (see README.md): builds the kernel module, then times the
// simd128 and relaxed-simd Q4_1 block kernels in headless Chromium and in this Node, and
// writes bench/results/relaxed-simd-<date>.json.
//
//   node bench/relaxed-simd/run.mjs [--reps N]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({ options: { reps: { type: 'string' } } });
const reps = Number(values.reps ?? 7);

const target = join(
  process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/hearth/target'),
  'relaxed-simd-bench',
);
// The repository's .cargo/config.toml adds +simd128 for wasm32.
execFileSync(
  'cargo',
  [
    'build',
    '--release',
    '--target',
    'wasm32-unknown-unknown',
    '--manifest-path',
    join(here, 'Cargo.toml'),
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, CARGO_TARGET_DIR: target } },
);
const wasm = readFileSync(join(target, 'wasm32-unknown-unknown/release/relaxed_simd_bench.wasm'));

/**
 * Runs in the page and in Node: best-of-`reps` milliseconds per pass of each kernel.
 * @param {number[]} bytes
 * @param {number} reps
 */
function measure(bytes, reps) {
  const buf = new Uint8Array(bytes);
  if (!WebAssembly.validate(buf)) return { relaxed_simd: false };
  const e = new WebAssembly.Instance(new WebAssembly.Module(buf), {}).exports;
  e.init();
  const out = {
    relaxed_simd: true,
    isum_equal: e.isum(0) === e.isum(1),
    checksum_plain: e.plain(1),
    checksum_relaxed: e.relaxed(1),
  };
  const passes = 500;
  const best = (f) => {
    let b = Number.POSITIVE_INFINITY;
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      f(passes);
      b = Math.min(b, performance.now() - t);
    }
    return b / passes;
  };
  // Alternate, so that a load change hits both alike.
  const plain = [];
  const relaxed = [];
  for (let k = 0; k < 3; k++) {
    plain.push(best(e.plain));
    relaxed.push(best(e.relaxed));
  }
  out.plain_ms_per_pass = Math.min(...plain);
  out.relaxed_ms_per_pass = Math.min(...relaxed);
  out.speedup = out.plain_ms_per_pass / out.relaxed_ms_per_pass;
  return out;
}

const browser = await chromium.launch({
  executablePath: process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const page = await browser.newPage();
await page.goto('about:blank');
const load_before = loadavg();
const inChromium = await page.evaluate(
  ([fn, bytes, reps]) => new Function(`return (${fn})`)()(bytes, reps),
  [measure.toString(), [...wasm], reps],
);
const chromiumVersion = browser.version();
await browser.close();
let inNode;
try {
  inNode = measure([...wasm], reps);
} catch (e) {
  inNode = { relaxed_simd: false, error: String(e) };
}
const result = {
  date: new Date().toISOString(),
  kernel: 'Q4_1 x Q8_1 block dot, 1536 rows x 576 columns per pass',
  chromium: { version: chromiumVersion, ...inChromium },
  node: { version: process.version, ...inNode },
  load_before,
  load_after: loadavg(),
};
console.log(JSON.stringify(result, null, 2));
const stamp = result.date
  .slice(0, 16)
  .replace(':', '')
  .replace(/-(\d\d)T/, '-$1T');
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, `bench/results/relaxed-simd-${stamp}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
);
