'use client';

import { streamChat } from '@hearth/next/client';
import { useRef, useState } from 'react';
import { ChatView, type Message, type Status } from './chat-view';

/** The model on the server: the OpenAI-compatible route (app/api/v1/[...openai]/route.ts), streamed over SSE. */
export function ServerChat({ maxTokens }: { maxTokens: number }) {
  const [status, setStatus] = useState<Status>('idle');
  const [error, setError] = useState<string>();
  const [messages, setMessages] = useState<Message[]>([]);
  const running = useRef<AbortController | undefined>(undefined);

  const load = async () => {
    setStatus('loading');
    // Listing the models loads the route's model (once per server process).
    const response = await fetch('/api/v1/models').catch((e: Error) => e);
    if (response instanceof Response && response.ok) {
      setStatus('ready');
      return;
    }
    const body =
      response instanceof Response ? await response.json().catch(() => undefined) : undefined;
    setError(body?.error?.message ?? String(response));
    setStatus('error');
  };

  const send = async (text: string) => {
    const history: Message[] = [...messages, { id: crypto.randomUUID(), role: 'user', text }];
    const answer: Message = { id: crypto.randomUUID(), role: 'assistant', text: '' };
    setMessages([...history, answer]);
    setError(undefined);
    setStatus('generating');
    const controller = new AbortController();
    running.current = controller;
    const wire = history.map(({ role, text: content }) => ({ role, content }));
    try {
      for await (const delta of streamChat('/api/v1/chat/completions', wire, {
        signal: controller.signal,
        body: { max_tokens: maxTokens },
      })) {
        answer.text += delta;
        setMessages([...history, { ...answer }]);
      }
      setStatus('ready');
    } catch (e) {
      // Stopped, or failed (the error shows; the model is still there for the next message).
      if (!controller.signal.aborted) setError((e as Error).message);
      setStatus('ready');
    } finally {
      running.current = undefined;
    }
  };

  return (
    <ChatView
      backend="server"
      status={status}
      // The server reports no load progress: the route loads its model on the first request.
      progress={undefined}
      error={error}
      messages={messages}
      onLoad={() => void load()}
      onSend={(text) => void send(text)}
      onStop={() => running.current?.abort()}
    />
  );
}
