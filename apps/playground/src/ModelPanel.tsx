/** Model loading: a URL (the locally served test model by default) or a local file, the backend, progress per stage. */

import { useHearthModel } from '@hearth/react';
import {
  type Backend,
  capabilities,
  type LoadProgress,
  type ModelSourceInput,
} from '@hearth/runner';
import { useState } from 'react';
import type { LoadRequest } from './App.js';

/** The test model as `apps/playground`'s servers serve it (from $HEARTH_MODELS_DIR). */
export const DEFAULT_MODEL_URL = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';

const STAGES: LoadProgress['stage'][] = ['download', 'cache-read', 'verify', 'parse', 'init'];

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** The last progress event of each stage of the current load. */
export type StageProgress = Partial<Record<LoadProgress['stage'], LoadProgress>>;

export function ModelPanel({
  request,
  stages,
  onLoad,
}: {
  request: LoadRequest | undefined;
  stages: StageProgress;
  onLoad: (source: ModelSourceInput, label: string, backend: Backend) => void;
}) {
  const model = useHearthModel();
  const [url, setUrl] = useState(DEFAULT_MODEL_URL);
  const [backend, setBackend] = useState<Backend>('auto');
  // The loaded runner's own report says which wasm build and how many threads its engine runs.
  const caps = model.runner?.capabilities() ?? capabilities();
  const info = model.runner?.info();

  return (
    <section className="panel model">
      <h2>Model</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          onLoad(url, url, backend);
        }}
      >
        <input
          data-testid="model-url"
          aria-label="model URL"
          value={url}
          onChange={(e) => setUrl(e.currentTarget.value)}
        />
        <button type="submit" data-testid="load" disabled={model.status === 'loading'}>
          Load URL
        </button>
        <label className="file">
          or a file
          <input
            type="file"
            accept=".gguf"
            data-testid="model-file"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) onLoad(file, file.name, backend);
            }}
          />
        </label>
      </form>
      <div className="row">
        <label>
          backend
          <select
            data-testid="backend"
            value={backend}
            onChange={(e) => setBackend(e.currentTarget.value as Backend)}
          >
            <option value="auto">auto</option>
            <option value="wasm">wasm</option>
          </select>
        </label>
        <span
          data-testid="capabilities"
          data-engine-build={caps.wasm?.build}
          data-engine-threads={caps.engineThreads}
        >
          SIMD {caps.simd ? 'yes' : 'no'} · cross-origin isolated{' '}
          {caps.crossOriginIsolated ? 'yes' : 'no'} · threads{' '}
          {caps.threads ? `available (engine uses ${caps.engineThreads})` : 'unavailable'}
          {caps.wasm && ` · wasm build ${caps.wasm.build}`} · WebGPU {caps.webgpu ? 'yes' : 'no'}
        </span>
      </div>
      <p>
        status: <strong data-testid="model-status">{model.status}</strong>
        {request && <span className="muted"> · {request.label}</span>}
      </p>
      {request && (
        <div className="stages">
          {STAGES.map((stage) => {
            const p = stages[stage];
            const total = p?.total;
            return (
              <label key={stage} className={p ? '' : 'muted'}>
                {stage}
                <progress
                  data-testid={`progress-${stage}`}
                  data-loaded={p?.loaded}
                  max={total ?? 1}
                  value={p ? p.loaded : 0}
                />
                <span>
                  {p && (stage === 'download' || stage === 'cache-read')
                    ? `${mib(p.loaded)}${total === undefined ? '' : ` / ${mib(total)}`}`
                    : p
                      ? p.loaded >= (total ?? 1)
                        ? 'done'
                        : '…'
                      : ''}
                </span>
              </label>
            );
          })}
        </div>
      )}
      {model.error && (
        <p
          className="error"
          data-testid="model-error"
          data-code={(model.error as { code?: string }).code}
        >
          {model.error.message}
        </p>
      )}
      {info && (
        <p data-testid="model-info" className="muted">
          {info.model.architecture ?? info.config.architecture} · {info.config.nLayer} layers ·
          vocabulary {info.config.nVocab} · context {info.contextLength} · backend{' '}
          <strong data-testid="model-backend">{info.backend}</strong> · loaded in{' '}
          {info.config.loadMs.toFixed(0)} ms
        </p>
      )}
    </section>
  );
}
