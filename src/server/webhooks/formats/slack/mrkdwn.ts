/**
 * Slack's mrkdwn → Carillon's Markdown (the `/md` format: CommonMark + GFM).
 *
 * Slack's rules (its "Formatting text for app surfaces" reference): `*bold*`, `_italic_`,
 * `~strike~`, `` `code` ``, ```` ```block``` ````, `>` quotes (`>>>` quotes the rest); `&`, `<`
 * and `>` arrive as `&amp;`, `&lt;`, `&gt;`; `<…>` holds links (`<url>`, `<url|text>`), mentions of
 * users (`<@U123>`), channels (`<#C123|name>`), groups (`<!subteam^S1|@team>`), dates
 * (`<!date^…|fallback>`) and the broadcasts `<!channel>`, `<!everyone>` and `<!here>`.
 *
 * What it becomes: bold `**…**`, italic `_…_`, strike `~~…~~`, code and code blocks as they are,
 * quotes as `> `, links as `[text](url)`; `<!channel>`/`<!everyone>` → `@All` and `<!here>` →
 * `@Present` (the room's own broadcasts, under the 50-member rule). Slack user, group and channel
 * ids mean nothing here: they stay text (`@U123`, `@team`, `#general`) that mentions nobody.
 * A bare `@name` mentions that room member only with Slack's `link_names`; otherwise it is text,
 * as in Slack. Everything else is escaped so it shows as sent (`# x` is not a heading here either).
 */
import { autolink, code, codeBlock, escapeLine, escapeLineStart, inline, isHttpUrl, link, splitUrls } from '../markdown.js';

export interface MrkdwnOptions {
  /** Slack's link_names: a bare `@name` may mention a room member. */
  linkNames: boolean;
}

/** Slack escapes exactly these three. */
export function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt);/g, (_m, e: string) => (e === 'amp' ? '&' : e === 'lt' ? '<' : '>'));
}

/** One `<…>` control sequence (its inside, entities still encoded). */
function control(inner: string, options: MrkdwnOptions): string {
  const bar = inner.indexOf('|');
  const target = decodeEntities(bar === -1 ? inner : inner.slice(0, bar));
  const label = bar === -1 ? undefined : decodeEntities(inner.slice(bar + 1));
  const text = (s: string) => inline(s, { mentions: false });
  if (target.startsWith('!')) {
    const command = target.slice(1);
    if (command === 'channel' || command === 'everyone') return '@All';
    if (command === 'here') return '@Present';
    if (command.startsWith('subteam^')) return text(label ?? '@group');
    if (command.startsWith('date^')) return text(label ?? command.split('^')[1] ?? '');
    return text(label ?? command);
  }
  if (target.startsWith('@')) return text(`@${(label ?? target.slice(1)).replace(/^@/, '')}`);
  if (target.startsWith('#')) return text(`#${(label ?? target.slice(1)).replace(/^#/, '')}`);
  if (target.startsWith('mailto:')) {
    const address = target.slice('mailto:'.length);
    return label && label !== address ? `${text(label)} (${text(address)})` : text(address);
  }
  if (isHttpUrl(target)) return label === undefined || label === target ? autolink(target) : link(label, target);
  return text(label ?? target);
}

// Emphasis: a marker after a non-word character (or the start), text that neither starts nor ends with
// a space, the same marker before a non-word character (or the end). Not across lines.
const EMPHASIS = /(^|[^\p{L}\p{N}\\])([*_~])(?=\S)((?:(?!\2).)*?[^\s\\])\2(?=$|[^\p{L}\p{N}])/u;
const MARKDOWN = { '*': '**', _: '_', '~': '~~' } as const;

/** A run of plain mrkdwn text (no code, no `<…>`): emphasis converted, the rest escaped. */
function emphasis(s: string, options: MrkdwnOptions): string {
  const m = EMPHASIS.exec(s);
  if (!m) return escapeLine(s, { mentions: options.linkNames });
  const start = m.index + m[1]!.length;
  const marker = MARKDOWN[m[2] as keyof typeof MARKDOWN];
  const inner = emphasis(m[3]!, options);
  return `${escapeLine(s.slice(0, start), { mentions: options.linkNames })}${marker}${inner}${marker}${emphasis(s.slice(start + m[0].length - m[1]!.length), options)}`;
}

/** Plain text of one line, its URLs kept whole. */
function textRun(s: string, options: MrkdwnOptions): string {
  return splitUrls(decodeEntities(s))
    .map((r) => (r.url ? autolink(r.text) : emphasis(r.text, options)))
    .join('');
}

/** One line of mrkdwn without code blocks: inline code, controls and text. */
function line(s: string, options: MrkdwnOptions): string {
  let out = '';
  let last = 0;
  // Inline code first (nothing inside it is markup), then <…> controls.
  const re = /`([^`\n]+)`|<([^<>\n]+)>/g;
  for (const m of s.matchAll(re)) {
    out += textRun(s.slice(last, m.index), options);
    if (m[1] !== undefined) out += code(decodeEntities(m[1]));
    else {
      const converted = control(m[2]!, options);
      // A broadcast glued to a word would not be a mention: keep it a word of its own.
      const glued = /^@(All|Present)$/.test(converted) && /[\p{L}\p{N}]$/u.test(out);
      out += glued ? ` ${converted}` : converted;
    }
    last = m.index + m[0].length;
  }
  return out + textRun(s.slice(last), options);
}

/** A whole mrkdwn text → Markdown. */
export function mrkdwnToMarkdown(text: string, options: MrkdwnOptions): string {
  const out: string[] = [];
  // Code blocks may start and end mid-line in Slack; in Markdown they are fenced lines of their own.
  const parts = text.replace(/\r\n?/g, '\n').split(/```/);
  let quoteRest = false;
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      out.push('', codeBlock(decodeEntities(part.replace(/^\n/, ''))), '');
      return;
    }
    // An unclosed ``` is text, as in Slack.
    const textPart = i % 2 === 1 ? `\`\`\`${part}` : part;
    const lines = textPart.split('\n');
    lines.forEach((raw, j) => {
      // The text around a code block continues the line it was on.
      if (raw === '' && (j === 0 || j === lines.length - 1) && lines.length > 1 && parts.length > 1) return;
      let l = raw;
      let quoted = quoteRest;
      const quote = /^(?:&gt;|>)(&gt;&gt;|>>)?\s?/.exec(l);
      if (quote) {
        quoted = true;
        if (quote[1]) quoteRest = true;
        l = l.slice(quote[0].length);
      }
      const md = escapeLineStart(line(l, options));
      const prev = out.at(-1);
      const prevQuoted = prev !== undefined && prev.startsWith('> ');
      // A line after a quote would continue it (lazy continuation): a blank line ends the quote.
      if (!quoted && prevQuoted) out.push('');
      out.push(quoted ? `> ${md}` : md);
    });
  });
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Plain text (Slack's plain_text, or mrkdwn: false): shown as sent, emoji codes still become emoji. */
export function plainToMarkdown(text: string): string {
  return decodeEntities(text)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => escapeLineStart(escapeLine(l, { mentions: false })))
    .join('\n')
    .trim();
}
