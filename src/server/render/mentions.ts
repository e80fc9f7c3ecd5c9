import { escapeHtml } from './html.js';

export interface RenderMember {
  userId: string;
  alias: string;
  email: string;
  displayName: string;
}

/** userIds: unique, in first-mention order. */
export interface Mentions {
  all: boolean;
  present: boolean;
  userIds: string[];
}

export type MentionTarget = { kind: 'all' } | { kind: 'present' } | { kind: 'user'; userId: string };

export interface MentionMatch {
  start: number;
  end: number;
  target: MentionTarget;
}

/** Lookup tables keyed by lower-cased alias / email; Maps, so `@__proto__` or `@constructor` find nothing. */
export interface MemberIndex {
  byAlias: Map<string, RenderMember>;
  byEmail: Map<string, RenderMember>;
}

// Only ASCII letters are folded: mentions are typed in ASCII, and full Unicode case mapping would let
// look-alikes fold onto real names (the Kelvin sign U+212A lower-cases to "k").
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export function indexMembers(members: readonly RenderMember[]): MemberIndex {
  const byAlias = new Map<string, RenderMember>();
  const byEmail = new Map<string, RenderMember>();
  for (const m of members) {
    const alias = asciiLower(m.alias);
    const email = asciiLower(m.email);
    // First member wins on a (theoretically impossible) clash, so the result never depends on Map overwrites.
    if (alias !== '' && !byAlias.has(alias)) byAlias.set(alias, m);
    if (email !== '' && !byEmail.has(email)) byEmail.set(email, m);
  }
  return { byAlias, byEmail };
}

// Chinese and Japanese are written without spaces, so their characters are boundaries ("確認@maryさん").
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
// Before the `@`: start of the text, whitespace, or punctuation/symbols other than those that occur inside
// emails, URLs and identifiers (`.`, `_`, `-`, `+`, `/`, `=`, `&`…), so that mary@example.com, /@All/ and
// foo@all never mention anyone. `[` is excluded too: link syntax "[@All](url)" never mentions, not even in
// plain mode where it is not parsed as a link.
const BOUNDARY_BEFORE = /[\s\p{P}\p{S}]/u;
const INSIDE_WORDS = /[.\-_+/\\@&=%#$^`[]/;
// After the name: no more word characters in any script (so "@Allé" is not "@All"), no `@` (a half-typed
// email) and no invisible format characters used to split words ("@Al\u200Bl").
const WORD_AFTER = /[\p{L}\p{N}\p{M}\p{Cf}@_]/u;

/** The whole character (code point) before / at a UTF-16 index, so an emoji or CJK extension character counts as one. */
function charBefore(text: string, i: number): string {
  const low = text.charCodeAt(i - 1);
  return low >= 0xdc00 && low <= 0xdfff && i >= 2 ? text.slice(i - 2, i) : text.charAt(i - 1);
}
function charAt(text: string, i: number): string {
  const cp = text.codePointAt(i);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

function boundaryBefore(c: string): boolean {
  return c === '' || CJK.test(c) || (BOUNDARY_BEFORE.test(c) && !INSIDE_WORDS.test(c));
}

function boundaryAfter(c: string): boolean {
  return c === '' || CJK.test(c) || !WORD_AFTER.test(c);
}

// Email form first: `@All@example.com` is an email mention (or nothing), never a broadcast.
const EMAIL_FORM = /@([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/y;
// Aliases are `[a-z0-9._-]`; matched ASCII-only, so homoglyphs (Cyrillic А, fullwidth ＠, 𝐀) never match.
const ALIAS_FORM = /@([A-Za-z0-9._-]+)/y;

function lookupName(name: string, index: MemberIndex): MentionTarget | undefined {
  const key = asciiLower(name);
  if (key === 'all') return { kind: 'all' };
  if (key === 'present') return { kind: 'present' };
  const member = index.byAlias.get(key);
  return member ? { kind: 'user', userId: member.userId } : undefined;
}

function matchAt(text: string, at: number, index: MemberIndex): MentionMatch | undefined {
  EMAIL_FORM.lastIndex = at;
  const email = EMAIL_FORM.exec(text);
  if (email) {
    const end = at + email[0].length;
    if (!boundaryAfter(charAt(text, end))) return undefined;
    const member = index.byEmail.get(asciiLower(email[1] ?? ''));
    return member ? { start: at, end, target: { kind: 'user', userId: member.userId } } : undefined;
  }
  ALIAS_FORM.lastIndex = at;
  const alias = ALIAS_FORM.exec(text);
  const name = alias?.[1];
  if (name === undefined || !boundaryAfter(charAt(text, at + 1 + name.length))) return undefined;
  // "ping @mary." — the sentence's full stop is not part of the alias, unless a member's alias really ends so.
  for (const candidate of new Set([name, name.replace(/[._-]+$/, '')])) {
    if (candidate === '') continue;
    const target = lookupName(candidate, index);
    if (target) return { start: at, end: at + 1 + candidate.length, target };
  }
  return undefined;
}

/**
 * Mentions in a run of text that the caller knows is neither code nor link text. `exclude` holds ranges
 * (auto-linked URLs and emails) in which an `@` is never a mention.
 */
export function findMentions(
  text: string,
  index: MemberIndex,
  exclude: readonly { index: number; lastIndex: number }[] = [],
): MentionMatch[] {
  const found: MentionMatch[] = [];
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    if (!boundaryBefore(charBefore(text, at))) continue;
    if (exclude.some((r) => at >= r.index && at < r.lastIndex)) continue;
    const match = matchAt(text, at, index);
    if (match) {
      found.push(match);
      at = match.end - 1;
    }
  }
  return found;
}

/** Accumulates what a message mentions, counting each user once. */
export class MentionCollector {
  private all = false;
  private present = false;
  private readonly userIds: string[] = [];
  private readonly seen = new Set<string>();

  add(target: MentionTarget): void {
    if (target.kind === 'all') this.all = true;
    else if (target.kind === 'present') this.present = true;
    else if (!this.seen.has(target.userId)) {
      this.seen.add(target.userId);
      this.userIds.push(target.userId);
    }
  }

  result(): Mentions {
    return { all: this.all, present: this.present, userIds: [...this.userIds] };
  }
}

/** `typed` is the mention exactly as written, `@` included. */
export function mentionHtml(target: MentionTarget, typed: string): string {
  const text = escapeHtml(typed);
  switch (target.kind) {
    case 'all':
      return `<span class="mention mention-all">${text}</span>`;
    case 'present':
      return `<span class="mention mention-present">${text}</span>`;
    case 'user':
      return `<span class="mention" data-user-id="${escapeHtml(target.userId)}">${text}</span>`;
  }
}
