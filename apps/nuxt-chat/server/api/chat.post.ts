import type { ChatMessage } from '@hearth/runner';

/**
 * POST /api/chat `{ messages: [{ role, content }], maxTokens? }` → Server-Sent Events:
 * `data: {"text":"…"}` per chunk, then `data: {"done":true,"finishReason":"…"}`.
 * The answer stops when the client disconnects.
 */
export default defineEventHandler(async (event) => {
  const body = await readBody<{ messages?: ChatMessage[]; maxTokens?: number }>(event);
  const messages = body?.messages;
  if (
    !Array.isArray(messages) ||
    messages.length === 0 ||
    !messages.every((m) => typeof m?.role === 'string' && typeof m?.content === 'string')
  ) {
    throw createError({ statusCode: 400, statusMessage: 'messages: [{ role, content }] expected' });
  }
  const runner = await serverRunner();
  const abort = new AbortController();
  const generation = runner.chat(messages, {
    maxTokens: Math.min(Number(body.maxTokens ?? 256) || 256, 1024),
    temperature: 0.7,
    signal: abort.signal,
  });
  const stream = createEventStream(event);
  stream.onClosed(() => abort.abort());
  void (async () => {
    try {
      for await (const { text } of generation) {
        if (text !== '') await stream.push(JSON.stringify({ text }));
      }
      const { finishReason } = await generation.result;
      await stream.push(JSON.stringify({ done: true, finishReason }));
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'ERROR';
      await stream.push(JSON.stringify({ error: { code, message: String((e as Error).message) } }));
    } finally {
      await stream.close();
    }
  })();
  return stream.send();
});
