/** `LlamaEmbedding`: sentence vectors as a runes class. */
import { HearthError } from '@hearth/runner';
import { resolveModel } from './generation.svelte.js';
import { onOwnerDestroy } from './owner.svelte.js';

function asEmbedder(runner) {
  const candidate = runner;
  if (typeof candidate?.embed !== 'function') {
    throw new HearthError(
      'EMBED_UNAVAILABLE',
      'this runner has no embed(texts): pass an embedding runner as new LlamaEmbedding({ runner })',
    );
  }
  return candidate;
}
/** Embeds texts with `options.runner`, or else with the model's runner (which must then have `embed`). */
export class LlamaEmbedding {
  /** The last call's vectors, one per text. */
  vectors = $state.raw(undefined);
  status = $state('ready');
  /** The last call's error (a `HearthError` with a stable `code`). */
  error = $state.raw(undefined);
  /** The model embedded with when no `runner` was given (`undefined` then if none was given either). */
  model;
  #runner;
  #owned;
  #call = 0;
  constructor(options = {}) {
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
  embed = async (texts) => {
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
  destroy() {
    this.#call += 1;
    if (this.#owned) this.model?.dispose();
  }
}
