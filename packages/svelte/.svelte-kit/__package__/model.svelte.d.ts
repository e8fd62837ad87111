/**
 * `HearthModel`: one `LlamaRunner` and its loading state as runes, shared by
 * the chat, completion and embedding classes (and the autocomplete action).
 */
import {
  LlamaRunner,
  type LoadOptions,
  type LoadProgress,
  type ModelSourceInput,
} from '@hearth/runner';
/** Where a model stands. */
export type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';
/** Load options (`backend`, `contextLength`, `cache`, `threads`, `onProgress`); the model owns the `signal`. */
export type ModelLoadOptions = Omit<LoadOptions, 'signal'>;
/**
 * A model loaded with `@hearth/runner` (a Web Worker in browsers). Its fields
 * are `$state`: read them in markup or effects and they update.
 *
 * Created in a component's `<script>` (or an `$effect.root`), it is disposed
 * with it; elsewhere call {@link HearthModel.dispose}.
 */
export declare class HearthModel {
  #private;
  /** `idle` (nothing loaded), `loading`, `ready` or `error`. */
  status: ModelStatus;
  /** The last progress event: `download`/`cache-read` bytes, then `verify`, `parse`, `init`. */
  loadProgress: LoadProgress | undefined;
  /** Why the last load failed: a `HearthError` with a stable `code` (`HTTP_404`, `GGUF_BAD_MAGIC` …). */
  error: Error | undefined;
  /** The loaded runner (`status === 'ready'`). */
  runner: LlamaRunner | undefined;
  /** Starts loading `source` at once when given; otherwise the model stays idle until {@link load}. */
  constructor(source?: ModelSourceInput, options?: ModelLoadOptions);
  /**
   * Loads `source` (a URL, `{ url, sha256? }`, a `File`/`Blob`, bytes; in Node
   * also a path), replacing (disposing) the runner loaded before. Resolves when
   * the load settles; it never rejects: a failure sets `status` and `error`.
   */
  load(source: ModelSourceInput, options?: ModelLoadOptions): Promise<void>;
  /**
   * The runner once it is ready: at once when loaded, after the load while
   * loading; rejects with the load error, or `NO_MODEL` while idle.
   */
  ready(): Promise<LlamaRunner>;
  /** Aborts the load in progress or disposes the runner (its worker ends); the model is idle again. */
  dispose(): void;
}
//# sourceMappingURL=model.svelte.d.ts.map
