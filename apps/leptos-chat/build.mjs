#!/usr/bin/env node
// Builds the demo into dist/: the page and the engine worker, two binaries of
// this crate compiled for wasm32 (release profile), each run through the
// wasm-bindgen CLI (`--target web`; scripts/setup installs the version that
// matches Cargo.lock), plus index.html and style.css. No other tools: a warm
// rebuild is cargo's no-op and two wasm-bindgen runs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, 'dist');
const run = (cmd, args) =>
  execFileSync(cmd, args, { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] });

const started = Date.now();
run('cargo', [
  'build',
  '--release',
  '--locked',
  '--target',
  'wasm32-unknown-unknown',
  '-p',
  'leptos-chat',
  '--features',
  'web',
  '--bins',
]);
// The target dir as cargo sees it (CARGO_TARGET_DIR, or the workspace's `target/`).
const { target_directory } = JSON.parse(
  run('cargo', ['metadata', '--format-version', '1', '--no-deps']).toString(),
);
const out = join(target_directory, 'wasm32-unknown-unknown', 'release');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
for (const [bin, name] of [
  ['leptos-chat', 'app'],
  ['worker', 'worker'],
]) {
  run('wasm-bindgen', [
    '--target',
    'web',
    '--no-typescript',
    '--out-dir',
    dist,
    '--out-name',
    name,
    join(out, `${bin}.wasm`),
  ]);
}
for (const file of ['index.html', 'style.css']) copyFileSync(join(here, file), join(dist, file));
console.log(`leptos-chat: built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
