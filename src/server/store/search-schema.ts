/**
 * Migration 0006 (issue 14, full-text message search): the dialect-specific DDL, kept here so that
 * migrations.ts stays portable and short. See search-text.ts for why both databases split words
 * with SQLite's rules, and search.ts for the queries.
 *
 * SQLite: an FTS5 index over messages.content, "external content" (the text is not stored twice):
 * FTS5 reads it back from the view messages_fts_source, by the messages table's rowid, for
 * snippets. Triggers on insert, on update of content (edits, tombstones) and on delete keep it in
 * step; they are part of the schema, so they also run for the rows the message-writer thread
 * inserts on its own connection (dialects/sqlite-append-worker.ts). The index and the view see the
 * content with the two snippet markers replaced by spaces.
 * Caveat: the index is keyed by messages' rowid; SQLite's VACUUM may renumber the rowids of a table
 * without an INTEGER PRIMARY KEY (it keeps them in practice); after a VACUUM, rebuild the index:
 * `INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`. `carillon backup` copies pages and
 * keeps them.
 *
 * PostgreSQL 15: carillon_search_text() (SQLite's separators → spaces, lower case, Latin
 * diacritics removed) and a stored generated tsvector column `search` = to_tsvector('simple', …)
 * with a GIN index. No stemming on either side ('simple' / unicode61), so both find the same words.
 *
 * Both: indexes on (room_id, created_at, id) and (created_at, id), for "newest first in the rooms I am in".
 */
import { type Kysely, PostgresAdapter, sql } from './kysely.js';
import { postgresSeparatorClass } from './search-text.js';

/** The content as indexed and shown in snippets: the snippet markers U+E000 and U+E001 become spaces. */
const sqliteIndexed = (column: string) => `replace(replace(${column}, char(57344), ' '), char(57345), ' ')`;

const isPostgres = (db: Kysely<any>) => db.getExecutor().adapter instanceof PostgresAdapter;

export async function createMessageSearch(db: Kysely<any>): Promise<void> {
  // Newest first in one room, and across rooms (search.ts walks it backwards from a time).
  await db.schema.createIndex('messages_room_created_idx').on('messages').columns(['room_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('messages_created_idx').on('messages').columns(['created_at', 'id']).execute();
  if (isPostgres(db)) {
    // Latin letters with diacritics (and combining marks) are folded only when present, so the
    // common ASCII message pays for neither normalization. Every step maps one character to one
    // character, so the text keeps its length (search.ts maps ts_headline's highlights back onto the
    // content by position).
    await sql
      .raw(
        `create function carillon_search_text(t text) returns text language sql immutable strict parallel safe as $fn$
  select pg_catalog.lower(pg_catalog.regexp_replace(
    case when t operator(pg_catalog.~) '[\\u00c0-\\u024f\\u1e00-\\u1eff\\u0300-\\u036f]'
      then pg_catalog.normalize(pg_catalog.regexp_replace(pg_catalog.normalize(t, 'NFD'), '([A-Za-z])[\\u0300-\\u036f]+', '\\1', 'g'), 'NFC')
      else t end,
    '${postgresSeparatorClass()}', ' ', 'g'))
$fn$`,
      )
      .execute(db);
    await sql
      .raw(`alter table messages add column search tsvector generated always as (to_tsvector('simple'::regconfig, carillon_search_text(content))) stored`)
      .execute(db);
    await sql.raw('create index messages_search_idx on messages using gin (search)').execute(db);
    return;
  }
  await sql
    .raw(`create view messages_fts_source as select rowid as message_rowid, ${sqliteIndexed('content')} as content from messages`)
    .execute(db);
  // columnsize=0: results are ordered by time, never by rank, so no per-row size table to write.
  await sql
    .raw(
      `create virtual table messages_fts using fts5(content, content='messages_fts_source', content_rowid='message_rowid', ` +
        `tokenize='unicode61 remove_diacritics 2', columnsize=0)`,
    )
    .execute(db);
  await sql
    .raw(`create trigger messages_fts_insert after insert on messages begin
  insert into messages_fts (rowid, content) values (new.rowid, ${sqliteIndexed('new.content')});
end`)
    .execute(db);
  await sql
    .raw(`create trigger messages_fts_delete after delete on messages begin
  insert into messages_fts (messages_fts, rowid, content) values ('delete', old.rowid, ${sqliteIndexed('old.content')});
end`)
    .execute(db);
  await sql
    .raw(`create trigger messages_fts_update after update of content on messages begin
  insert into messages_fts (messages_fts, rowid, content) values ('delete', old.rowid, ${sqliteIndexed('old.content')});
  insert into messages_fts (rowid, content) values (new.rowid, ${sqliteIndexed('new.content')});
end`)
    .execute(db);
  // The messages stored before this migration.
  await sql.raw(`insert into messages_fts (messages_fts) values ('rebuild')`).execute(db);
}

export async function dropMessageSearch(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    await sql.raw('drop index messages_search_idx').execute(db);
    await sql.raw('alter table messages drop column search').execute(db);
    await sql.raw('drop function carillon_search_text(text)').execute(db);
  } else {
    for (const t of ['messages_fts_insert', 'messages_fts_delete', 'messages_fts_update']) await sql.raw(`drop trigger ${t}`).execute(db);
    await sql.raw('drop table messages_fts').execute(db);
    await sql.raw('drop view messages_fts_source').execute(db);
  }
  await db.schema.dropIndex('messages_created_idx').execute();
  await db.schema.dropIndex('messages_room_created_idx').execute();
}
