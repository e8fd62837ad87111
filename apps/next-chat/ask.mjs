#!/usr/bin/env node
// Asks the running app's chat route with the official `openai` client and prints the streamed answer:
//   APP_URL=http://localhost:3000 node ask.mjs "Tell me the capital of France."
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: `${process.env.APP_URL ?? 'http://localhost:3000'}/api/v1`,
  apiKey: 'unused', // the route checks none; add your own auth in front of it
});
const stream = await client.chat.completions.create({
  model: 'SmolLM2-135M-Instruct.Q4_1',
  messages: [{ role: 'user', content: process.argv[2] ?? 'Tell me the capital of France.' }],
  temperature: 0,
  max_tokens: 64,
  stream: true,
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
process.stdout.write('\n');
