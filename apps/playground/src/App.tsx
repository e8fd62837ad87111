/** The playground: model loading on top, then chat or completion with the loaded model. */

import { HearthProvider } from '@hearth/react';
import type { Backend, ModelSourceInput } from '@hearth/runner';
import { useState } from 'react';
import { CachePanel } from './CachePanel.js';
import { ChatView } from './ChatView.js';
import { CompletionView } from './CompletionView.js';
import { ModelPanel, type StageProgress } from './ModelPanel.js';
import { DEFAULT_SAMPLING, type Sampling, SamplingControls } from './Sampling.js';

/** What the user asked to load; `n` remounts the provider so loading the same source again reloads. */
export interface LoadRequest {
  source: ModelSourceInput;
  label: string;
  backend: Backend;
  n: number;
}

export function App() {
  const [request, setRequest] = useState<LoadRequest | undefined>(undefined);
  const [mode, setMode] = useState<'completion' | 'chat'>('completion');
  const [sampling, setSampling] = useState<Sampling>(DEFAULT_SAMPLING);
  // Every progress event (the provider's `loadProgress` only keeps the latest): one bar per stage.
  const [stages, setStages] = useState<StageProgress>({});

  return (
    <HearthProvider
      key={request?.n ?? 0}
      model={request?.source}
      loadOptions={
        request
          ? {
              backend: request.backend,
              onProgress: (p) => setStages((s) => ({ ...s, [p.stage]: p })),
            }
          : undefined
      }
    >
      <header>
        <h1>Hearth playground</h1>
        <p>Local models in your browser: the Hearth engine (wasm) runs in a Web Worker.</p>
      </header>
      <main>
        <ModelPanel
          request={request}
          stages={stages}
          onLoad={(source, label, backend) => {
            setStages({});
            setRequest({ source, label, backend, n: (request?.n ?? 0) + 1 });
          }}
        />
        <SamplingControls value={sampling} onChange={setSampling} />
        <section className="panel">
          <div className="tabs" role="tablist">
            {(['completion', 'chat'] as const).map((m) => (
              <button
                key={m}
                type="button"
                role="tab"
                aria-selected={mode === m}
                data-testid={`mode-${m}`}
                onClick={() => setMode(m)}
              >
                {m === 'chat' ? 'Chat' : 'Completion'}
              </button>
            ))}
          </div>
          {mode === 'chat' ? (
            <ChatView sampling={sampling} />
          ) : (
            <CompletionView sampling={sampling} />
          )}
        </section>
        <CachePanel />
      </main>
    </HearthProvider>
  );
}
