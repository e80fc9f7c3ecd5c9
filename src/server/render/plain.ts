import type { Env } from 'markdown-it';
import { codeBlockHtml, textHtml } from './html.js';
import { plainMd } from './markdown.js';

// A fence opens on a line of three or more backticks plus an optional info string without backticks
// (CommonMark's rule, so "```x``` inline" stays a code span) and closes on a line of at least as many
// backticks. An unclosed fence runs to the end of the message.
const FENCE_OPEN = /^ {0,3}(`{3,})([^`]*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,})[ \t]*$/;

/**
 * What a plain-mode feature needs: code spans and fences a "`"; links a scheme's ":" followed by
 * more ("https://", "mailto:x") or an email's "@"; mentions an "@"; emoji shortcodes ":name:" a ":"
 * followed by a letter; emoticons (every one of markdown-it-emoji's) a ";" or "<", a ":" followed by
 * something other than a space, or "-)". Plain text with none of these ("Disk full: 98% on db-01",
 * "CPU > 90%, build #1234") is its escaped text with line breaks, which is what markdown-it makes of
 * it; most alert posts are such text, and skipping markdown-it for them saves about a tenth of a
 * webhook post's event-loop time (issue 16). render.test.ts checks that both give the same HTML on
 * every such input it tries, and that every emoticon of the installed plugin matches this.
 */
export const PLAIN_FEATURE_START = /[`;<@]|:\S|-\)/;

/**
 * Plain mode: text with its line breaks; fenced blocks become `<pre><code>`; everything between them
 * goes through `plainMd`, which knows only code spans, auto-links, emoji and mentions.
 */
export function renderPlain(text: string, env: Env): string {
  return PLAIN_FEATURE_START.test(text) ? renderPlainMarkup(text, env) : textHtml(text);
}

/** renderPlain without the shortcut for text that has no feature (exported for the test that they agree). */
export function renderPlainMarkup(text: string, env: Env): string {
  const lines = text.split('\n');
  let html = '';
  let run: string[] = [];
  const flush = (): void => {
    if (run.length > 0) html += plainMd.renderer.render(plainMd.parseInline(run.join('\n'), env), plainMd.options, env);
    run = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const open = FENCE_OPEN.exec(line);
    if (!open) {
      run.push(line);
      continue;
    }
    flush();
    const ticks = open[1]?.length ?? 3;
    let end = i + 1;
    while (end < lines.length && (FENCE_CLOSE.exec(lines[end] ?? '')?.[1]?.length ?? 0) < ticks) end++;
    html += codeBlockHtml(lines.slice(i + 1, end).join('\n'), open[2]);
    i = end; // the closing line (or past the end) is consumed
  }
  flush();
  return html;
}
