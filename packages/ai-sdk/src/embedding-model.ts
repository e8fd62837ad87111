/**
 * `HearthEmbeddingModel`: an `EmbeddingModelV4` over an `EmbeddingRunner`, so
 * `embed` and `embedMany` run on a local embedding model.
 */

import type {
  EmbeddingModelV4,
  EmbeddingModelV4CallOptions,
  EmbeddingModelV4Result,
  SharedV4Warning,
} from '@ai-sdk/provider';
import type { EmbeddingRunner } from '@hearth/runner';
import { PROVIDER } from './language-model.js';
import { getUnlessAborted, type LazyModel } from './loader.js';

/** Options of the embedding model (`providerOptions: { hearth: { … } }` per call). */
export interface HearthEmbeddingModelOptions {
  /** L2-normalise the vectors; default: as the model declares. */
  normalize?: boolean;
  /** Texts per encoder batch (runner default 32). */
  batchSize?: number;
}

/**
 * A Hearth embedding model as an AI SDK `EmbeddingModelV4`. One call embeds any
 * number of values (the runner batches them); `dimensions` other than the
 * model's own is reported as an `unsupported` warning (vectors are not cut).
 */
export class HearthEmbeddingModel implements EmbeddingModelV4 {
  readonly specificationVersion = 'v4';
  readonly provider = PROVIDER;
  readonly modelId: string;
  /** The runner batches internally: no limit per call. */
  readonly maxEmbeddingsPerCall = Number.POSITIVE_INFINITY;
  /** Calls on one runner are queued, never run in parallel. */
  readonly supportsParallelCalls = false;
  #runner: LazyModel<EmbeddingRunner>;
  #defaults: HearthEmbeddingModelOptions;

  /** @internal Use `createHearth(…).embeddingModel(id)`. */
  constructor(
    modelId: string,
    runner: LazyModel<EmbeddingRunner>,
    defaults: HearthEmbeddingModelOptions = {},
  ) {
    this.modelId = modelId;
    this.#runner = runner;
    this.#defaults = defaults;
  }

  async doEmbed(call: EmbeddingModelV4CallOptions): Promise<EmbeddingModelV4Result> {
    const warnings: SharedV4Warning[] = [];
    const options: HearthEmbeddingModelOptions = { ...this.#defaults };
    for (const [key, value] of Object.entries(call.providerOptions?.[PROVIDER] ?? {})) {
      if (key === 'normalize' && typeof value === 'boolean') options.normalize = value;
      else if (key === 'batchSize' && typeof value === 'number') options.batchSize = value;
      else {
        warnings.push({
          type: 'unsupported',
          feature: `providerOptions.${PROVIDER}.${key}`,
          details: 'known options: normalize (boolean), batchSize (number)',
        });
      }
    }
    const runner = await getUnlessAborted(this.#runner, call.abortSignal);
    const dims = runner.info().dims;
    if (call.dimensions !== undefined && call.dimensions !== dims) {
      warnings.push({
        type: 'unsupported',
        feature: 'dimensions',
        details: `the model's vectors have ${dims} dimensions; they are not cut to ${call.dimensions}`,
      });
    }
    const result = await runner.embed(call.values, options);
    // Embedding cannot stop half-way; an abort during it still rejects the call.
    call.abortSignal?.throwIfAborted();
    return {
      embeddings: result.vectors.map((v) => Array.from(v)),
      providerMetadata: { hearth: { dims: result.dims, truncated: result.truncated } },
      warnings,
    };
  }
}
