/**
 * `createHearth`: the AI SDK provider. `hearth(id)` / `hearth.languageModel(id)`
 * and `hearth.embeddingModel(id)` give models that `generateText`, `streamText`,
 * `embed` and `embedMany` from `ai` accept.
 */

import { NoSuchModelError, type ProviderV4 } from '@ai-sdk/provider';
import {
  type EmbeddingLoadOptions,
  EmbeddingRunner,
  type EmbeddingSource,
  LlamaRunner,
  type LoadOptions,
  type ModelSourceInput,
} from '@hearth/runner';
import { HearthEmbeddingModel, type HearthEmbeddingModelOptions } from './embedding-model.js';
import { HearthLanguageModel, type HearthLanguageModelOptions } from './language-model.js';
import { LazyModel, type Loadable } from './loader.js';

/** Settings of {@link createHearth}. Every field is optional. */
export interface HearthProviderSettings {
  /** A loaded chat runner (or its promise) for every language model; the caller disposes it. */
  runner?: Loadable<LlamaRunner>;
  /**
   * A chat model source (URL, `{ url, sha256 }`, `File`/`Blob`, bytes; in Node a path),
   * loaded once on first use and shared by every language model of this provider.
   */
  model?: ModelSourceInput;
  /** Options of that load (`onProgress`, `cache`, `contextLength`, `backend` …). */
  loadOptions?: LoadOptions;
  /** Runner options every language model call starts from (`minP`, `repeatPenalty` …). */
  generateOptions?: HearthLanguageModelOptions;
  /** A loaded embedding runner (or its promise) for every embedding model; the caller disposes it. */
  embedder?: Loadable<EmbeddingRunner>;
  /** An embedding model source, loaded once on first use (`EmbeddingRunner.load`). */
  embeddingModel?: EmbeddingSource;
  /** Options of that load. */
  embeddingLoadOptions?: EmbeddingLoadOptions;
  /** Embedding options every call starts from (`normalize`, `batchSize`). */
  embedOptions?: HearthEmbeddingModelOptions;
}

/** The Hearth provider: a function (`hearth(id)`, a language model) with the `ProviderV4` methods. */
export interface HearthAIProvider extends ProviderV4 {
  (modelId?: string): HearthLanguageModel;
  /**
   * A chat model. With `runner` or `model` in the settings, `modelId` only names it
   * (in results and telemetry); without, `modelId` is the model source to load (a URL,
   * or a path in Node), loaded once per id.
   */
  languageModel(modelId?: string): HearthLanguageModel;
  /** An embedding model; `modelId` as in {@link languageModel}, with `embedder`/`embeddingModel`. */
  embeddingModel(modelId?: string): HearthEmbeddingModel;
  /** Alias of {@link embeddingModel} (the name of earlier AI SDK versions). */
  textEmbeddingModel(modelId?: string): HearthEmbeddingModel;
  /** @throws {NoSuchModelError} Hearth has no image models. */
  imageModel(modelId: string): never;
  /** Disposes the runners this provider loaded itself (not those passed in). */
  dispose(): void;
}

/**
 * Creates a Hearth provider for the Vercel AI SDK.
 *
 * ```ts
 * const hearth = createHearth({ model: '/models/SmolLM2-135M-Instruct.Q4_1.gguf' });
 * const { text } = await generateText({ model: hearth('smollm2'), prompt: 'Hi!' });
 * ```
 */
export function createHearth(settings: HearthProviderSettings = {}): HearthAIProvider {
  const byId = new Map<string, LazyModel<LlamaRunner>>();
  const embeddersById = new Map<string, LazyModel<EmbeddingRunner>>();
  const shared =
    settings.runner !== undefined
      ? LazyModel.of(settings.runner)
      : settings.model !== undefined
        ? loadRunner(settings.model, settings.loadOptions)
        : undefined;
  const sharedEmbedder =
    settings.embedder !== undefined
      ? LazyModel.of(settings.embedder)
      : settings.embeddingModel !== undefined
        ? loadEmbedder(settings.embeddingModel, settings.embeddingLoadOptions)
        : undefined;

  const languageModel = (modelId?: string): HearthLanguageModel => {
    let runner = shared;
    if (runner === undefined) {
      if (!modelId) throw noSource(modelId ?? '', 'languageModel');
      runner = byId.get(modelId);
      if (runner === undefined) {
        runner = loadRunner(modelId, settings.loadOptions);
        byId.set(modelId, runner);
      }
    }
    return new HearthLanguageModel(modelId ?? 'hearth', runner, settings.generateOptions);
  };

  const embeddingModel = (modelId?: string): HearthEmbeddingModel => {
    let runner = sharedEmbedder;
    if (runner === undefined) {
      if (!modelId) throw noSource(modelId ?? '', 'embeddingModel');
      runner = embeddersById.get(modelId);
      if (runner === undefined) {
        runner = loadEmbedder(modelId, settings.embeddingLoadOptions);
        embeddersById.set(modelId, runner);
      }
    }
    return new HearthEmbeddingModel(modelId ?? 'hearth-embedding', runner, settings.embedOptions);
  };

  const provider = (modelId?: string) => languageModel(modelId);
  return Object.assign(provider, {
    specificationVersion: 'v4' as const,
    languageModel,
    embeddingModel,
    textEmbeddingModel: embeddingModel,
    imageModel(modelId: string): never {
      throw new NoSuchModelError({ modelId, modelType: 'imageModel' });
    },
    dispose() {
      shared?.dispose();
      sharedEmbedder?.dispose();
      for (const m of byId.values()) m.dispose();
      for (const m of embeddersById.values()) m.dispose();
      byId.clear();
      embeddersById.clear();
    },
  });
}

function noSource(modelId: string, modelType: 'languageModel' | 'embeddingModel') {
  return new NoSuchModelError({
    modelId,
    modelType,
    message:
      modelType === 'languageModel'
        ? 'createHearth: give `runner` or `model` in the settings, or a model source as the id'
        : 'createHearth: give `embedder` or `embeddingModel` in the settings, or a model source as the id',
  });
}

/** A chat runner loaded from `source` on first use. @internal */
export function loadRunner(
  source: ModelSourceInput,
  options: LoadOptions = {},
): LazyModel<LlamaRunner> {
  return new LazyModel(
    (onProgress) =>
      LlamaRunner.load(source, {
        ...options,
        onProgress: (p) => {
          options.onProgress?.(p);
          onProgress(p);
        },
      }),
    true,
  );
}

function loadEmbedder(
  source: EmbeddingSource,
  options: EmbeddingLoadOptions = {},
): LazyModel<EmbeddingRunner> {
  return new LazyModel(() => EmbeddingRunner.load(source, options), true);
}
