// The Node `hearth` against the Rust `hearth` (apps/cli) on the same inputs:
// greedy run (text, tokens, top logits), tokenize, info --json, template and
// chat must agree. Needs the addon and the Rust CLI built (CI's Rust step builds it).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../../..');
const NODE_CLI = resolve(import.meta.dirname, '../bin/hearth.js');
const models = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');
const MODEL = join(models, 'SmolLM2-135M-Instruct.Q4_1.gguf');

/** `$HEARTH_CLI`, else the newest release/debug `hearth` in `$CARGO_TARGET_DIR`. */
function rustCli() {
  if (process.env.HEARTH_CLI) return process.env.HEARTH_CLI;
  const target = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
  const built = ['release', 'debug']
    .map((p) => join(target, p, 'hearth'))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  assert.ok(built[0], `build the Rust CLI first: cargo build -p hearth-cli (looked in ${target})`);
  return built[0];
}
const RUST_CLI = rustCli();

/** Runs both CLIs with `args`; resolves to [node, rust] outputs. */
async function both(args) {
  return Promise.all([
    run(process.execPath, [NODE_CLI, ...args], { maxBuffer: 16 << 20 }),
    run(RUST_CLI, args, { maxBuffer: 16 << 20 }),
  ]);
}

/** Runs the Node CLI expecting a failure; resolves to { code, stderr }. */
async function failing(args) {
  try {
    await run(process.execPath, [NODE_CLI, ...args]);
  } catch (e) {
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`hearth ${args.join(' ')} succeeded`);
}

const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));
const MESSAGES = join(dir, 'messages.json');
writeFileSync(
  MESSAGES,
  JSON.stringify([{ role: 'user', content: 'What is the capital of France?' }]),
);
const GREEDY = ['--temperature', '0', '--max-tokens', '20'];

test('run --json: the same greedy tokens, text and top logits as the Rust CLI', async () => {
  const args = ['run', '--model', MODEL, '--prompt', 'The capital of France is', '--json'];
  const [node, rust] = await both([...args, ...GREEDY]);
  const [n, r] = [JSON.parse(node.stdout), JSON.parse(rust.stdout)];
  assert.deepEqual(Object.keys(n).sort(), Object.keys(r).sort());
  assert.deepEqual(Object.keys(n.timings).sort(), Object.keys(r.timings).sort());
  assert.equal(n.text, r.text);
  assert.ok(n.text.startsWith(' Paris.'));
  assert.deepEqual(n.tokens, r.tokens);
  assert.deepEqual(n.prompt_tokens, r.prompt_tokens);
  assert.equal(n.finish_reason, 'length');
  assert.equal(n.finish_reason, r.finish_reason);
  assert.deepEqual(
    n.top_logits.map(([t]) => t),
    r.top_logits.map(([t]) => t),
  );
  for (const [i, [, logit]] of n.top_logits.entries()) {
    assert.ok(Math.abs(logit - r.top_logits[i][1]) < 1e-3, `top logit ${i}`);
  }
  assert.match(node.stderr, /\[hearth\] prompt 5 tok \(0 reused\) .* 20 tok at /);
});

test('run --backend gpu|auto: where it runs and its tokens as the Rust CLI reports them', async () => {
  const base = ['run', '--model', MODEL, '--prompt', 'The capital of France is', '--json'];
  const gpu = [...base, '--backend', 'gpu', '--ctx-size', '64', ...GREEDY];
  const [node, rust] = await both(gpu);
  const [n, r] = [JSON.parse(node.stdout), JSON.parse(rust.stdout)];
  assert.equal(n.backend, 'gpu');
  assert.equal(r.backend, 'gpu');
  assert.deepEqual(n.adapter, r.adapter);
  assert.equal(n.gpu_layers, n.model_layers);
  assert.deepEqual(n.tokens, r.tokens);
  // `auto`: CI's only adapter is lavapipe, so both stay on the CPU and say why; with it
  // allowed and a 16 MiB budget, both place the same first blocks.
  const [autoNode, autoRust] = (await both([...base, '--max-tokens', '2'])).map((o) =>
    JSON.parse(o.stdout),
  );
  assert.equal(autoNode.backend, autoRust.backend);
  assert.equal(autoNode.backend_reason, autoRust.backend_reason);
  const budget = [...base, '--max-tokens', '2', '--allow-software-gpu', '--gpu-memory', '16'];
  const [pn, pr] = (await both(budget)).map((o) => JSON.parse(o.stdout));
  assert.equal(pn.backend, 'gpu');
  assert.equal(pn.gpu_layers, pr.gpu_layers);
  assert.ok(pn.gpu_layers > 0 && pn.gpu_layers < pn.model_layers, String(pn.gpu_layers));
});

