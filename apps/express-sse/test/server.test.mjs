// Starts the server on 127.0.0.1 (a free port) as a user would, and reads SSE streams.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../server.mjs', import.meta.url));
let child;
let origin;

before(async () => {
  child = spawn(process.execPath, [script], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  origin = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${out}`)));
  });
});

after(() => child?.kill('SIGTERM'));

/** Reads an SSE response into `[{ event, data }]`, counting network chunks. */
async function events(path) {
  const res = await fetch(`${origin}${path}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const decoder = new TextDecoder();
  let body = '';
  let chunks = 0;
  for await (const part of res.body) {
    chunks += 1;
    body += decoder.decode(part, { stream: true });
  }
  const list = body
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)[1]);
      return { event, data };
    });
  return { list, chunks };
}

test('streams a greedy completion over SSE', async () => {
  const { list, chunks } = await events(
    `/complete?prompt=${encodeURIComponent('The capital of France is')}&maxTokens=12`,
  );
  const tokens = list.filter((e) => e.event === 'message');
  const done = list.at(-1);
  assert.equal(done.event, 'done');
  const streamed = tokens.map((e) => e.data.text).join('');
  console.log(`express-sse: ${JSON.stringify(streamed)} in ${chunks} network chunks`);
  assert.equal(streamed, done.data.text);
  assert.ok(streamed.startsWith(' Paris.'), streamed);
  assert.ok(tokens.length >= 10);
  assert.equal(done.data.finishReason, 'length');
});

test('answers a chat question over SSE', async () => {
  const { list } = await events(`/chat?q=${encodeURIComponent('What is the capital of France?')}`);
  assert.equal(list.at(-1).event, 'done');
  console.log(`express-sse chat: ${JSON.stringify(list.at(-1).data.text)}`);
  assert.ok(list.at(-1).data.text.length > 0);
});

test('rejects a bad option with 400 and its code', async () => {
  const res = await fetch(`${origin}/complete?prompt=x&temperature=-1`);
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, 'INVALID_OPTION');
});
