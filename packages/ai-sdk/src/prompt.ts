/**
 * The AI SDK's standardized prompt (`LanguageModelV4Prompt`) as the runner's
 * `{ role, content }` chat messages, rendered later by the model's chat template.
 */

import {
  type LanguageModelV4Prompt,
  type SharedV4Warning,
  UnsupportedFunctionalityError,
} from '@ai-sdk/provider';
import type { ChatMessage } from '@hearth/runner';

/**
 * Converts `prompt` to chat messages. Text is kept; reasoning parts of earlier
 * answers are dropped (reported in `warnings`); files, tool calls and tool
 * results cannot be expressed to a text-only chat template and throw.
 *
 * @throws {UnsupportedFunctionalityError} for file, tool-call and tool-result content.
 */
export function toChatMessages(
  prompt: LanguageModelV4Prompt,
  warnings: SharedV4Warning[],
): ChatMessage[] {
  let droppedReasoning = false;
  const messages = prompt.map((message): ChatMessage => {
    switch (message.role) {
      case 'system':
        return { role: 'system', content: message.content };
      case 'user':
      case 'assistant': {
        let content = '';
        for (const part of message.content) {
          if (part.type === 'text') content += part.text;
          else if (part.type === 'reasoning' || part.type === 'reasoning-file') {
            droppedReasoning = true;
          } else {
            throw new UnsupportedFunctionalityError({
              functionality: `${part.type} content in ${message.role} messages`,
              message: `Hearth chat models take text only; a ${message.role} message has a ${part.type} part`,
            });
          }
        }
        return { role: message.role, content };
      }
      default:
        throw new UnsupportedFunctionalityError({
          functionality: 'tool messages',
          message: 'Hearth chat models do not call tools; the prompt has a tool message',
        });
    }
  });
  if (droppedReasoning) {
    warnings.push({
      type: 'other',
      message: 'reasoning parts of earlier assistant messages are not sent to the model',
    });
  }
  return messages;
}
