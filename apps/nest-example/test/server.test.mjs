// Starts the built Nest app on 127.0.0.1 (a free port) as a user would, and reads SSE streams.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let child;
let origin;
let out = '';

before(async () => {
  child = spawn(process.execPath, [script], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  origin = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the app exited (${code}): ${out}`)));
  });
});

after(() => child?.kill('SIGKILL'));

/** Reads an SSE response into `[{ event, data }]`. */
async function events(path) {
  const res = await fetch(`${origin}${path}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const body = await res.text();
  return body
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)[1]);
      return { event, data };
    });
}

test('HearthService loaded the model before the app listened', async () => {
  assert.match(out, /\[HearthService\] loaded .*SmolLM2[^\n]*\n(.*\n)*listening on/);
  const health = await (await fetch(`${origin}/health`)).json();
  assert.equal(health.ok, true);
  assert.ok(['hearth', 'wasm'].includes(health.backend), health.backend);
});

test('streams a greedy completion over SSE', async () => {
  const list = await events(
    `/complete?prompt=${encodeURIComponent('The capital of France is')}&maxTokens=12`,
  );
  const tokens = list.filter((e) => e.event === 'message');
  const done = list.at(-1);
  assert.equal(done.event, 'done');
  const streamed = tokens.map((e) => e.data.text).join('');
  console.log(`nest-example: ${JSON.stringify(streamed)}`);
  assert.equal(streamed, done.data.text);
  assert.ok(streamed.startsWith(' Paris.'), streamed);
  assert.ok(tokens.length >= 10);
  assert.equal(done.data.finishReason, 'length');
});

test('answers a chat question over SSE', async () => {
  const list = await events(
    `/chat?q=${encodeURIComponent('What is the capital of France?')}&maxTokens=20`,
  );
  assert.equal(list.at(-1).event, 'done');
  assert.ok(list.at(-1).data.text.length > 0);
});

test('rejects a bad option with 400 and its code', async () => {
  const res = await fetch(`${origin}/complete?prompt=x&temperature=-1`);
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, 'INVALID_OPTION');
});

test('shuts down on SIGTERM: onModuleDestroy disposes the runner, the process exits', async () => {
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.kill('SIGTERM');
  const { code, signal } = await exited;
  assert.ok(code === 0 || signal === 'SIGTERM', `code ${code}, signal ${signal}`);
});
