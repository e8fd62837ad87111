'use client';

import { type FormEvent, useState } from 'react';

/** What the view shows: `status` is the demo DOM contract's. */
export type Status = 'idle' | 'loading' | 'ready' | 'generating' | 'error';

export interface Message {
  id: string;
  role: 'user' | 'assistant';
  text: string;
}

interface ViewProps {
  backend: 'browser' | 'server';
  status: Status;
  /** Load progress while loading: `value` of `max` (bytes downloaded, or 0..1 for the later stages). */
  progress: { value: number; max: number } | undefined;
  error: string | undefined;
  messages: Message[];
  onLoad: () => void;
  onSend: (text: string) => void;
  onStop: () => void;
}

export function ChatView({ backend, status, progress, error, messages, ...on }: ViewProps) {
  const [input, setInput] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (input.trim() === '') return;
    on.onSend(input);
    setInput('');
  };
  return (
    <>
      <nav>
        <a href="?backend=browser" aria-current={backend === 'browser' ? 'page' : undefined}>
          In this browser (wasm)
        </a>
        <a href="?backend=server" aria-current={backend === 'server' ? 'page' : undefined}>
          On the server (route)
        </a>
      </nav>
      <p>
        <button type="button" data-testid="load" onClick={on.onLoad} disabled={status !== 'idle'}>
          Load model
        </button>{' '}
        status: <span data-testid="status">{status}</span>{' '}
        {status === 'loading' && progress && (
          <progress data-testid="progress" value={progress.value} max={progress.max} />
        )}
      </p>
      {error !== undefined && (
        <p className="error" data-testid="error" role="alert">
          {error}
        </p>
      )}
      {messages.map((m) => (
        <div key={m.id} className="message" data-testid="message" data-role={m.role}>
          {m.text}
        </div>
      ))}
      <form onSubmit={submit}>
        <textarea
          data-testid="input"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          placeholder="Say something"
        />
        <button type="submit" data-testid="send" disabled={status !== 'ready'}>
          Send
        </button>{' '}
        <button
          type="button"
          data-testid="stop"
          onClick={on.onStop}
          disabled={status !== 'generating'}
        >
          Stop
        </button>
      </form>
    </>
  );
}
