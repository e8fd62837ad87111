#!/usr/bin/env node
// An Express server that streams a local model's tokens over Server-Sent Events.
//
//   GET /complete?prompt=…   continues the text
//   GET /chat?q=…            answers with the model's chat template
//
// Each token is an SSE `message` event with `{"token":…,"text":"…"}`; the end
// is a `done` event with the result (`text`, `finishReason`, `timings`), an
// engine error an `error` event with `{"code","message"}`. A client that
// disconnects cancels its generation. Generations share one runner and are
// queued one after another.
//
// HOST (default 127.0.0.1), PORT (default 3000, 0: any free port), HEARTH_MODEL,
// HEARTH_BACKEND (auto, hearth, llama.cpp, wasm).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HearthError, LlamaRunner } from '@hearth/runner';
import express from 'express';

/** The Express app over a loaded runner. */
export function createApp(runner) {
  const app = express();

  app.get('/health', (_req, res) => {
    res.json({ ok: true, backend: runner.info().backend, model: runner.info().model.name });
  });

  const stream = (start) => async (req, res) => {
    const controller = new AbortController();
    let generation;
    try {
      generation = start(req.query, { signal: controller.signal });
    } catch (e) {
      // Bad options are reported before anything streams.
      const code = e instanceof HearthError ? e.code : 'HEARTH_INTERNAL';
      res.status(400).json({ code, message: e.message });
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.on('close', () => controller.abort());
    const send = (event, data) =>
      res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    try {
      for await (const chunk of generation) send(undefined, chunk);
      const { text, finishReason, timings } = await generation.result;
      send('done', { text, finishReason, timings });
    } catch (e) {
      send('error', { code: e.code ?? 'HEARTH_INTERNAL', message: e.message });
    }
    res.end();
  };

  const options = (query, extra) => ({
    temperature: Number(query.temperature ?? 0),
    maxTokens: Number(query.maxTokens ?? 64),
    ...extra,
  });
  app.get(
    '/complete',
    stream((query, extra) =>
      runner.generateText(String(query.prompt ?? ''), options(query, extra)),
    ),
  );
  app.get(
    '/chat',
    stream((query, extra) =>
      runner.chat([{ role: 'user', content: String(query.q ?? '') }], options(query, extra)),
    ),
  );
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const model =
    process.env.HEARTH_MODEL ??
    join(
      process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models'),
      'SmolLM2-135M-Instruct.Q4_1.gguf',
    );
  const runner = await LlamaRunner.load(model, { backend: process.env.HEARTH_BACKEND ?? 'auto' });
  const host = process.env.HOST ?? '127.0.0.1';
  const server = createApp(runner).listen(Number(process.env.PORT ?? 3000), host, () => {
    const { port } = server.address();
    console.log(`listening on http://${host}:${port} (${runner.info().backend})`);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
    runner.dispose();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
