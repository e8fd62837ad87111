// Runs the root README's `node -e` example verbatim, from the repository root,
// and checks that it streams SmolLM2's answer with the native addon.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
/** The script between `node --input-type=module -e "` and its closing quote. */
const script = /^node --input-type=module -e "\n([^"]*)\n"$/m.exec(readme)?.[1];
const models = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');
// The example reads $HOME/.cache/hearth/models: point HOME at wherever the models are.
const home = models.endsWith('/.cache/hearth/models') ? models.slice(0, -21) : undefined;

/** Runs the example with `env` added; resolves to its stdout, stderr and stdout chunk count. */
async function runExample(env) {
  assert.ok(script, 'README.md has a `node --input-type=module -e "…"` example');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, HOME: home, ...env },
  });
  let out = '';
  let err = '';
  let chunks = 0;
  child.stdout.on('data', (d) => {
    chunks += 1;
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, err);
  return { out, err, chunks };
}

const skip = !home && 'models are not under */.cache/hearth/models';

test('the README example streams a SmolLM2 answer natively', { skip }, async () => {
  const { out, err, chunks } = await runExample({});
  console.log(`README example: ${JSON.stringify(out)} in ${chunks} chunks`);
  assert.match(out, /Paris/);
  assert.ok(chunks > 1, 'the answer streams');
  // No fallback notice: the native addon ran it.
  assert.doesNotMatch(err, /wasm engine/);
});

test('the README example runs as written on the wasm engine too (the fallback)', {
  skip,
}, async () => {
  const { out } = await runExample({ HEARTH_RUNTIME: 'wasm' });
  assert.match(out, /Paris/);
});
