/** `LlamaEmbedding`: sentence vectors as a runes class. */

import { HearthError } from '@hearth/runner';
import { type ModelOptions, resolveModel } from './generation.svelte.js';
import type { HearthModel } from './model.svelte.js';
import { onOwnerDestroy } from './owner.svelte.js';

/** One embedding vector. */
export type Vector = Float32Array | number[];

/**
 * What `LlamaEmbedding` calls: `embed(texts)` resolving to the vectors, or to
 * `{ vectors }` (the shape of `@hearth/runner`'s `EmbeddingRunner`). Checked at run time.
 */
export interface Embedder {
  embed(texts: string[]): Promise<Vector[] | { vectors: Vector[] }>;
}

/** Options of {@link LlamaEmbedding}. */
export interface LlamaEmbeddingOptions extends ModelOptions {
  /** The runner to embed with (e.g. an `EmbeddingRunner`); default: the model's runner. */
  runner?: Embedder | undefined;
}

/** Status of the last `embed` call: `submitted` while it runs. */
export type EmbeddingStatus = 'submitted' | 'ready' | 'error';

function asEmbedder(runner: unknown): Embedder {
  const candidate = runner as Partial<Embedder> | undefined;
  if (typeof candidate?.embed !== 'function') {
    throw new HearthError(
      'EMBED_UNAVAILABLE',
      'this runner has no embed(texts): pass an embedding runner as new LlamaEmbedding({ runner })',
    );
  }
  return candidate as Embedder;
}

/** Embeds texts with `options.runner`, or else with the model's runner (which must then have `embed`). */
export class LlamaEmbedding {
  /** The last call's vectors, one per text. */
  vectors: Vector[] | undefined = $state.raw(undefined);
  status: EmbeddingStatus = $state('ready');
  /** The last call's error (a `HearthError` with a stable `code`). */
  error: Error | undefined = $state.raw(undefined);
  /** The model embedded with when no `runner` was given (`undefined` then if none was given either). */
  readonly model: HearthModel | undefined;

  #runner: Embedder | undefined;
  #owned: boolean;
  #call = 0;

  constructor(options: LlamaEmbeddingOptions = {}) {
    this.#runner = options.runner;
    if (options.runner !== undefined && options.model === undefined) {
      this.model = undefined;
      this.#owned = false;
    } else {
      const { model, owned } = resolveModel(options);
      this.model = model;
      this.#owned = owned;
    }
    onOwnerDestroy(() => this.destroy());
  }

  /** One vector per text, in order. Rejects (and sets `error`) on failure. */
  embed = async (texts: string[]): Promise<Vector[]> => {
    const mine = ++this.#call;
    this.status = 'submitted';
    this.error = undefined;
    try {
      if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
        throw new HearthError('HEARTH_INVALID_ARGUMENT', 'embed(texts): texts must be strings');
      }
      const runner = asEmbedder(this.#runner ?? (await this.model?.ready()));
      const answer = await runner.embed(texts);
      const out = Array.isArray(answer) ? answer : answer?.vectors;
      if (!Array.isArray(out)) {
        throw new HearthError('EMBED_UNAVAILABLE', 'embed(texts) returned no vectors');
      }
      if (mine === this.#call) {
        this.vectors = out;
        this.status = 'ready';
      }
      return out;
    } catch (e) {
      const failure = e instanceof Error ? e : new Error(String(e));
      if (mine === this.#call) {
        this.error = failure;
        this.status = 'error';
      }
      throw failure;
    }
  };

  /** Ignores the call in flight; disposes the model if this object loaded it. */
  destroy(): void {
    this.#call += 1;
    if (this.#owned) this.model?.dispose();
  }
}
