/** `useLlamaEmbedding`: sentence vectors, on demand or following reactive texts. */

import { HearthError } from '@hearth/runner';
import {
  type ComputedRef,
  computed,
  getCurrentScope,
  type MaybeRefOrGetter,
  markRaw,
  onScopeDispose,
  shallowRef,
  toValue,
  watch,
} from 'vue';
import { type Hearth, injectHearth, type ModelStatus, noHearth } from './hearth.js';

/** One embedding vector. */
export type Vector = Float32Array | number[];

/**
 * What this composable calls: `embed(texts)` resolving to the vectors, or to
 * `{ vectors }` (the shape of `@hearth/runner`'s `EmbeddingRunner`). Checked at run time.
 */
export interface Embedder {
  embed(texts: string[]): Promise<Vector[] | { vectors: Vector[] }>;
}

/** Options of {@link useLlamaEmbedding}. */
export interface UseLlamaEmbeddingOptions {
  /** The runner to embed with (e.g. an `EmbeddingRunner`), or a ref/getter of one; default: the Hearth's runner. */
  runner?: MaybeRefOrGetter<Embedder | undefined>;
  /** The Hearth whose runner embeds when `runner` is not given (default: the injected one). */
  hearth?: Hearth;
  /** Texts to embed whenever they change (a ref or getter); `vectors` follows them. */
  texts?: MaybeRefOrGetter<string[] | undefined>;
}

/** Status of the last `embed` call: `submitted` while it runs. */
export type EmbeddingStatus = 'submitted' | 'ready' | 'error';

/** What {@link useLlamaEmbedding} returns. */
export interface UseLlamaEmbeddingReturn {
  /** One vector per text, in order. Rejects (and sets `error`) on failure. */
  embed: (texts: string[]) => Promise<Vector[]>;
  /** The last call's vectors. */
  vectors: ComputedRef<Vector[] | undefined>;
  status: ComputedRef<EmbeddingStatus>;
  error: ComputedRef<Error | undefined>;
  /** The Hearth's model status (`idle` without a Hearth). */
  modelStatus: ComputedRef<ModelStatus>;
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
 * Embeds texts with `options.runner`, or else with the Hearth's runner (which
 * must then have `embed`). Results of a call overtaken by a newer one, or
 * arriving after the scope was disposed, are not stored.
 */
export function useLlamaEmbedding(options: UseLlamaEmbeddingOptions = {}): UseLlamaEmbeddingReturn {
  const hearth = options.hearth ?? injectHearth();
  const vectors = shallowRef<Vector[] | undefined>(undefined);
  const status = shallowRef<EmbeddingStatus>('ready');
  const error = shallowRef<Error | undefined>(undefined);
  let call = 0;
  if (getCurrentScope()) {
    onScopeDispose(() => {
      call += 1;
    });
  }

  async function embed(texts: string[]): Promise<Vector[]> {
    const mine = ++call;
    status.value = 'submitted';
    error.value = undefined;
    try {
      if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
        throw new HearthError('HEARTH_INVALID_ARGUMENT', 'embed(texts): texts must be strings');
      }
      const given = toValue(options.runner);
      if (given === undefined && hearth === undefined) throw noHearth();
      const runner = asEmbedder(given ?? (await (hearth as Hearth).ready()));
      const answer = await runner.embed(texts);
      const out = Array.isArray(answer) ? answer : answer?.vectors;
      if (!Array.isArray(out)) {
        throw new HearthError('EMBED_UNAVAILABLE', 'embed(texts) returned no vectors');
      }
      if (mine === call) {
        vectors.value = markRaw(out);
        status.value = 'ready';
      }
      return out;
    } catch (e) {
      const failure = e instanceof Error ? e : new Error(String(e));
      if (mine === call) {
        error.value = failure;
        status.value = 'error';
      }
      throw failure;
    }
  }

  if (options.texts !== undefined) {
    watch(
      () => {
        const texts = toValue(options.texts);
        return texts === undefined ? undefined : [...texts];
      },
      (texts) => {
        // The failure is in `error`/`status`.
        if (texts !== undefined && texts.length > 0) embed(texts).catch(() => {});
      },
      { immediate: true, deep: true },
    );
  }

  return {
    embed,
    vectors: computed(() => vectors.value),
    status: computed(() => status.value),
    error: computed(() => error.value),
    modelStatus: computed(() => hearth?.status.value ?? 'idle'),
  };
}
