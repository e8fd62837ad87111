/** `LlamaEmbedding`: sentence vectors as a runes class. */
import { type ModelOptions } from './generation.svelte.js';
import type { HearthModel } from './model.svelte.js';
/** One embedding vector. */
export type Vector = Float32Array | number[];
/**
 * What `LlamaEmbedding` calls: `embed(texts)` resolving to the vectors, or to
 * `{ vectors }` (the shape of `@hearth/runner`'s `EmbeddingRunner`). Checked at run time.
 */
export interface Embedder {
  embed(texts: string[]): Promise<
    | Vector[]
    | {
        vectors: Vector[];
      }
  >;
}
/** Options of {@link LlamaEmbedding}. */
export interface LlamaEmbeddingOptions extends ModelOptions {
  /** The runner to embed with (e.g. an `EmbeddingRunner`); default: the model's runner. */
  runner?: Embedder | undefined;
}
/** Status of the last `embed` call: `submitted` while it runs. */
export type EmbeddingStatus = 'submitted' | 'ready' | 'error';
/** Embeds texts with `options.runner`, or else with the model's runner (which must then have `embed`). */
export declare class LlamaEmbedding {
  #private;
  /** The last call's vectors, one per text. */
  vectors: Vector[] | undefined;
  status: EmbeddingStatus;
  /** The last call's error (a `HearthError` with a stable `code`). */
  error: Error | undefined;
  /** The model embedded with when no `runner` was given (`undefined` then if none was given either). */
  readonly model: HearthModel | undefined;
  constructor(options?: LlamaEmbeddingOptions);
  /** One vector per text, in order. Rejects (and sets `error`) on failure. */
  embed: (texts: string[]) => Promise<Vector[]>;
  /** Ignores the call in flight; disposes the model if this object loaded it. */
  destroy(): void;
}
//# sourceMappingURL=embedding.svelte.d.ts.map
