/**
 * Slack incoming-webhook payloads → one `/md` message (issue 15, docs/formats.md#slack).
 *
 * The payload (Slack's "Sending messages using incoming webhooks" and its message reference):
 * `text` (mrkdwn unless `"mrkdwn": false`), `blocks` (then `text` is only the notification
 * fallback, as in Slack), legacy `attachments` (color, pretext, author, title, text, fields, image,
 * footer, ts; at most 100, Slack's own limit), `link_names`. `channel`, `username`, `icon_emoji`
 * and `icon_url` are ignored: the room and the name are the webhook's.
 */
import { AppError } from '../../../errors.js';
import { type EscapeOptions, bold, codeBlock, destination, escapeLine, inline, isHttpUrl, link, mdMessage, str } from '../markdown.js';
import { type Outcome, arr, obj } from '../types.js';
import { mrkdwnToMarkdown, plainToMarkdown } from './mrkdwn.js';

/** Slack's own limit on attachments per message. */
export const MAX_ATTACHMENTS = 100;

/** An InvalidPayload whose Slack answer is `error` (e.g. `no_text`), not `invalid_payload`. */
export function slackError(error: string, message: string): AppError {
  return Object.assign(new AppError('InvalidPayload', message), { slackError: error });
}

interface Ctx {
  linkNames: boolean;
}

const truthy = (v: unknown) => v === true || v === 1 || v === '1' || v === 'true';
const NO_MENTIONS: EscapeOptions = { mentions: false };

/** A Slack text object ({type: mrkdwn|plain_text, text}) or a bare string (attachments' fields). */
function textObject(t: unknown, ctx: Ctx, mrkdwn = true): string {
  const o = obj(t);
  const text = o ? str(o.text) : str(t);
  if (text === '') return '';
  const plain = o ? o.type === 'plain_text' : !mrkdwn;
  return plain ? plainToMarkdown(text) : mrkdwnToMarkdown(text, { linkNames: ctx.linkNames });
}

/** Buttons with a URL (blocks' actions and accessories, legacy attachment actions) → links. */
function buttons(elements: unknown[]): string {
  return elements
    .map(obj)
    .filter((e): e is Record<string, unknown> => e !== undefined && isHttpUrl(e.url))
    .map((e) => link(str(obj(e.text)?.text ?? e.text) || str(e.url), e.url))
    .join(' · ');
}

// ---- Block Kit ----

function richInline(e: Record<string, unknown>, ctx: Ctx): string {
  switch (e.type) {
    case 'text': {
      const style = obj(e.style) ?? {};
      const text = str(e.text);
      if (style.code) return text.trim() === '' ? text : `\`${text.replace(/`/g, 'ˋ')}\``;
      // Surrounding spaces stay outside the markers (CommonMark needs the markers next to text).
      const [, lead = '', core = '', trail = ''] = /^(\s*)([\s\S]*?)(\s*)$/.exec(text) ?? [];
      if (core === '') return text.replace(/\n/g, '\n');
      let md = core
        .split('\n')
        .map((l) => escapeLine(l, { mentions: ctx.linkNames }))
        .join('\n');
      if (style.bold) md = `**${md}**`;
      if (style.italic) md = `_${md}_`;
      if (style.strike) md = `~~${md}~~`;
      return lead + md + trail;
    }
    case 'link':
      return link(str(e.text) || str(e.url), e.url);
    case 'emoji':
      return /^[a-z0-9_+-]+$/.test(str(e.name)) ? `:${str(e.name)}:` : '';
    case 'user':
      return inline(`@${str(e.user_id)}`, NO_MENTIONS);
    case 'usergroup':
      return inline(`@${str(e.usergroup_id)}`, NO_MENTIONS);
    case 'channel':
      return inline(`#${str(e.channel_id)}`, NO_MENTIONS);
    case 'broadcast':
      return e.range === 'here' ? ' @Present ' : ' @All ';
    case 'date':
      return inline(str(e.fallback) || new Date(Number(e.timestamp) * 1000).toISOString(), NO_MENTIONS);
    default:
      return inline(str(e.text), NO_MENTIONS);
  }
}

function richSection(s: Record<string, unknown>, ctx: Ctx): string {
  return arr(s.elements)
    .map(obj)
    .filter((e): e is Record<string, unknown> => e !== undefined)
    .map((e) => richInline(e, ctx))
    .join('');
}