test('run streams the same text as the Rust CLI, with stop strings and seeded sampling', async () => {
  const prompt = ['run', '--model', MODEL, '--prompt', 'The capital of France is'];
  const [node, rust] = await both([...prompt, ...GREEDY, '--stop', 'population']);
  assert.equal(node.stdout, rust.stdout);
  assert.equal(node.stdout, ' Paris.\n\nThe United States has a ');
  const sampled = [...prompt, '--max-tokens', '12', '--seed', '5000000017', '--temperature', '1'];
  const [n, r] = await both([...sampled, '--json']);
  assert.deepEqual(JSON.parse(n.stdout).tokens, JSON.parse(r.stdout).tokens);
});

test('tokenize gives the Rust CLI token ids, with --special and --no-bos', async () => {
  for (const flags of [[], ['--special'], ['--no-bos'], ['--special', '--no-bos']]) {
    const [node, rust] = await both([
      'tokenize',
      '--model',
      MODEL,
      ...flags,
      '<|im_start|>user\nHello, world! 1234<|im_end|>',
    ]);
    assert.equal(node.stdout, rust.stdout, flags.join(' '));
    assert.ok(Array.isArray(JSON.parse(node.stdout)));
  }
});

test('info --json is the Rust CLI object; the table has the same lines', async () => {
  const [node, rust] = await both(['info', '--model', MODEL, '--json']);
  assert.equal(node.stdout, rust.stdout);
  assert.equal(JSON.parse(node.stdout).architecture, 'llama');
  const [nodeTable, rustTable] = await both(['info', '--model', MODEL]);
  assert.equal(nodeTable.stdout, rustTable.stdout);
});

test('template and chat --messages match the Rust CLI', async () => {
  const [node, rust] = await both([
    'template',
    '--model',
    MODEL,
    '--messages',
    MESSAGES,
    '--add-generation-prompt',
  ]);
  assert.equal(node.stdout, rust.stdout);
  assert.ok(node.stdout.endsWith('<|im_start|>assistant\n'));
  const [n, r] = await both(['chat', '--model', MODEL, '--messages', MESSAGES, ...GREEDY]);
  assert.equal(n.stdout, r.stdout);
  assert.ok(n.stdout.length > 0);
});

test('chat reads turns from stdin and answers each, keeping the conversation', async () => {
  const [once] = await both(['chat', '--model', MODEL, '--messages', MESSAGES, ...GREEDY]);
  const child = spawn(process.execPath, [NODE_CLI, 'chat', '--model', MODEL, ...GREEDY]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end('What is the capital of France?\nAnd of Italy?\n\n');
  const code = await new Promise((ok) => child.on('close', ok));
  assert.equal(code, 0, stderr);
  const [first, second] = stdout.split('\n').filter(Boolean);
  assert.equal(`${first}`, once.stdout.trim());
  assert.ok(second && second.length > 0);
  assert.match(stderr, /Chatting with .* empty line or Ctrl-D to quit/);
  assert.match(stderr, /\(0 reused\)/);
  // The second turn reused the first one's KV cache.
  assert.match(stderr, /prompt \d+ tok \([1-9]\d* reused\)/);
});

test('errors: a missing file, a bad flag value, an unknown command, embed', async () => {
  const missing = await failing(['run', '--model', '/nonexistent.gguf', '--prompt', 'x']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: .*\[IO_ERROR\]/);
  const bad = await failing(['run', '--model', MODEL, '--prompt', 'x', '--max-tokens', 'many']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid value 'many' for '--max-tokens'/);
  const unknown = await failing(['serve']);
  assert.equal(unknown.code, 2);
  const flag = await failing(['info', '--model', MODEL, '--colour']);
  assert.equal(flag.code, 2);
  const embed = await failing(['embed', '--model', models, 'hello']);
  assert.equal(embed.code, 1);
  assert.match(embed.stderr, /use the Rust CLI/);
});
