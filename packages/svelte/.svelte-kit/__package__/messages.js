/**
 * Chat messages in the Vercel AI SDK 5 `UIMessage` shape (`parts`, not
 * `content`), and their conversion to the runner's `{ role, content }`.
 */
let counter = 0;
/** A message id unique within the page: a random prefix and a counter. */
export function newMessageId() {
  counter += 1;
  return `msg-${Math.random().toString(36).slice(2, 8)}-${counter}`;
}
/** The text of a message: its text parts joined. */
export function messageText(message) {
  return message.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
}
/** The user message `input` describes. */
export function toUserMessage(input) {
  if (typeof input === 'string') {
    return { id: newMessageId(), role: 'user', parts: [{ type: 'text', text: input }] };
  }
  if ('text' in input) {
    return { id: newMessageId(), role: 'user', parts: [{ type: 'text', text: input.text }] };
  }
  return { id: input.id ?? newMessageId(), role: input.role ?? 'user', parts: input.parts };
}
/** The runner's messages for a conversation. */
export function toChatMessages(messages) {
  return messages.map((m) => ({ role: m.role, content: messageText(m) }));
}