function richText(b: Record<string, unknown>, ctx: Ctx): string {
  const parts: string[] = [];
  for (const el of arr(b.elements).map(obj)) {
    if (!el) continue;
    switch (el.type) {
      case 'rich_text_section':
        parts.push(richSection(el, ctx).trim());
        break;
      case 'rich_text_list': {
        const indent = '  '.repeat(Math.min(Number(el.indent) || 0, 4));
        const ordered = el.style === 'ordered';
        parts.push(
          arr(el.elements)
            .map(obj)
            .filter((i): i is Record<string, unknown> => i !== undefined)
            .map((item, n) => `${indent}${ordered ? `${n + 1}.` : '-'} ${richSection(item, ctx).trim().replace(/\n/g, ' ')}`)
            .join('\n'),
        );
        break;
      }
      case 'rich_text_preformatted':
        parts.push(
          codeBlock(
            arr(el.elements)
              .map(obj)
              .map((e) => (e?.type === 'link' ? str(e.text) || str(e.url) : str(e?.text)))
              .join(''),
          ),
        );
        break;
      case 'rich_text_quote':
        parts.push(
          richSection(el, ctx)
            .trim()
            .split('\n')
            .map((l) => `> ${l}`)
            .join('\n'),
        );
        break;
    }
  }
  return parts.filter((p) => p !== '').join('\n\n');
}

function renderBlock(b: Record<string, unknown>, ctx: Ctx): string {
  switch (b.type) {
    case 'header':
      return str(obj(b.text)?.text).trim() === '' ? '' : `### ${inline(str(obj(b.text)?.text), NO_MENTIONS)}`;
    case 'section': {
      const lines: string[] = [];
      const text = textObject(b.text, ctx);
      if (text) lines.push(text);
      const fields = arr(b.fields).map((f) => textObject(f, ctx)).filter((f) => f !== '');
      if (fields.length > 0) lines.push(fields.join('\n'));
      const accessory = obj(b.accessory);
      if (accessory?.type === 'button') {
        const l = buttons([accessory]);
        if (l) lines.push(l);
      }
      return lines.join('\n\n');
    }
    case 'divider':
      return '---';
    case 'context':
      return arr(b.elements)
        .map((e) => (obj(e)?.type === 'image' ? '' : textObject(e, ctx)))
        .filter((t) => t !== '')
        .join(' · ');
    case 'image': {
      const title = textObject(b.title, ctx);
      const image = isHttpUrl(b.image_url) ? `![${inline(str(b.alt_text), NO_MENTIONS)}](${destination(b.image_url)})` : '';
      return [title, image].filter((t) => t !== '').join('\n');
    }
    case 'actions':
      return buttons(arr(b.elements));
    case 'rich_text':
      return richText(b, ctx);
    case 'video':
      return link(str(obj(b.title)?.text) || 'Video', b.title_url ?? b.video_url);
    default:
      // input, file, call and others: nothing to show, except a text they may carry.
      return textObject(b.text, ctx);
  }
}

export function renderBlocks(blocks: unknown[], ctx: Ctx): string {
  return blocks
    .map(obj)
    .filter((b): b is Record<string, unknown> => b !== undefined)
    .map((b) => renderBlock(b, ctx))
    .filter((t) => t.trim() !== '')
    .join('\n\n');
}

// ---- Legacy attachments ----

/** A colour → a coloured circle, which is how a chat without side bars shows an attachment's colour. */
export function colorDot(color: unknown): string {
  const c = str(color).trim().toLowerCase();
  if (c === '') return '';
  if (c === 'good') return '🟢';
  if (c === 'warning') return '🟡';
  if (c === 'danger') return '🔴';
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/.exec(c);
  if (!m) return '';
  const hex = m[1]!.length === 3 ? [...m[1]!].map((d) => d + d).join('') : m[1]!;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  const d = max - min;
  const s = d === 0 ? 0 : d / (1 - Math.abs(2 * l - 1));
  if (s < 0.2 || d < 0.08) return l > 0.6 ? '⚪' : '⚫';
  let h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  h = (h * 60 + 360) % 360;
  if (h < 15 || h >= 340) return '🔴';
  if (h < 45) return '🟠';
  if (h < 70) return '🟡';
  if (h < 170) return '🟢';
  if (h < 260) return '🔵';
  return '🟣';
}

