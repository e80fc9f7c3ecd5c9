/** Small presentation helpers, free of the DOM so they can be unit-tested. */
import type { Message } from '../../shared/api-types';

/** How a sender is named in the message list and notifications (SPEC 2.4: `Name (Webhook)`). */
export function senderLabel(sender: Message['sender']): string {
  return sender.type === 'webhook' ? `${sender.name} (Webhook)` : sender.name;
}

export function timeOfDay(ms: number, locale?: string): string {
  return new Date(ms).toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit' });
}

export function fullDate(ms: number, locale?: string): string {
  return new Date(ms).toLocaleString(locale, { dateStyle: 'full', timeStyle: 'short' });
}

function startOfDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** "Today", "Yesterday" or a date, for the separators between days. */
export function dayLabel(ms: number, now: number, locale?: string): string {
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / 86_400_000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return new Date(ms).toLocaleDateString(locale, { weekday: 'long', month: 'long', day: 'numeric', ...(sameYear ? {} : { year: 'numeric' }) });
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

/** Consecutive messages by the same sender within five minutes share one header. */
export function continuesGroup(prev: Message | undefined, m: Message): boolean {
  return (
    prev !== undefined &&
    prev.sender.type === m.sender.type &&
    prev.sender.id === m.sender.id &&
    prev.sender.name === m.sender.name &&
    m.createdAt - prev.createdAt < 5 * 60_000 &&
    sameDay(prev.createdAt, m.createdAt)
  );
}

/** Plain text for a desktop notification: never HTML (notifications are another XSS surface). */
export function previewText(content: string, max = 140): string {
  const text = content.replace(/^\/(?:md|code)(?=[ \n])/, '').replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Whether a message fetched over HTTP (which carries no `alert`) alerts this user. The stream's own
 * `alert` flag wins when present; @Present cannot be judged afterwards, so it is left out here.
 */
export function alertsMe(m: Message, myUserId: string): boolean {
  if (m.alert !== undefined) return m.alert;
  if (m.sender.type === 'user' && m.sender.id === myUserId) return false;
  return m.mentions.all || m.mentions.userIds.includes(myUserId);
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words[words.length - 1]!].map((w) => [...w][0]) : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

/** A stable palette slot per id, for avatar colours (classes, not inline styles: the CSP has no 'unsafe-inline'). */
export function paletteIndex(id: string, size = 8): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % size;
}

/** Badge text; the server stops counting at 1000 (LIMITS.unreadCountCap), shown as "999+". */
export function badgeCount(n: number): string {
  return n > 999 ? '999+' : String(n);
}
