/** Who a message alerts (SPEC 4). Pure: the caller supplies who was present when it was posted. */
import type { Mentions, MessageSender } from '../../shared/api-types.js';

export function alertsUser(
  message: { sender: MessageSender; mentions: Mentions },
  userId: string,
  presentAtPost: ReadonlySet<string>,
): boolean {
  // The author is never alerted by their own message.
  if (message.sender.type === 'user' && message.sender.id === userId) return false;
  if (message.mentions.all) return true;
  if (message.mentions.present && presentAtPost.has(userId)) return true;
  return message.mentions.userIds.includes(userId);
}
