/**
 * `<HearthProvider>`: loads one model for the components below it and gives
 * the hooks its runner.
 */

import type { LoadProgress, ModelSourceInput } from '@hearth/runner';
import {
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import { type ModelState, ModelStore, type ProviderLoadOptions, sourceKey } from './model-store.js';

const HearthContext = createContext<ModelStore | undefined>(undefined);

/** Props of {@link HearthProvider}. */
export interface HearthProviderProps {
  /**
   * The model: a URL, `{ url, sha256?, name?, license? }`, a `File`/`Blob` or
   * bytes (in Node also a file path). `undefined` leaves the provider idle.
   * The runner is loaded once per source (URLs compare by text, files by
   * identity) and disposed when the source changes or the provider unmounts.
   */
  model?: ModelSourceInput | undefined;
  /** Load options: `backend`, `contextLength`, `cache`, `onProgress`. Changing any but `onProgress` reloads. */
  loadOptions?: ProviderLoadOptions | undefined;
  children?: ReactNode;
}

/** Loads `model` with `@hearth/runner` (a Web Worker in browsers) for the hooks below it. */
export function HearthProvider({ model, loadOptions, children }: HearthProviderProps): ReactNode {
  // One store per provider instance (StrictMode may call this initializer twice; it has no effects).
  const [store] = useState(() => new ModelStore());
  const onProgress = useRef(loadOptions?.onProgress);
  onProgress.current = loadOptions?.onProgress;
  const key = model === undefined ? undefined : sourceKey(model, loadOptions);
  const latest = useRef({ model, loadOptions });
  latest.current = { model, loadOptions };

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` names the source and the options that matter.
  useEffect(() => {
    const { model: source, loadOptions: options } = latest.current;
    if (source === undefined) return;
    return store.use(source, {
      ...options,
      onProgress: (p: LoadProgress) => onProgress.current?.(p),
    });
  }, [store, key]);

  return <HearthContext.Provider value={store}>{children}</HearthContext.Provider>;
}

/** The provider's store; throws a clear error outside a `<HearthProvider>`. @internal */
export function useModelStore(): ModelStore {
  const store = useContext(HearthContext);
  if (store === undefined) {
    throw new Error('Hearth hooks must be used inside a <HearthProvider>');
  }
  return store;
}

/**
 * The provider's model: `status` ('idle' | 'loading' | 'ready' | 'error'),
 * `loadProgress`, `error`, and the `runner` once it is ready.
 */
export function useHearthModel(): ModelState {
  const store = useModelStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
