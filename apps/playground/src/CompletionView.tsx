/** Completion mode: a prompt and its streamed continuation. */

import { useLlamaCompletion } from '@hearth/react';
import { useState } from 'react';
import { type Sampling, toGenerateOptions } from './Sampling.js';
import { Stats, useStreamStats } from './stats.js';

export function CompletionView({ sampling }: { sampling: Sampling }) {
  const [prompt, setPrompt] = useState('The capital of France is');
  const stats = useStreamStats();
  const c = useLlamaCompletion({
    generateOptions: toGenerateOptions(sampling),
    onChunk: stats.onChunk,
  });
  const busy = c.status === 'submitted' || c.status === 'streaming';

  return (
    <div className="mode">
      <textarea
        data-testid="prompt"
        aria-label="prompt"
        rows={3}
        value={prompt}
        onChange={(e) => setPrompt(e.currentTarget.value)}
      />
      <div className="row">
        <button
          type="button"
          data-testid="generate"
          disabled={busy || c.modelStatus !== 'ready'}
          onClick={() => {
            stats.begin();
            void c.complete(prompt);
          }}
        >
          Generate
        </button>
        <button
          type="button"
          data-testid="stop"
          disabled={!busy}
          onClick={() => {
            stats.markStop();
            c.stop();
          }}
        >
          Stop
        </button>
        <span data-testid="request-status" className="muted">
          {c.status}
        </span>
      </div>
      <pre className="output">
        <span className="muted">{prompt}</span>
        <span data-testid="completion">{c.completion}</span>
      </pre>
      <Stats
        stats={stats.snapshot}
        tokensAtStop={stats.tokensAtStop}
        result={c.result}
        streaming={busy}
      />
      {c.error && (
        <p className="error" data-testid="request-error">
          {c.error.message}
        </p>
      )}
    </div>
  );
}
