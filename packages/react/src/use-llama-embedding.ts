/** `useLlamaEmbedding`: sentence vectors from the provider's model. */

import { HearthError, type LoadProgress } from '@hearth/runner';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ModelStatus } from './model-store.js';
import { useHearthModel, useModelStore } from './provider.js';

/** One embedding vector. */
export type Vector = Float32Array | number[];

/**
 * What this hook calls: `embed(texts)` resolving to the vectors, or to
 * `{ vectors }` (the shape of `@hearth/runner`'s `EmbeddingRunner`). Checked at run time.
 */
export interface Embedder {
  embed(texts: string[]): Promise<Vector[] | { vectors: Vector[] }>;
}

/** Options of {@link useLlamaEmbedding}. */
export interface UseLlamaEmbeddingOptions {
  /** The runner to embed with (e.g. an `EmbeddingRunner`); default: the provider's runner. */
  runner?: Embedder | undefined;
}

/** Status of the last `embed` call: `submitted` while it runs. */
export type EmbeddingStatus = 'submitted' | 'ready' | 'error';

/** What {@link useLlamaEmbedding} returns. */
export interface UseLlamaEmbeddingHelpers {
  /** One vector per text, in order. Rejects (and sets `error`) on failure. */
  embed: (texts: string[]) => Promise<Vector[]>;
  /** The last call's vectors. */
  vectors: Vector[] | undefined;
  status: EmbeddingStatus;
  error: Error | undefined;
  modelStatus: ModelStatus;
  loadProgress: LoadProgress | undefined;
  modelError: Error | undefined;
}

function asEmbedder(runner: unknown): Embedder {
  const candidate = runner as Partial<Embedder> | undefined;
  if (typeof candidate?.embed !== 'function') {
    throw new HearthError(
      'EMBED_UNAVAILABLE',
      'this runner has no embed(texts): pass an embedding runner as useLlamaEmbedding({ runner }) or use a @hearth/runner whose runner embeds',
    );
  }
  return candidate as Embedder;
}

/**
 * Embeds texts with `options.runner`, or else with the runner of the nearest
 * `<HearthProvider>` (which must then have `embed`).
 */
export function useLlamaEmbedding(
  options: UseLlamaEmbeddingOptions = {},
): UseLlamaEmbeddingHelpers {
  const store = useModelStore();
  const model = useHearthModel();
  const [vectors, setVectors] = useState<Vector[] | undefined>(undefined);
  const [status, setStatus] = useState<EmbeddingStatus>('ready');
  const [error, setError] = useState<Error | undefined>(undefined);
  const call = useRef(0);
  const given = useRef(options.runner);
  given.current = options.runner;
  useEffect(
    () => () => {
      call.current += 1;
    },
    [],
  );

  const embed = useCallback(
    async (texts: string[]): Promise<Vector[]> => {
      const mine = ++call.current;
      setStatus('submitted');
      setError(undefined);
      try {
        if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
          throw new HearthError('HEARTH_INVALID_ARGUMENT', 'embed(texts): texts must be strings');
        }
        const runner = asEmbedder(given.current ?? (await store.runner()));
        const answer = await runner.embed(texts);
        const out = Array.isArray(answer) ? answer : answer?.vectors;
        if (!Array.isArray(out)) {
          throw new HearthError('EMBED_UNAVAILABLE', 'embed(texts) returned no vectors');
        }
        if (mine === call.current) {
          setVectors(out);
          setStatus('ready');
        }
        return out;
      } catch (e) {
        const failure = e instanceof Error ? e : new Error(String(e));
        if (mine === call.current) {
          setError(failure);
          setStatus('error');
        }
        throw failure;
      }
    },
    [store],
  );

  return {
    embed,
    vectors,
    status,
    error,
    modelStatus: model.status,
    loadProgress: model.loadProgress,
    modelError: model.error,
  };
}
