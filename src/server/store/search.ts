/**
 * Full-text message search (issue 14): the store's queries, one per dialect, over the index that
 * migration 0006 made (search-schema.ts).
 *
 * Authorization is part of each query: messages are joined to the caller's room_members rows
 * (SQLite: a join; PostgreSQL: a semi-join on the same statement's read of them), so a room the
 * caller is not (or no longer) a member of contributes no row, snippet or count. Nothing is
 * filtered afterwards. Tombstones never match (deleted_at is null; their content is '' anyway).
 *
 * Terms reach the databases only as data: on SQLite each term is one FTS5 string ("…", with a *
 * after it for a prefix), whose words were split by the query parser at SQLite's own separators,
 * so no character of the input can be FTS5 syntax; on PostgreSQL each word is a bound parameter,
 * folded by carillon_search_text() and quoted by quote_literal() before to_tsquery() reads it.
 *
 * Snippets are built by the database around the matches, with SNIPPET_START/SNIPPET_END around
 * each match: FTS5's snippet() on SQLite; on PostgreSQL ts_headline() over the folded text (whose
 * words are the indexed ones), whose highlights are then mapped back onto the content by position
 * (the folding keeps the length) and cut to a window here.
 */
import { type Kysely, type Selectable, sql } from './kysely.js';
import type { RawBuilder } from 'kysely';
import { toMessage } from './message-rows.js';
import type { Database, MessagesTable } from './schema.js';
import { SNIPPET_END, SNIPPET_START } from './search-text.js';
import type { SearchHit, SearchQuery, SearchTerm } from './types.js';

type HitRow = Selectable<MessagesTable> & { room_name: string; snippet: string | null };

/** Words of context in an FTS5 snippet (SQLite's limit is 64). */
const SNIPPET_TOKENS = 24;
/** Characters of context in a PostgreSQL snippet (about as many as SNIPPET_TOKENS words of alerts). */
const SNIPPET_CHARS = 160;
const ELLIPSIS = '…';

export async function searchMessages(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', q: SearchQuery): Promise<SearchHit[]> {
  if (q.terms.length === 0 || q.limit <= 0) return [];
  const rows = dialect === 'postgres' ? await searchPostgres(db, q) : await searchSqlite(db, q);
  return rows.map((r) => ({
    message: toMessage(r),
    roomName: r.room_name,
    snippet: dialect === 'postgres' ? snippetFromHeadline(r.content, r.snippet ?? '') : (r.snippet ?? ''),
  }));
}

/** The filters every dialect applies to `m` (messages), besides the text match and the membership join. */
function filters(q: SearchQuery): RawBuilder<unknown>[] {
  const where: RawBuilder<unknown>[] = [sql`m.deleted_at is null`];
  if (q.roomId !== undefined) where.push(sql`m.room_id = ${q.roomId}`);
  if (q.senderUserId !== undefined) where.push(sql`m.sender_type = 'user' and m.sender_id = ${q.senderUserId}`);
  if (q.webhookId !== undefined) where.push(sql`m.sender_type = 'webhook' and m.sender_id = ${q.webhookId}`);
  if (q.since !== undefined) where.push(sql`m.created_at >= ${q.since}`);
  if (q.until !== undefined) where.push(sql`m.created_at <= ${q.until}`);
  if (q.after !== undefined) {
    where.push(sql`(m.created_at < ${q.after.createdAt} or (m.created_at = ${q.after.createdAt} and m.id < ${q.after.id}))`);
  }
  return where;
}

// ---- SQLite: FTS5 ----

/**
 * The FTS5 query: each term one string, words separated by spaces (FTS5 tokenizes it again with
 * the same tokenizer, into the same words: a phrase), `*` after it for a prefix; terms side by side
 * (AND). Words hold no separator, so no '"' either; doubled anyway, as FTS5 strings escape it.
 */
export function fts5Query(terms: readonly SearchTerm[]): string {
  return terms.map((t) => `"${t.words.join(' ').replaceAll('"', '""')}"${t.prefix ? ' *' : ''}`).join(' ');
}

/** A matching row's place in the order, and its snippet when the query that found it made one. */
interface Candidate {
  rid: number;
  created_at: number;
  id: string;
  snippet: string | null;
}

