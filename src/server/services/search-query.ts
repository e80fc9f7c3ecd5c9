/**
 * The search query language (issue 14), the same on SQLite and PostgreSQL, and the other inputs of
 * GET /api/v1/search: times, the paging cursor, and the snippet as HTML.
 *
 * Language: words (all must match), "quoted words" (next to one another, in that order), and a *
 * at the end of a word or of a closing quote for words that start with it. Everything else is
 * text: a word is split into the index's words at the index's own separators (search-text.ts), so
 * `ci.example.com` finds those three words in a row, and `AND`, `NEAR(`, `-x`, `col:x`, a lone `*`
 * or an unbalanced quote are never query syntax on either database.
 */
import { AppError } from '../errors.js';
import { SNIPPET_END, SNIPPET_START, splitWords } from '../store/search-text.js';
import type { SearchTerm } from '../store/types.js';
import { escapeHtml, neutralizeInvisibles } from '../render/html.js';

export const SEARCH_HELP =
  'Type one or more words to search for: "quoted words" for a phrase, and a * at the end of a word for words that start with it (e.g. deploy*).';

/** Words in one search, over all its terms: beyond this a query is refused, not truncated. */
export const SEARCH_MAX_WORDS = 32;

/** Characters a prefix (`de*`) needs, at least. */
export const SEARCH_MIN_PREFIX_CHARS = 2;

/** The terms of a query; throws 400 InvalidRequest when there is nothing to search for. */
export function parseSearchQuery(input: string): SearchTerm[] {
  // NUL and the snippet markers are never part of a word (the index treats them as spaces);
  // toWellFormed: an unpaired surrogate would not survive the trip to the database as itself.
  const text = input.toWellFormed().replace(/[\u0000\uE000\uE001]/g, ' ');
  const terms: SearchTerm[] = [];
  let i = 0;
  const isSpace = (c: string | undefined) => c !== undefined && /\s/u.test(c);
  while (i < text.length) {
    if (isSpace(text[i])) {
      i++;
      continue;
    }
    let raw: string;
    let prefix = false;
    if (text[i] === '"') {
      // A phrase, to the closing quote or, unbalanced, to the end; a * right after it makes its last word a prefix.
      const close = text.indexOf('"', i + 1);
      raw = text.slice(i + 1, close < 0 ? text.length : close);
      i = close < 0 ? text.length : close + 1;
      while (text[i] === '*') {
        prefix = true;
        i++;
      }
    } else {
      let j = i;
      while (j < text.length && !isSpace(text[j]) && text[j] !== '"') j++;
      raw = text.slice(i, j);
      i = j;
      prefix = raw.endsWith('*') && isWordEnd(raw);
    }
    const words = splitWords(raw);
    if (words.length === 0) continue;
    // A one-character prefix matches a large part of the vocabulary: costly, and seldom meant.
    if (prefix && Array.from(words[words.length - 1]!).length < SEARCH_MIN_PREFIX_CHARS) {
      throw new AppError('InvalidRequest', `A prefix needs at least ${SEARCH_MIN_PREFIX_CHARS} characters before the * (e.g. de*).`);
    }
    terms.push({ words, prefix });
  }
  if (terms.length === 0) throw new AppError('InvalidRequest', `Nothing to search for. ${SEARCH_HELP}`);
  const count = terms.reduce((n, t) => n + t.words.length, 0);
  if (count > SEARCH_MAX_WORDS) {
    throw new AppError('InvalidRequest', `The search has ${count} words; use at most ${SEARCH_MAX_WORDS}.`);
  }
  return terms;
}

/** `deploy*`: the stars right after a word's last letter or digit (`deploy-*` is just `deploy`). */
function isWordEnd(raw: string): boolean {
  const last = Array.from(raw.replace(/\*+$/, '')).at(-1);
  return last !== undefined && splitWords(last).length === 1;
}

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?$/i;
/** Largest time a JavaScript Date holds. */
const MAX_TIME = 8.64e15;

/**
 * since/until: epoch milliseconds, an ISO 8601 date (a whole day in UTC: since from its first
 * millisecond, until through its last) or date-time (UTC when no offset is given). Inclusive.
 */
export function parseSearchTime(value: string, field: 'since' | 'until'): number {
  const v = value.trim();
  let t = NaN;
  if (/^\d{1,16}$/.test(v)) t = Number(v);
  else if (DATE.test(v)) {
    const [, y, m, d] = DATE.exec(v)!.map(Number) as [number, number, number, number];
    const day = Date.UTC(y, m - 1, d);
    // Date.UTC rolls 2024-02-31 over to March: refuse it instead.
    if (new Date(day).getUTCDate() === d && new Date(day).getUTCMonth() === m - 1) t = field === 'since' ? day : day + DAY_MS - 1;
  } else if (DATE_TIME.test(v)) t = Date.parse(/(?:Z|[+-]\d{2}:\d{2})$/i.test(v) ? v : `${v}Z`);
  if (!Number.isFinite(t) || t < 0 || t > MAX_TIME) {
    throw new AppError(
      'InvalidRequest',
      `Field '${field}' must be a date (2024-05-31), a date and time (2024-05-31T14:00:00Z, UTC unless an offset is given) or epoch milliseconds.`,
    );
  }
  return t;
}

/** The position after a hit, for the next page: opaque to clients. */
export function encodeSearchCursor(after: { createdAt: number; id: string }): string {
  return Buffer.from(JSON.stringify([after.createdAt, after.id]), 'utf8').toString('base64url');
}

export function decodeSearchCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && v[1].length > 0 && v[1].length <= 100) {
      return { createdAt: v[0] as number, id: v[1] };
    }
  } catch {
    /* refused below */
  }
  throw new AppError('InvalidRequest', 'Field \'cursor\' is not a cursor this server gave; use the nextCursor of the previous page, or leave it out to start from the newest.');
}

/**
 * The store's snippet (plain text, matches between SNIPPET_START and SNIPPET_END) as HTML: all of
 * it escaped first, and only then the markers turned into <mark> and </mark>, so nothing of the
 * content can ever be markup. Markers are balanced whatever the input.
 */
export function snippetHtml(snippet: string): string {
  const escaped = neutralizeInvisibles(escapeHtml(snippet).replace(/'/g, '&#39;'));
  let out = '';
  let open = false;
  for (const ch of escaped) {
    if (ch === SNIPPET_START) {
      if (!open) out += '<mark>';
      open = true;
    } else if (ch === SNIPPET_END) {
      if (open) out += '</mark>';
      open = false;
    } else out += ch;
  }
  return open ? `${out}</mark>` : out;
}
