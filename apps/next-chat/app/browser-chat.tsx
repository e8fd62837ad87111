'use client';

import { HearthProvider, messageText, useLlamaChat } from '@hearth/react';
import { useState } from 'react';
import { ChatView, type Status } from './chat-view';

/** The model in this page: @hearth/runner's wasm engine in a Web Worker, through @hearth/react. */
export default function BrowserChat({ model, maxTokens }: { model: string; maxTokens: number }) {
  const [source, setSource] = useState<string>();
  return (
    <HearthProvider model={source}>
      <BrowserChatView maxTokens={maxTokens} onLoad={() => setSource(model)} />
    </HearthProvider>
  );
}

function BrowserChatView({ maxTokens, onLoad }: { maxTokens: number; onLoad: () => void }) {
  const chat = useLlamaChat({ generateOptions: { maxTokens, temperature: 0.7 } });
  const failed = chat.modelError ?? chat.error;
  // `error` is the model's; a failed answer shows its error and leaves the chat `ready`.
  const status: Status =
    chat.modelStatus !== 'ready'
      ? chat.modelStatus
      : chat.status === 'submitted' || chat.status === 'streaming'
        ? 'generating'
        : 'ready';
  const p = chat.loadProgress;
  return (
    <ChatView
      backend="browser"
      status={status}
      progress={p && { value: p.loaded, max: p.total ?? 0 }}
      error={failed?.message}
      messages={chat.messages.map((m) => ({
        id: m.id,
        role: m.role === 'user' ? 'user' : 'assistant',
        text: messageText(m),
      }))}
      onLoad={onLoad}
      onSend={(text) => void chat.sendMessage({ text })}
      onStop={chat.stop}
    />
  );
}