function formatTs(ts: unknown): string {
  const n = Number(ts);
  if (!Number.isFinite(n) || n <= 0) return '';
  const d = new Date(n * 1000);
  return Number.isNaN(d.getTime()) ? '' : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function renderAttachment(a: Record<string, unknown>, ctx: Ctx): string {
  // mrkdwn_in names the fields Slack formats; when absent, Slack formats them all.
  const mrkdwnIn = Array.isArray(a.mrkdwn_in) ? new Set(a.mrkdwn_in.map(str)) : undefined;
  const fmt = (field: string, value: unknown) => textObject(str(value), ctx, mrkdwnIn === undefined || mrkdwnIn.has(field));
  const out: string[] = [];
  const pretext = fmt('pretext', a.pretext);
  const body: string[] = [];
  const author = str(a.author_name);
  if (author) body.push(link(author, a.author_link));
  const title = str(a.title);
  if (title) body.push(isHttpUrl(a.title_link) ? `**${link(title, a.title_link)}**` : bold(title));
  const text = fmt('text', a.text);
  if (text) body.push(text);
  const fields = arr(a.fields)
    .map(obj)
    .filter((f): f is Record<string, unknown> => f !== undefined)
    .map((f) => {
      const t = str(f.title);
      const v = fmt('fields', f.value);
      return t && v ? `${bold(t)}: ${v}` : t ? bold(t) : v;
    })
    .filter((f) => f !== '');
  if (fields.length > 0) body.push(fields.join('\n'));
  if (Array.isArray(a.blocks)) {
    const blocks = renderBlocks(a.blocks, ctx);
    if (blocks) body.push(blocks);
  }
  if (isHttpUrl(a.image_url)) body.push(`![](${destination(a.image_url)})`);
  const actions = buttons(arr(a.actions));
  if (actions) body.push(actions);
  const footer = [inline(str(a.footer), NO_MENTIONS), formatTs(a.ts)].filter((t) => t !== '').join(' · ');
  if (footer) body.push(footer);
  // The fallback is what Slack shows where attachments cannot be: here, only when nothing else is there.
  if (body.length === 0 && !pretext) {
    const fallback = str(a.fallback);
    if (fallback) body.push(plainToMarkdown(fallback));
  }
  if (pretext) out.push(pretext);
  if (body.length > 0) {
    const dot = colorDot(a.color);
    const first = body[0]!;
    // A dot before a line that starts a block (code fence, quote, list) would break it: it gets a line of its own.
    if (dot) body[0] = /^(```|> |[-*] |\d+\. |#)/.test(first) ? `${dot}\n${first}` : `${dot} ${first}`;
    out.push(body.join('\n'));
  }
  return out.join('\n');
}

/** The payload → the message. Throws InvalidPayload (Slack `no_text`, `too_many_attachments`) when there is nothing to show. */
export function translateSlack(payload: Record<string, unknown>): Outcome {
  const ctx: Ctx = { linkNames: truthy(payload.link_names) };
  const attachments = arr(payload.attachments);
  if (attachments.length > MAX_ATTACHMENTS) {
    throw slackError('too_many_attachments', `The payload has ${attachments.length} attachments; Slack allows at most ${MAX_ATTACHMENTS}, and so does Carillon.`);
  }
  const parts: string[] = [];
  const blocks = arr(payload.blocks);
  const rendered = blocks.length > 0 ? renderBlocks(blocks, ctx) : '';
  if (rendered) parts.push(rendered);
  else {
    // Without blocks, text is the message; with blocks that show nothing, text is their fallback.
    const text = str(payload.text);
    if (text.trim() !== '') parts.push(payload.mrkdwn === false ? plainToMarkdown(text) : mrkdwnToMarkdown(text, { linkNames: ctx.linkNames }));
  }
  for (const a of attachments.map(obj)) {
    if (!a) continue;
    const t = renderAttachment(a, ctx);
    if (t.trim() !== '') parts.push(t);
  }
  const body = parts.join('\n\n').trim();
  if (body === '' || body.replace(/[\s\-*_#>`~|]/g, '') === '') {
    throw slackError('no_text', 'The payload has nothing to show: send "text" (mrkdwn), "blocks" or "attachments", e.g. {"text": "Hello"}.');
  }
  return { kind: 'post', content: mdMessage(body) };
}
