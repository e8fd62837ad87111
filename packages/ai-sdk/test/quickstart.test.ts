// The docs' Node quick start (examples/quickstart.ts, shown in docs/frameworks/ai-sdk.md
// and the README) runs as written, on the real models.

import { LlamaRunner } from '@hearth/runner';
import { afterEach, expect, test, vi } from 'vitest';
import { modelPath, SMOLLM2 } from '../../runner/test/models.js';

afterEach(() => {
  vi.restoreAllMocks();
});

test('examples/quickstart.ts: generateText, streamText and embedMany', async () => {
  process.env.HEARTH_MODEL = modelPath(SMOLLM2);
  process.env.HEARTH_EMBEDDING_MODEL = modelPath('all-MiniLM-L6-v2');
  const logged: unknown[][] = [];
  vi.spyOn(console, 'log').mockImplementation((...args) => {
    logged.push(args);
  });
  let streamed = '';
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk, ...rest) => {
    if (typeof chunk === 'string') streamed += chunk;
    else return write(chunk, ...(rest as []));
    return true;
  });
  await import('../examples/quickstart.js');
  vi.restoreAllMocks();

  const runner = await LlamaRunner.load(modelPath(SMOLLM2));
  try {
    const reference = await runner.chat(
      [{ role: 'user', content: 'What is the capital of France?' }],
      { temperature: 0, maxTokens: 20 },
    ).result;
    expect(logged[0]).toEqual([reference.text, reference.tokens.length]);
  } finally {
    runner.dispose();
  }
  expect(streamed.trim().length).toBeGreaterThan(0);
  expect(logged[1]).toEqual([2, 384]);
});
