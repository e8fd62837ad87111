import { useChat } from '@ai-sdk/react';
import { HearthChatTransport, type HearthUIMessage } from '@hearth/ai-sdk';
import type { LoadProgress } from '@hearth/runner';
import { type FormEvent, useState } from 'react';

// `?model=` picks another GGUF URL; `?maxTokens=` caps the answers.
const params = new URLSearchParams(location.search);
const MODEL_URL = params.get('model') ?? '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
const MAX_TOKENS = Number(params.get('maxTokens') ?? 256);

type ModelStatus = 'idle' | 'loading' | 'ready' | 'error';

export function AiSdkChat() {
  const [modelStatus, setModelStatus] = useState<ModelStatus>('idle');
  const [loadError, setLoadError] = useState<Error>();
  const [progress, setProgress] = useState<LoadProgress>();
  // One transport for the page: it loads the model once, on Load or on the first message.
  const [transport] = useState(
    () =>
      new HearthChatTransport({
        model: MODEL_URL,
        loadOptions: { onProgress: setProgress },
        settings: { temperature: 0.7, maxOutputTokens: MAX_TOKENS },
      }),
  );
  const { messages, sendMessage, stop, status, error } = useChat<HearthUIMessage>({ transport });
  const [input, setInput] = useState('');
  const generating = status === 'submitted' || status === 'streaming';
  const failure = error ?? loadError;
  const loaded = transport.runner ? 'ready' : modelStatus;
  const shown = failure ? 'error' : generating ? 'generating' : loaded;

  function load() {
    setModelStatus('loading');
    transport.preload().then(
      () => setModelStatus('ready'),
      (e: Error) => {
        setLoadError(e);
        setModelStatus('error');
      },
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (input.trim() === '') return;
    void sendMessage({ text: input });
    setInput('');
  }

  return (
    <main>
      <button type="button" data-testid="load" disabled={loaded !== 'idle'} onClick={load}>
        Load model
      </button>
      <p>
        Status: <span data-testid="status">{shown}</span>
      </p>
      {modelStatus === 'loading' && (
        <progress data-testid="progress" value={progress?.loaded ?? 0} max={progress?.total ?? 1} />
      )}
      {failure && <p data-testid="error">{failure.message}</p>}
      {messages.map((m) => (
        <article key={m.id} className={m.role}>
          <strong>{m.role}</strong>
          {/* Sent before Load: the model loads in the request and reports as a data part. */}
          {m.parts.map((part) =>
            part.type === 'data-hearth-progress' && part.data.stage !== 'init' ? (
              <progress
                key={part.id}
                data-testid="message-progress"
                value={part.data.loaded}
                max={part.data.total ?? 1}
              />
            ) : null,
          )}
          <p data-testid="message" data-role={m.role}>
            {m.parts.map((part) => (part.type === 'text' ? part.text : '')).join('')}
          </p>
        </article>
      ))}
      <form onSubmit={submit}>
        <textarea data-testid="input" value={input} onChange={(e) => setInput(e.target.value)} />
        <button type="submit" data-testid="send" disabled={generating}>
          Send
        </button>
        <button type="button" data-testid="stop" disabled={!generating} onClick={stop}>
          Stop
        </button>
      </form>
    </main>
  );
}