/** Newest first: created_at descending, then id descending (SQLite compares text bytewise, as here). */
const newestFirst = (a: Candidate, b: Candidate) => Number(b.created_at) - Number(a.created_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * inversionWindow: messages looked at, at most, to check that no message with a smaller rowid
 * belongs on the page (see searchSqlite). A setting only so that tests can force either path.
 */
export const sqliteSearchTuning = { inversionWindow: 20_000 };

/**
 * Newest first, without sorting every match of a common word. FTS5 hands out matches in rowid
 * order, and rowids grow as messages are stored, nearly always in created_at order (created_at is
 * taken just before the append). So:
 *
 * 1. The first `limit` matches in rowid order, descending, that pass every filter (the FTS index
 *    drives, and stops there); with their snippets. Fewer than `limit`: that is all of them.
 * 2. Otherwise only a message with a smaller rowid but a later place in the order than the worst of
 *    them (the rare message stored out of created_at order) could still belong on the page. Those
 *    are looked for among the messages newer than it, through the (created_at, id) index, when
 *    there are at most inversionWindow of them; beyond that (a rare word, or filters that leave
 *    little), every match is sorted instead (FTS-driven, cheap when matches are few).
 * 3. The page's messages and room names by rowid, and snippets for the rows that have none yet.
 */
async function searchSqlite(db: Kysely<Database>, q: SearchQuery): Promise<HitRow[]> {
  const match = fts5Query(q.terms);
  const where = sql.join(filters(q), sql` and `);
  const member = sql`cross join room_members rm on rm.room_id = m.room_id and rm.user_id = ${q.userId}`;
  let page = (
    await sql<Candidate>`
      select m.rowid as rid, m.created_at, m.id,
        snippet(messages_fts, 0, ${SNIPPET_START}, ${SNIPPET_END}, ${ELLIPSIS}, ${SNIPPET_TOKENS}) as snippet
      from messages_fts cross join messages m on m.rowid = messages_fts.rowid ${member}
      where messages_fts match ${match} and ${where}
      order by messages_fts.rowid desc
      limit ${q.limit}`.execute(db)
  ).rows.sort(newestFirst);
  if (page.length === q.limit) {
    const worst = page[page.length - 1]!;
    const minRowid = Math.min(...page.map((c) => Number(c.rid)));
    const upper = q.after?.createdAt ?? q.until;
    const { rows: window } = await sql<{ n: number }>`
      select count(*) as n from (
        select 1 from messages where created_at >= ${worst.created_at} ${upper !== undefined ? sql`and created_at <= ${upper}` : sql``}
        limit ${sqliteSearchTuning.inversionWindow + 1})`.execute(db);
    if (Number(window[0]?.n ?? 0) <= sqliteSearchTuning.inversionWindow) {
      // +m.rowid: compared row by row (cheap, and before the FTS check), not used as the index.
      const { rows: late } = await sql<Candidate>`
        select m.rowid as rid, m.created_at, m.id, null as snippet
        from messages m ${member}
        where m.created_at >= ${worst.created_at} and (m.created_at > ${worst.created_at} or m.id > ${worst.id})
          and +m.rowid < ${minRowid} and ${where}
          and exists (select 1 from messages_fts where messages_fts match ${match} and messages_fts.rowid = m.rowid)`.execute(db);
      if (late.length > 0) page = [...page, ...late].sort(newestFirst).slice(0, q.limit);
    } else {
      const { rows } = await sql<Candidate>`
        select m.rowid as rid, m.created_at, m.id, null as snippet
        from messages_fts cross join messages m on m.rowid = messages_fts.rowid ${member}
        where messages_fts match ${match} and ${where}
        order by m.created_at desc, m.id desc
        limit ${q.limit}`.execute(db);
      page = rows;
    }
  }
  if (page.length === 0) return [];
  const rowids = page.map((c) => Number(c.rid));
  const { rows } = await sql<HitRow & { rid: number }>`
    select m.*, m.rowid as rid, r.name as room_name, null as snippet
    from messages m join rooms r on r.id = m.room_id
    where m.rowid in (${sql.join(rowids)})`.execute(db);
  const byRowid = new Map(rows.map((r) => [Number(r.rid), r]));
  const snippets = new Map(page.filter((c) => c.snippet !== null).map((c) => [Number(c.rid), c.snippet!]));
  const missing = rowids.filter((r) => !snippets.has(r));
  if (missing.length > 0) {
    // One pass over the matches between the first and the last rowid (+rowid: a filter, so FTS5
    // is not asked once per rowid, which would expand a prefix query every time).
    const { rows: made } = await sql<{ rid: number; snippet: string }>`
      select rowid as rid, snippet(messages_fts, 0, ${SNIPPET_START}, ${SNIPPET_END}, ${ELLIPSIS}, ${SNIPPET_TOKENS}) as snippet
      from messages_fts
      where messages_fts match ${match} and rowid >= ${Math.min(...missing)} and rowid <= ${Math.max(...missing)}
        and +rowid in (${sql.join(missing)})`.execute(db);
    for (const m of made) snippets.set(Number(m.rid), m.snippet);
  }
  // In page order; a row deleted since step 1 is left out.
  return rowids.flatMap((rid) => {
    const row = byRowid.get(rid);
    return row ? [{ ...row, snippet: snippets.get(rid) ?? '' }] : [];
  });
}

// ---- PostgreSQL: tsvector ----

/** The tsquery: words of a term joined by <-> (next to each other), terms by && (AND). */
function tsquery(terms: readonly SearchTerm[]): RawBuilder<unknown> {
  const parts = terms.map((t) => {
    const words = t.words.map((w, i) => {
      const suffix = t.prefix && i === t.words.length - 1 ? ':*' : '';
      return sql`to_tsquery('simple', quote_literal(carillon_search_text(${w})) || ${suffix})`;
    });
    return sql`(${sql.join(words, sql` <-> `)})`;
  });
  return sql.join(parts, sql` && `);
}

/**
 * The caller's rooms are read by the same statement (one snapshot), as an array the messages'
 * room_id must be in: a semi-join. Written as a plain join, the planner could loop over the rooms
 * and scan the GIN index once per room when its estimates were off (measured: 2.6 s instead of
 * 0.4 ms for two common words over a million messages, with room_members not yet analyzed).
 */
async function searchPostgres(db: Kysely<Database>, q: SearchQuery): Promise<HitRow[]> {
  const options = `HighlightAll=true, StartSel=${SNIPPET_START}, StopSel=${SNIPPET_END}`;
  const { rows } = await sql<HitRow>`
    select m.*, r.name as room_name,
      ts_headline('simple', carillon_search_text(m.content), ${tsquery(q.terms)}, ${options}) as snippet
    from (
      select m.id from messages m
      where m.room_id = any(array(select rm.room_id from room_members rm where rm.user_id = ${q.userId}))
        and m.search @@ (${tsquery(q.terms)}) and ${sql.join(filters(q), sql` and `)}
      order by m.created_at desc, m.id desc
      limit ${q.limit}
    ) hits
    join messages m on m.id = hits.id
    join rooms r on r.id = m.room_id
    order by m.created_at desc, m.id desc`.execute(db);
  return rows;
}

/**
 * The snippet of `content` from ts_headline's output over carillon_search_text(content): that text
 * has the content's length, character for character, so the markers' positions there are the
 * matches' positions in the content. If the lengths differ (a rare character whose case or
 * normalization changes its length), the snippet has no highlight rather than a wrong one.
 */
export function snippetFromHeadline(content: string, headline: string): string {
  const chars = Array.from(content.replace(/[\uE000\uE001]/g, ' '));
  const marks: [number, number][] = [];
  let at = 0;
  let open = -1;
  for (const ch of headline) {
    if (ch === SNIPPET_START) open = at;
    else if (ch === SNIPPET_END) {
      if (open >= 0 && at > open) marks.push([open, at]);
      open = -1;
    } else at++;
  }
  return window(chars, at === chars.length ? marks : []);
}

/**
 * About SNIPPET_CHARS characters around the first match, cut at white space, with an ellipsis
 * where text was left out, and the markers of the matches inside the window.
 */
function window(chars: string[], marks: [number, number][]): string {
  let start = 0;
  let end = chars.length;
  if (chars.length > SNIPPET_CHARS) {
    const first = marks[0] ?? [0, 0];
    start = Math.max(0, Math.min(first[0] - Math.floor(SNIPPET_CHARS / 4), chars.length - SNIPPET_CHARS));
    // Start at a word: after the next white space, unless that passes the first match.
    if (start > 0) {
      let s = start;
      while (s < first[0] && !/\s/.test(chars[s - 1]!)) s++;
      start = s;
    }
    end = Math.min(chars.length, start + SNIPPET_CHARS);
    if (end < chars.length) {
      let e = end;
      while (e > first[1] && !/\s/.test(chars[e]!)) e--;
      end = e > first[1] ? e : end;
    }
  }
  let out = start > 0 ? ELLIPSIS : '';
  let at = start;
  for (const [a, b] of marks) {
    const from = Math.max(a, at);
    const to = Math.min(b, end);
    if (from >= to) continue;
    out += chars.slice(at, from).join('') + SNIPPET_START + chars.slice(from, to).join('') + SNIPPET_END;
    at = to;
  }
  return out + chars.slice(at, end).join('') + (end < chars.length ? ELLIPSIS : '');
}
