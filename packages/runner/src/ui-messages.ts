/**
 * Chat messages in the Vercel AI SDK 5 `UIMessage` shape (`parts`, not
 * `content`), and their conversion to the runner's `{ role, content }`: shared by the
 * framework bindings (@hearth/react, @hearth/vue, @hearth/svelte).
 */

import type { ChatMessage } from './runner.js';

/** A text part; `state` is `'streaming'` while the model is still writing it. */
export interface TextUIPart {
  type: 'text';
  text: string;
  state?: 'streaming' | 'done';
}

/** A message of a chat (AI SDK 5 `UIMessage`, text parts only). */
export interface UIMessage {
  id: string;
  role: 'system' | 'user' | 'assistant';
  parts: TextUIPart[];
}

/** What `sendMessage` accepts: `{ text }` (as in the AI SDK), a plain string, or a message without `id`. */
export type SendMessageInput =
  | string
  | { text: string }
  | { role?: UIMessage['role']; parts: TextUIPart[]; id?: string };

let counter = 0;

/** A message id unique within the page: a random prefix and a counter. */
export function newMessageId(): string {
  counter += 1;
  return `msg-${Math.random().toString(36).slice(2, 8)}-${counter}`;
}

/** The text of a message: its text parts joined. */
export function messageText(message: UIMessage): string {
  return message.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

/** The user message `input` describes. */
export function toUserMessage(input: SendMessageInput): UIMessage {
  if (typeof input === 'string') {
    return { id: newMessageId(), role: 'user', parts: [{ type: 'text', text: input }] };
  }
  if ('text' in input) {
    return { id: newMessageId(), role: 'user', parts: [{ type: 'text', text: input.text }] };
  }
  return { id: input.id ?? newMessageId(), role: input.role ?? 'user', parts: input.parts };
}

/** The runner's messages for a conversation. */
export function toChatMessages(messages: readonly UIMessage[]): ChatMessage[] {
  return messages.map((m) => ({ role: m.role, content: messageText(m) }));
}
