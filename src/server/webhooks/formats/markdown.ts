/**
 * Building `/md ` messages (CommonMark + GFM, src/server/render/markdown.ts) from other senders'
 * text, safely: whatever a sender puts in a label, a title or a commit message shows as that text,
 * never as markup it did not mean, never as a mention unless the format allows it, and the whole
 * message fits the 4096-code-point limit (cut with "…" rather than refused: the senders are
 * machines that cannot shorten their own payloads).
 */
import { createHash } from 'node:crypto';
import { LIMITS } from '../../../shared/limits.js';
import { codePointLength } from '../../services/content.js';

export interface EscapeOptions {
  /**
   * Whether `@name`, `@All` and `@Present` in the text may mention people. False for text written by
   * people outside the room (GitHub titles and commit messages, Slack text without link_names): the
   * `@` is escaped, which the renderer shows as "@" and never takes for a mention.
   */
  mentions: boolean;
}

// Bare http(s) URLs are left exactly as written (escaping a character inside would cut the link
// short); their trailing punctuation is not part of them.
const URL_RE = /https?:\/\/[^\s<>"'`]+/g;

/** Splits text into URL and non-URL runs. */
function splitUrls(text: string): { url: boolean; text: string }[] {
  const out: { url: boolean; text: string }[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // Trailing punctuation ends a sentence, not the URL; a ")" closes one only when unbalanced in it.
    for (;;) {
      const c = url.at(-1)!;
      if (/[.,;:!?'"\]}*_~]/.test(c)) url = url.slice(0, -1);
      else if (c === ')' && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
      else break;
    }
    const start = m.index;
    if (start > last) out.push({ url: false, text: text.slice(last, start) });
    out.push({ url: true, text: url });
    last = start + url.length;
  }
  if (last < text.length) out.push({ url: false, text: text.slice(last) });
  return out;
}

const count = (s: string, c: string) => s.split(c).length - 1;

/** Escapes one run of text (no URL in it) for inline Markdown. */
function escapeRun(text: string, options: EscapeOptions): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const prev = text[i - 1] ?? ' ';
    const next = text[i + 1] ?? ' ';
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '[':
      case ']':
      case '<':
      case '>':
      case '~':
      case '|':
        out += `\\${c}`;
        break;
      case '_':
        // Intra-word underscores never make emphasis (CommonMark); left alone, snake_case names and
        // @first_last mentions stay whole.
        out += /[\p{L}\p{N}]/u.test(prev) && /[\p{L}\p{N}]/u.test(next) ? c : '\\_';
        break;
      case '!':
        out += next === '[' ? '\\!' : c;
        break;
      case '&':
        out += /^&(?:#\d+|#x[\da-f]+|[a-z][a-z\d]*);/i.test(text.slice(i, i + 34)) ? '\\&' : c;
        break;
      case '@':
        out += options.mentions ? c : '\\@';
        break;
      default:
        out += c;
    }
  }
  return out;
}

/** Escapes what would start a block (heading, quote, list, rule, setext underline) at the start of a line. */
function escapeLineStart(line: string): string {
  const m = /^(\d{1,9})([.)])(\s|$)/.exec(line);
  if (m) return `${m[1]}\\${m[2]}${line.slice(m[1]!.length + 1)}`;
  if (/^[#+=-]/.test(line)) return `\\${line}`;
  return line;
}

/** One line of text for inline Markdown, URLs left as written (for callers that add markup of their own around runs). */
export function escapeLine(text: string, options: EscapeOptions = { mentions: false }): string {
  return splitUrls(clean(text))
    .map((r) => (r.url ? autolink(r.text) : escapeRun(r.text, options)))
    .join('');
}

/**
 * A bare URL as a CommonMark autolink, `<url>`: its end is then explicit, so an escaped character
 * right after it (`\*`, `\]`) is never taken into it.
 */
export function autolink(url: string): string {
  return `<${url}>`;
}

export { escapeLineStart, splitUrls };

/** `text` shown as itself in a `/md` message, on one line (line breaks become spaces). */
export function inline(text: string, options: EscapeOptions = { mentions: false }): string {
  // Escaped as a line start too: wherever it lands, "# x" or "1. x" stays text.
  return escapeLineStart(escapeLine(clean(text).replace(/\s*[\r\n]+\s*/g, ' ').trim(), options));
}

/** `text` shown as itself in a `/md` message, keeping its line breaks (each a line of its own). */
export function block(text: string, options: EscapeOptions = { mentions: false }): string {
  return clean(text)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => escapeLineStart(inline(line, options)))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Bold text. */
export const bold = (text: string, options?: EscapeOptions): string => {
  const inner = inline(text, options);
  return inner === '' ? '' : `**${inner}**`;
};

/** Inline code: a backtick run longer than any inside the text, and spaces where it starts or ends with one. */
export function code(text: string): string {
  const t = clean(text).replace(/[\r\n]+/g, ' ');
  if (t === '') return '';
  const longest = Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') || (t.startsWith(' ') && t.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** A fenced code block (```` ```lang ````), with a fence longer than any in the text. */
export function codeBlock(text: string, lang = ''): string {
  const t = clean(text).replace(/\r\n?/g, '\n').replace(/\n+$/, '');
  const longest = Math.max(2, ...[...t.matchAll(/^ {0,3}(`{3,})/gm)].map((m) => m[1]!.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${t}\n${fence}`;
}

/** Whether a string is an absolute http(s) URL that can be linked. */
export function isHttpUrl(url: unknown): url is string {
  if (typeof url !== 'string' || url.length > 2048) return false;
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** A URL as a Markdown link destination: characters that would end or break it percent-encoded. */
export function destination(url: string): string {
  return url.replace(/[\s()<>\\`]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * `[label](url)` when `url` is an http(s) URL, else the label alone. The label is escaped text
 * (`labelIsMarkdown` when the caller built it already).
 */
export function link(label: string, url: unknown, options: EscapeOptions & { labelIsMarkdown?: boolean } = { mentions: false }): string {
  const text = options.labelIsMarkdown ? label : inline(label, options);
  if (!isHttpUrl(url)) return text;
  // A label that is a URL itself would be linked by linkify inside the link; show it as code-free text.
  return `[${text === '' ? inline(url) : text}](${destination(url)})`;
}

/** Text safe to store: no NUL (refused by the content rules) and no unpaired surrogate. */
export function clean(text: string): string {
  return text.replace(/\u0000/g, '\ufffd').toWellFormed();
}

/** A field value of unknown type as short text (strings as they are, numbers and booleans written out). */
export function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

export const MD_PREFIX = '/md ';

/**
 * A `/md` message that fits the content limit: `body` (already Markdown) behind the prefix, cut at
 * a line (or else a space) near the limit and ended with "…" when too long, with a code fence left
 * open by the cut closed again.
 */
export function mdMessage(body: string, max = LIMITS.contentMaxCodePoints): string {
  const full = MD_PREFIX + clean(body).trim();
  if (codePointLength(full) <= max) return full;
  const points = Array.from(full);
  // Room for "\n```" (a closing fence) and "\n…".
  let kept = points.slice(0, max - 8).join('');
  const lineCut = kept.lastIndexOf('\n');
  if (lineCut > kept.length * 0.75) kept = kept.slice(0, lineCut);
  else {
    const spaceCut = kept.lastIndexOf(' ');
    if (spaceCut > kept.length * 0.9) kept = kept.slice(0, spaceCut);
  }
  // A trailing backslash would escape the line break that follows.
  kept = kept.replace(/\\+$/, '');
  const fences = kept.match(/^ {0,3}```/gm)?.length ?? 0;
  return `${kept.trimEnd()}${fences % 2 === 1 ? '\n```' : ''}\n…`;
}

/** A key for postKeyedAsWebhook: `${prefix}/${id}`, or a SHA-256 of the id when that is too long or has control characters. */
export function messageKey(prefix: string, id: string): string {
  const key = `${prefix}/${id}`;
  if (codePointLength(key) <= LIMITS.webhookKeyMaxChars && !/\p{Cc}/u.test(key) && key.isWellFormed()) return key;
  return `${prefix}/sha256:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}
