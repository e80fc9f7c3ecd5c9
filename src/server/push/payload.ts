/**
 * What a push notification carries (PushPayload in src/shared/api-types.ts): the room, the sender
 * as the web client shows it, and a plain-text preview of the message. The preview is made from
 * the stored, rendered HTML, so it reads as the message does on screen: Markdown syntax gone, emoji
 * shortcodes as emoji, links as their text (`/md ## Deploy :rocket:` → `Deploy 🚀`).
 */
import { PUSH_PREVIEW_MAX_CHARS, type PushPayload } from '../../shared/api-types.js';
import type { PushMessage } from '../store/push-store.js';

/** The sender as every client labels it (SPEC 2.4): webhooks as "Name (Webhook)". */
export function senderLabel(sender: PushMessage['sender']): string {
  return sender.type === 'webhook' ? `${sender.name} (Webhook)` : sender.name;
}

/** The path that opens the room at this message in the web client (src/web/App.tsx routes /rooms/<id>). */
export function messagePath(roomId: string, seq: number): string {
  return `/rooms/${roomId}?seq=${seq}`;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  // One pass, so "&amp;lt;" becomes "&lt;" (what was typed), never "<".
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (all, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\uFFFD';
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? all;
  });
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** At most `max` code points; a cut text ends with "…" and never splits an emoji or other grapheme. */
export function truncate(text: string, max: number): string {
  if (text.length <= max || [...text].length <= max) return text;
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const n = [...segment].length;
    if (used + n > max - 1) break;
    out += segment;
    used += n;
  }
  return `${out.trimEnd()}…`;
}

/**
 * Plain text of rendered message HTML (render/allowlist.ts says what it can contain): images by
 * their alt text, block and line boundaries as spaces, tags dropped, entities decoded, whitespace
 * collapsed, then capped. The renderer escapes `<`, `>` and `"` everywhere, attribute values
 * included, so a tag always ends at the first `>`.
 */
export function previewText(html: string, max = PUSH_PREVIEW_MAX_CHARS): string {
  const text = html
    .replace(/<img\b[^>]*?\balt="([^"]*)"[^>]*>/gi, ' $1 ')
    .replace(/<(?:br|hr|\/?(?:p|li|ul|ol|tr|td|th|table|thead|tbody|h[1-6]|pre|blockquote))\b[^>]*>/gi, ' ')
    .replace(/<[^>]*>/g, '');
  return truncate(decodeEntities(text).replace(/\s+/g, ' ').trim(), max);
}

/** The payload of one message, the same for every recipient but for `alert`. */
export function messagePayload(message: PushMessage, roomName: string): Omit<PushPayload, 'alert'> {
  return {
    type: 'message',
    roomId: message.roomId,
    roomName,
    messageId: message.id,
    seq: message.seq,
    sender: senderLabel(message.sender),
    body: previewText(message.html),
    createdAt: message.createdAt,
    url: messagePath(message.roomId, message.seq),
  };
}
