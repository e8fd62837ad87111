/** Chat mode: the conversation through the model's chat template, streamed. */

import { messageText, useLlamaChat } from '@hearth/react';
import { useState } from 'react';
import { type Sampling, toGenerateOptions } from './Sampling.js';
import { Stats, useStreamStats } from './stats.js';

export function ChatView({ sampling }: { sampling: Sampling }) {
  const [input, setInput] = useState('');
  const stats = useStreamStats();
  const chat = useLlamaChat({
    generateOptions: toGenerateOptions(sampling),
    onChunk: stats.onChunk,
  });
  const busy = chat.status === 'submitted' || chat.status === 'streaming';
  const canSend = !busy && chat.modelStatus === 'ready';

  return (
    <div className="mode">
      <ol className="messages" data-testid="messages">
        {chat.messages.map((m) => (
          <li key={m.id} className={m.role} data-role={m.role}>
            <strong>{m.role}</strong>
            <span className="text">{messageText(m)}</span>
          </li>
        ))}
      </ol>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!canSend || input.trim() === '') return;
          stats.begin();
          void chat.sendMessage({ text: input });
          setInput('');
        }}
      >
        <input
          data-testid="chat-input"
          aria-label="message"
          placeholder="Ask something…"
          value={input}
          onChange={(e) => setInput(e.currentTarget.value)}
        />
        <button type="submit" data-testid="send" disabled={!canSend}>
          Send
        </button>
        <button
          type="button"
          data-testid="stop"
          disabled={!busy}
          onClick={() => {
            stats.markStop();
            chat.stop();
          }}
        >
          Stop
        </button>
        <button
          type="button"
          data-testid="regenerate"
          disabled={!canSend || chat.messages.length === 0}
          onClick={() => {
            stats.begin();
            void chat.regenerate();
          }}
        >
          Regenerate
        </button>
        <button
          type="button"
          disabled={busy || chat.messages.length === 0}
          onClick={() => chat.setMessages([])}
        >
          Clear
        </button>
        <span data-testid="request-status" className="muted">
          {chat.status}
        </span>
      </form>
      <Stats
        stats={stats.snapshot}
        tokensAtStop={stats.tokensAtStop}
        result={chat.result}
        streaming={busy}
      />
      {chat.error && (
        <p className="error" data-testid="request-error">
          {chat.error.message}
        </p>
      )}
    </div>
  );
}
