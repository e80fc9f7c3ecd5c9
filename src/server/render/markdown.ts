import markdownit from 'markdown-it';
import type { Env, MarkdownIt, RendererRule, StateCore, Token } from 'markdown-it';
import { LinkifyIt } from 'linkify-it';
import { full as emojiPlugin } from 'markdown-it-emoji';
import { isSafeHref, isSafeSrc, LINK_REL } from './allowlist.js';
import { codeBlockHtml, escapeHtml, textHtml } from './html.js';
import { findMentions, mentionHtml, type MemberIndex, type MentionCollector, type MentionTarget } from './mentions.js';

/**
 * The two markdown-it instances, built once at module load: `plainMd` parses plain-mode text runs
 * (only code spans, auto-links, emoji and mentions), `markdownMd` parses `/md` messages. Both share
 * the link policy, the mention rule and the emoji plugin, so the two modes cannot drift apart.
 */

const CONTEXT = Symbol('carillon.render');

interface RenderContext {
  index: MemberIndex;
  mentions: MentionCollector;
}

/** A fresh environment per render: reference definitions live in it, keyed in a prototype-less object. */
export function makeEnv(index: MemberIndex, mentions: MentionCollector): Env {
  const context: RenderContext = { index, mentions };
  return { references: Object.create(null) as NonNullable<Env['references']>, [CONTEXT]: context };
}

// Bare http(s) URLs and emails only: no scheme-less "example.com", no ftp:, no protocol-relative //host.
// No user-info either: "https://example.com@evil.example/" links only https://example.com, so a link never
// leads to a host other than the one its text starts with.
const linkify = new LinkifyIt({ fuzzyLink: false, fuzzyIP: false, fuzzyEmail: true, urlAuth: false })
  .add('ftp:', null)
  .add('//', null);

function linkRanges(text: string): { index: number; lastIndex: number }[] {
  return linkify.test(text) ? (linkify.match(text) ?? []) : [];
}

/**
 * Core rule (before linkify): splits text tokens into text and `mention` tokens. Only top-level text
 * of an inline block is scanned, so code (code_inline/fence tokens), link text and image alt text
 * never mention anyone; backslash-escaped or entity-encoded `@` (text_special tokens) does not either.
 */
function mentionRule(state: StateCore): void {
  const context = state.env[CONTEXT] as RenderContext | undefined;
  if (!context) return;
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children || !block.content.includes('@')) continue;
    const out: Token[] = [];
    let linkDepth = 0;
    for (const token of block.children) {
      if (token.type === 'link_open') linkDepth++;
      else if (token.type === 'link_close') linkDepth--;
      const text = token.content;
      const found =
        token.type === 'text' && linkDepth === 0 && text.includes('@')
          ? findMentions(text, context.index, linkRanges(text))
          : [];
      if (found.length === 0) {
        out.push(token);
        continue;
      }
      let last = 0;
      const push = (type: string, content: string): Token => {
        const t = new state.Token(type, '', 0);
        t.content = content;
        t.level = token.level;
        out.push(t);
        return t;
      };
      for (const match of found) {
        if (match.start > last) push('text', text.slice(last, match.start));
        push('mention', text.slice(match.start, match.end)).meta = match.target;
        context.mentions.add(match.target);
        last = match.end;
      }
      if (last < text.length) push('text', text.slice(last));
    }
    block.children = out;
  }
}

const renderMention: RendererRule = (tokens, idx) => {
  const token = tokens[idx]!;
  return mentionHtml(token.meta as MentionTarget, token.content);
};

const renderLinkOpen: RendererRule = (tokens, idx, options, _env, self) => {
  const token = tokens[idx]!;
  if (!isSafeHref(String(token.attrGet('href') ?? ''))) {
    // Only `[x]()` gets here (markdown-it keeps such links with an empty href): show its text unlinked.
    const close = tokens.findIndex((t, i) => i > idx && t.type === 'link_close' && t.level === token.level);
    if (close !== -1) tokens[close]!.hidden = true;
    return '';
  }
  token.attrSet('target', '_blank');
  token.attrSet('rel', LINK_REL);
  return self.renderToken(tokens, idx, options);
};

/**
 * Link text of auto-links is shown as typed, except that a host with non-ASCII characters is shown in
 * its punycode form (as in the href), so "https://аpple.com" (Cyrillic а) cannot pass for apple.com.
 */
function linkText(md: MarkdownIt, url: string): string {
  const host = md.utils.lib.mdurl.parse(url, true).hostname ?? '';
  return /[^\x00-\x7f]/.test(host) ? md.normalizeLink(url) : url;
}

function withSharedPolicy(md: MarkdownIt): MarkdownIt {
  md.linkify = linkify;
  // markdown-it calls this on the normalised URL (entities decoded, percent-encoded, punycode host), so
  // "java&#x09;script:", "JAVASCRIPT:", " javascript:" and friends all arrive in a form that fails it.
  md.validateLink = isSafeHref;
  md.normalizeLinkText = (url) => linkText(md, url);
  md.core.ruler.before('linkify', 'mentions', mentionRule);
  md.use(emojiPlugin); // full gemoji set + emoticons; its core rule skips code and auto-link text
  md.renderer.rules.mention = renderMention;
  md.renderer.rules.link_open = renderLinkOpen;
  return md;
}

export const plainMd = withSharedPolicy(
  // 'zero' interprets nothing; code spans and auto-links are switched back on. No escapes, no entities:
  // plain text shows `&amp;`, `\` and `*x*` exactly as typed.
  markdownit('zero', { linkify: true, maxNesting: 20 }).enable(['backticks', 'linkify']),
);
plainMd.renderer.rules.text = (tokens, idx) => textHtml(tokens[idx]!.content);

export const markdownMd = withSharedPolicy(
  // maxNesting 20 (markdown-it's CommonMark value) bounds depth, time and output for ">>>>…", "[[[[…" and deep lists.
  markdownit('default', { html: false, linkify: true, breaks: true, typographer: false, maxNesting: 20 }),
);
const rules = markdownMd.renderer.rules;
rules.fence = (tokens, idx) => codeBlockHtml(tokens[idx]!.content, tokens[idx]!.info);
rules.code_block = (tokens, idx) => codeBlockHtml(tokens[idx]!.content);
// html: false means these are never produced; escaping them anyway keeps raw HTML out if that changes.
rules.html_block = (tokens, idx) => escapeHtml(tokens[idx]!.content);
rules.html_inline = rules.html_block;

rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  const alt = self.renderInlineAsText(token.children ?? [], options, env);
  // validateLink lets mailto: through; an image needs http(s), otherwise only its alt text is shown.
  if (!isSafeSrc(String(token.attrGet('src') ?? ''))) return escapeHtml(alt);
  token.attrSet('alt', alt);
  token.attrSet('class', 'md-img'); // the stylesheet caps the size
  token.attrSet('loading', 'lazy');
  token.attrSet('referrerpolicy', 'no-referrer');
  return self.renderToken(tokens, idx, options);
};

// GFM column alignment arrives as style="text-align:…"; no style attribute is ever emitted, so it becomes a class.
const renderCell: RendererRule = (tokens, idx, options, _env, self) => {
  const token = tokens[idx]!;
  const align = /^text-align:(left|center|right)$/.exec(String(token.attrGet('style') ?? ''))?.[1];
  token.attrs = align ? [['class', `align-${align}`]] : null;
  return self.renderToken(tokens, idx, options);
};
rules.th_open = renderCell;
rules.td_open = renderCell;
