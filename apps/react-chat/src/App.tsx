import { HearthProvider, messageText, useLlamaChat } from '@hearth/react';
import { type FormEvent, useState } from 'react';

// `?model=` picks another GGUF URL; `?maxTokens=` caps the answers.
const params = new URLSearchParams(location.search);
const MODEL_URL = params.get('model') ?? '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
const MAX_TOKENS = Number(params.get('maxTokens') ?? 256);

export function App() {
  // No model until the user asks: the provider stays idle.
  const [model, setModel] = useState<string>();
  return (
    <HearthProvider model={model}>
      <button
        type="button"
        data-testid="load"
        disabled={model !== undefined}
        onClick={() => setModel(MODEL_URL)}
      >
        Load model
      </button>
      <Chat />
    </HearthProvider>
  );
}

function Chat() {
  const { messages, sendMessage, stop, status, error, modelStatus, loadProgress, modelError } =
    useLlamaChat({ generateOptions: { temperature: 0.7, maxTokens: MAX_TOKENS } });
  const [input, setInput] = useState('');
  const generating = status === 'submitted' || status === 'streaming';
  const failure = error ?? modelError;
  const shown = failure ? 'error' : generating ? 'generating' : modelStatus;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (input.trim() === '') return;
    void sendMessage({ text: input });
    setInput('');
  }

  return (
    <main>
      <p>
        Status: <span data-testid="status">{shown}</span>
      </p>
      {modelStatus === 'loading' && (
        <progress
          data-testid="progress"
          value={loadProgress?.loaded ?? 0}
          max={loadProgress?.total ?? 1}
        />
      )}
      {failure && <p data-testid="error">{failure.message}</p>}
      {messages.map((m) => (
        <article key={m.id} className={m.role}>
          <strong>{m.role}</strong>
          <p data-testid="message" data-role={m.role}>
            {messageText(m)}
          </p>
        </article>
      ))}
      <form onSubmit={submit}>
        <textarea data-testid="input" value={input} onChange={(e) => setInput(e.target.value)} />
        <button type="submit" data-testid="send" disabled={modelStatus !== 'ready' || generating}>
          Send
        </button>
        <button type="button" data-testid="stop" disabled={!generating} onClick={stop}>
          Stop
        </button>
      </form>
    </main>
  );
}
