import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Backend, LlamaRunner } from '@hearth/runner';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';

/** The model file: `$HEARTH_MODEL`, else SmolLM2-135M in `$HEARTH_MODELS_DIR`. */
export function modelPath(): string {
  return (
    process.env.HEARTH_MODEL ??
    join(
      process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models'),
      'SmolLM2-135M-Instruct.Q4_1.gguf',
    )
  );
}

/**
 * The provider that owns the app's one `LlamaRunner`: loaded when the module
 * starts (Nest awaits `onModuleInit` before listening), disposed when it
 * stops (`app.close()`, or a signal with shutdown hooks enabled). Inject it
 * anywhere; generations from all requests are queued on its one session.
 */
@Injectable()
export class HearthService implements OnModuleInit, OnModuleDestroy {
  readonly #logger = new Logger(HearthService.name);
  #runner: LlamaRunner | undefined;

  async onModuleInit(): Promise<void> {
    const path = modelPath();
    this.#runner = await LlamaRunner.load(path, {
      backend: (process.env.HEARTH_BACKEND ?? 'auto') as Backend,
    });
    this.#logger.log(`loaded ${path} (${this.#runner.info().backend})`);
  }

  onModuleDestroy(): void {
    this.#runner?.dispose();
    this.#runner = undefined;
  }

  /** The loaded runner (throws before `onModuleInit` or after `onModuleDestroy`). */
  get runner(): LlamaRunner {
    if (!this.#runner) throw new Error('the model is not loaded');
    return this.#runner;
  }
}
