// Where the wasm engine spends a prefill: runs one prompt through the single-threaded
// build in packages/runner/wasm under V8's sampling profiler (in this Node) and prints the
// functions with the largest self time (wasm function names come from the name section).
//
//   node bench/wasm-profile.mjs [model.gguf] [prompt tokens, default 512]
//
// HEARTH_WASM_PKG=dir profiles another build (say, another checkout's packages/runner/wasm).
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const models = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache/hearth/models');
const modelPath = process.argv[2] ?? join(models, 'SmolLM2-135M-Instruct.Q4_1.gguf');
const n = Number(process.argv[3] ?? 512);

const pkg = process.env.HEARTH_WASM_PKG ?? join(root, 'packages/runner/wasm');
const wasm = await import(join(pkg, 'hearth_wasm.js'));
wasm.initSync({ module: readFileSync(join(pkg, 'hearth_wasm_bg.wasm')) });
const bytes = readFileSync(modelPath);
const loader = new wasm.ModelLoader(bytes.length);
loader.push(bytes);
const model = loader.finish();
const text = 'The quick brown fox jumps over the lazy dog. '.repeat(Math.ceil(n / 8) + 1);
const prompt = new Uint32Array(model.tokenize(text, true, false).slice(0, n));
if (prompt.length < n) throw new Error(`only ${prompt.length} prompt tokens`);

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 500 });
await session.post('Profiler.start');
const s = model.createSession(n + 16);
const t0 = performance.now();
s.generate(prompt, { maxTokens: 1 });
const ms = performance.now() - t0;
const { profile } = await session.post('Profiler.stop');

const selfUs = new Map();
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
profile.samples.forEach((id, i) => {
  const name = byId.get(id)?.callFrame.functionName || '(anonymous)';
  selfUs.set(name, (selfUs.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
console.log(`prefill ${n} tokens: ${ms.toFixed(0)} ms (${((n / ms) * 1000).toFixed(1)} tok/s)`);
for (const [name, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  // Rust symbols: drop the hash suffix.
  console.log(
    `${((100 * us) / total).toFixed(1).padStart(5)}%  ${name.replace(/::h[0-9a-f]{16}$/, '')}`,
  );
}
