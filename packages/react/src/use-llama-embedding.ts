/** `useLlamaEmbedding`: sentence vectors from the provider's model. */

import { HearthError, type LlamaRunner, type LoadProgress } from '@hearth/runner';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ModelStatus } from './model-store.js';
import { useHearthModel, useModelStore } from './provider.js';

/** One embedding vector. */
export type Vector = Float32Array | number[];

/** The part of a runner this hook needs: `embed(texts)` (checked at run time). */
interface EmbeddingRunner {
  embed(texts: string[]): Promise<Vector[]>;
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

function embeddingRunner(runner: LlamaRunner): EmbeddingRunner {
  const candidate = runner as unknown as Partial<EmbeddingRunner>;
  if (typeof candidate.embed !== 'function') {
    throw new HearthError(
      'EMBED_UNAVAILABLE',
      'this @hearth/runner has no LlamaRunner.embed(texts): update @hearth/runner to a version with embeddings',
    );
  }
  return candidate as EmbeddingRunner;
}

/** Embeds texts with the model of the nearest `<HearthProvider>` (an embedding model). */
export function useLlamaEmbedding(): UseLlamaEmbeddingHelpers {
  const store = useModelStore();
  const model = useHearthModel();
  const [vectors, setVectors] = useState<Vector[] | undefined>(undefined);
  const [status, setStatus] = useState<EmbeddingStatus>('ready');
  const [error, setError] = useState<Error | undefined>(undefined);
  const call = useRef(0);
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
        const runner = embeddingRunner(await store.runner());
        const out = await runner.embed(texts);
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
