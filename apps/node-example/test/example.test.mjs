// Runs the example script as a user would and checks its streamed answer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../index.mjs', import.meta.url));

/** Runs the script; returns stdout and the stdout chunk count (more than one: streamed). */
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ out, err, chunks }) : reject(new Error(`exit ${code}: ${err}`)),
    );
  });
}

test('streams a greedy continuation', async () => {
  const { out, err, chunks } = await run(['--complete', 'The capital of France is']);
  console.log(`node-example: ${JSON.stringify(out)} ${err.trim()}`);
  assert.ok(out.startsWith(' Paris.'), out);
  assert.ok(chunks > 1, `expected a streamed answer, got ${chunks} write(s)`);
});

test('answers a chat question', async () => {
  const { out } = await run(['What is the capital of France?']);
  console.log(`node-example chat: ${JSON.stringify(out)}`);
  assert.ok(out.trim().length > 0);
});
