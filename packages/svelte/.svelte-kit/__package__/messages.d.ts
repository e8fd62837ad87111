/**
 * Chat messages in the Vercel AI SDK 5 `UIMessage` shape (`parts`, not
 * `content`), and their conversion to the runner's `{ role, content }`.
 */
import type { ChatMessage } from '@hearth/runner';
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
  | {
      text: string;
    }
  | {
      role?: UIMessage['role'];
      parts: TextUIPart[];
      id?: string;
    };
/** A message id unique within the page: a random prefix and a counter. */
export declare function newMessageId(): string;
/** The text of a message: its text parts joined. */
export declare function messageText(message: UIMessage): string;
/** The user message `input` describes. */
export declare function toUserMessage(input: SendMessageInput): UIMessage;
/** The runner's messages for a conversation. */
export declare function toChatMessages(messages: readonly UIMessage[]): ChatMessage[];
//# sourceMappingURL=messages.d.ts.map
