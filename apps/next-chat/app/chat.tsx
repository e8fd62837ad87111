'use client';

import dynamic from 'next/dynamic';
import { ServerChat } from './server-chat';

// The in-browser engine (Web Worker, wasm) exists only in the browser: no server rendering.
const BrowserChat = dynamic(() => import('./browser-chat'), { ssr: false });

/** The chat demo: the model runs in this browser (default) or on the server (`?backend=server`). */
export function Chat({
  backend,
  model,
  maxTokens,
}: {
  backend: 'browser' | 'server';
  model: string;
  maxTokens: number;
}) {
  return backend === 'server' ? (
    <ServerChat maxTokens={maxTokens} />
  ) : (
    <BrowserChat model={model} maxTokens={maxTokens} />
  );
}
