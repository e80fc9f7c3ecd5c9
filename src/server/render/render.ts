import { findUnsafeHtml } from './allowlist.js';
import { codeBlockHtml, neutralizeInvisibles, textHtml } from './html.js';
import { makeEnv, markdownMd } from './markdown.js';
import { indexMembers, MentionCollector, type Mentions, type RenderMember } from './mentions.js';
import { renderPlain } from './plain.js';

export interface Rendered {
  html: string;
  mentions: Mentions;
}

export type MessageFormat = 'plain' | 'markdown' | 'code';

// Chime's prefixes: lower-case, at the very start, followed by a space or a newline (CRLF senders included).
const PREFIX = /^\/(md|code)(?: |\r?\n)/;

function splitPrefix(content: string): { format: MessageFormat; body: string } {
  const m = PREFIX.exec(content);
  const body = m ? content.slice(m[0].length) : content;
  // A prefix with nothing after it would render an empty bubble; the message is shown as typed instead.
  if (!m || body.trim() === '') return { format: 'plain', body: content };
  return { format: m[1] === 'md' ? 'markdown' : 'code', body };
}

export function messageFormat(content: string): MessageFormat {
  return splitPrefix(content).format;
}

/** The normalisation markdown-it applies to its input, done here so /code, plain fences and the fallback get it too. */
function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\0/g, '\uFFFD');
}

/** Output never exceeds this; pathological input (giant autocompleted tables, floods of mentions) is degraded instead. */
export function maxHtmlLength(content: string): number {
  return 20 * content.length + 512;
}

/**
 * Renders a stored message (prefix included) for the room's current members. Pure and deterministic:
 * the same content and members always give byte-identical HTML.
 */
export function renderMessage(content: string, members: readonly RenderMember[]): Rendered {
  const { format, body } = splitPrefix(content);
  const text = normalize(body);
  const collector = new MentionCollector();
  const env = makeEnv(indexMembers(members), collector);
  let raw =
    format === 'code' ? codeBlockHtml(text) : format === 'markdown' ? markdownMd.render(text, env) : renderPlain(text, env);
  // Markdown made of nothing but reference definitions renders to nothing; show the text rather than an empty bubble.
  if (raw.trim() === '') raw = textHtml(text);
  let html = neutralizeInvisibles(raw);
  // Defence in depth: whatever the pipeline produced must fit the size bound and the allow-list,
  // otherwise the message falls back to escaped text with line breaks (which always passes both).
  if (html.length > maxHtmlLength(content) || findUnsafeHtml(html) !== undefined) {
    html = neutralizeInvisibles(textHtml(normalize(content)));
  }
  return { html, mentions: collector.result() };
}

/**
 * V8 compiles regular expressions on first use; the gemoji matcher (≈1,900 alternatives) and
 * linkify's patterns cost tens of milliseconds then. The server calls this right after it starts
 * listening (main.ts), so neither its start-up (issue 7, cold start) nor its first post pays for it.
 */
export function warmUpRenderer(): void {
  renderMessage('/md warm-up :) :tada: https://example.com a@example.com @all `x`', []);
  renderMessage('warm-up :) :tada: https://example.com a@example.com @all `x`', []);
}
