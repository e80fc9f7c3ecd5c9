import type { Env } from 'markdown-it';
import { codeBlockHtml } from './html.js';
import { plainMd } from './markdown.js';

// A fence opens on a line of three or more backticks plus an optional info string without backticks
// (CommonMark's rule, so "```x``` inline" stays a code span) and closes on a line of at least as many
// backticks. An unclosed fence runs to the end of the message.
const FENCE_OPEN = /^ {0,3}(`{3,})([^`]*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,})[ \t]*$/;

/**
 * Plain mode: text with its line breaks; fenced blocks become `<pre><code>`; everything between them
 * goes through `plainMd`, which knows only code spans, auto-links, emoji and mentions.
 */
export function renderPlain(text: string, env: Env): string {
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
