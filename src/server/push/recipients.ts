/**
 * Who gets a push for a message (issue 13): a member the message alerts (SPEC 4, alertsUser) who
 * does not have the room open anywhere, and a member whose setting for the room is 'all' (every
 * message) who does not have it open either; never the author, never with 'none' or muted. Pure:
 * the dispatcher supplies the subscriptions with their owners' settings and who is present.
 *
 * Presence suppresses 'all' pushes as well as alerts: a member with the room open reads the message
 * live (and the web client notifies in the page), so a push to their other devices would repeat it.
 */
import { alertsUser } from '../services/alerts.js';
import type { PushMessage, SubscribedMember } from '../store/push-store.js';

export interface PlannedPush {
  subscriptionId: string;
  userId: string;
  /** The message alerts this user (high urgency); false: sent for the 'all' setting. */
  alert: boolean;
}

export function planPushes(
  message: Pick<PushMessage, 'sender' | 'mentions' | 'presentAtPost' | 'update'>,
  subscribed: readonly SubscribedMember[],
  presentNow: ReadonlySet<string>,
): PlannedPush[] {
  const presentAtPost = new Set(message.presentAtPost ?? []);
  const before = message.update?.alertedBefore;
  const presentBefore = new Set(before?.presentAtPost ?? []);
  const out: PlannedPush[] = [];
  for (const s of subscribed) {
    if (message.sender.type === 'user' && message.sender.id === s.userId) continue;
    if (s.muted || s.notify === 'none') continue;
    if (presentNow.has(s.userId)) continue;
    const alert = alertsUser(message, s.userId, presentAtPost);
    if (before) {
      // An update (issue 14) pushes only a new alert: to whom the added mentions alert and the version before did not.
      if (alert && !alertsUser({ sender: message.sender, mentions: before.mentions }, s.userId, presentBefore)) out.push({ subscriptionId: s.subscriptionId, userId: s.userId, alert });
      continue;
    }
    if (alert || s.notify === 'all') out.push({ subscriptionId: s.subscriptionId, userId: s.userId, alert });
  }
  return out;
}
