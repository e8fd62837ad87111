import { type GenerateTextOptions, type Generation, HearthError } from '@hearth/runner';
import {
  BadRequestException,
  Controller,
  Get,
  Inject,
  type MessageEvent,
  Query,
  Sse,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import { HearthService } from './hearth.service.js';

/**
 * Streams a generation as Server-Sent Events: one `message` event per token
 * (`{"token":…,"text":"…"}`), then a `done` event with the result (`text`,
 * `finishReason`, `timings`), or an `error` event with `{"code","message"}`.
 * A client that disconnects unsubscribes, which aborts its generation.
 */
function stream(start: (signal: AbortSignal) => Generation): Observable<MessageEvent> {
  const controller = new AbortController();
  let generation: Generation;
  try {
    generation = start(controller.signal);
  } catch (e) {
    // Bad options are reported before anything streams.
    if (e instanceof HearthError)
      throw new BadRequestException({ code: e.code, message: e.message });
    throw e;
  }
  return new Observable<MessageEvent>((subscriber) => {
    (async () => {
      try {
        for await (const chunk of generation) subscriber.next({ data: chunk });
        const { text, finishReason, timings } = await generation.result;
        subscriber.next({ type: 'done', data: { text, finishReason, timings } });
      } catch (e) {
        const code = e instanceof HearthError ? e.code : 'HEARTH_INTERNAL';
        subscriber.next({ type: 'error', data: { code, message: (e as Error).message } });
      }
      subscriber.complete();
    })();
    return () => controller.abort();
  });
}

/** `GET /health`, `GET /complete?prompt=…`, `GET /chat?q=…` (both with `maxTokens`, `temperature`). */
@Controller()
export class AskController {
  // An explicit token: injection does not depend on emitted type metadata.
  constructor(@Inject(HearthService) private readonly hearth: HearthService) {}

  @Get('health')
  health(): { ok: true; backend: string; model: string | null } {
    const info = this.hearth.runner.info();
    return { ok: true, backend: info.backend, model: info.model.name };
  }

  @Sse('complete')
  complete(
    @Query('prompt') prompt = '',
    @Query('maxTokens') maxTokens?: string,
    @Query('temperature') temperature?: string,
  ): Observable<MessageEvent> {
    return stream((signal) =>
      this.hearth.runner.generateText(prompt, options(maxTokens, temperature, signal)),
    );
  }

  @Sse('chat')
  chat(
    @Query('q') q = '',
    @Query('maxTokens') maxTokens?: string,
    @Query('temperature') temperature?: string,
  ): Observable<MessageEvent> {
    return stream((signal) =>
      this.hearth.runner.chat(
        [{ role: 'user', content: q }],
        options(maxTokens, temperature, signal),
      ),
    );
  }
}

/** Greedy and 64 tokens unless asked otherwise; the runner validates the numbers. */
function options(
  maxTokens: string | undefined,
  temperature: string | undefined,
  signal: AbortSignal,
): GenerateTextOptions {
  return { maxTokens: Number(maxTokens ?? 64), temperature: Number(temperature ?? 0), signal };
}
