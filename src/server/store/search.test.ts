/**
 * Full-text search in the store (issue 14): the word separators are SQLite's own, the index follows
 * inserts (the SQLite writer thread's too), edits, tombstones and deletes, migration 0006 indexes
 * what was there before it, and SQLite and PostgreSQL find the same messages for the same queries.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { type BackendInstance, type BackendName, availableBackends, openBackend, tempDir } from '../../test-support/backends.js';
import { parseSearchQuery } from '../services/search-query.js';
import { openPostgres } from './dialects/postgres.js';
import { openSqlite, translateSqliteError } from './dialects/sqlite.js';
import { translatePostgresError } from './dialects/postgres.js';
import { KyselyStore } from './kysely-store.js';
import { type Kysely, sql } from './kysely.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import { createMessageSearch, dropMessageSearch } from './search-schema.js';
import { SNIPPET_END, SNIPPET_START, SEPARATOR_RANGES, isWordSeparator, splitWords } from './search-text.js';
import type { MessageDraft, SearchHit, Store, UserRecord } from './types.js';

const user = (alias: string): UserRecord => ({
  id: randomUUID(),
  email: `${alias}@example.com`,
  alias,
  displayName: alias,
  passwordHash: 'x',
  isSystemAdmin: false,
  createdAt: 1,
});

const draft = (roomId: string, content: string, createdAt: number, senderId = 'u'): MessageDraft => ({
  id: randomUUID(),
  roomId,
  sender: { type: 'user', id: senderId, name: 'U' },
  content,
  html: '<p>x</p>',
  mentions: { all: false, present: false, userIds: [] },
  createdAt,
});

const search = (store: Store, userId: string, q: string, limit = 50) => store.searchMessages({ userId, terms: parseSearchQuery(q), limit });
const contents = (hits: SearchHit[]) => hits.map((h) => h.message.content);
const shown = (snippet: string) => snippet.replaceAll(SNIPPET_START, '[').replaceAll(SNIPPET_END, ']');

describe('word separators', () => {
  test('are exactly those of SQLite\'s unicode61 tokenizer (every code point), plus the two snippet markers', () => {
    const db = new BetterSqlite3(':memory:');
    try {
      db.exec(`create virtual table f using fts5(c, tokenize = 'unicode61 remove_diacritics 2');
        create virtual table v using fts5vocab(f, instance);`);
      const insert = db.prepare('insert into f (rowid, c) values (?, ?)');
      db.transaction(() => {
        for (let cp = 1; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) insert.run(cp, `x${String.fromCodePoint(cp)}x`);
      })();
      // A separator leaves the two x as two words; any other character makes one word of x?x.
      const separators = new Set(db.prepare('select doc from v group by doc having count(*) = 2').pluck().all() as number[]);
      const wrong: string[] = [];
      for (let cp = 1; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const expected = separators.has(cp) || cp === 0xe000 || cp === 0xe001;
        if (isWordSeparator(cp) !== expected) wrong.push(cp.toString(16));
      }
      assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} code points differ`);
      assert.ok(SEPARATOR_RANGES.length > 100);
    } finally {
      db.close();
    }
  });

  test('splitWords', () => {
    assert.deepEqual(splitWords('https://ci.example.com/builds/1234 — ✅deploy_prod v1.2.3 naïve'), ['https', 'ci', 'example', 'com', 'builds', '1234', 'deploy', 'prod', 'v1', '2', '3', 'naïve']);
    assert.deepEqual(splitWords(`a${SNIPPET_START}b${SNIPPET_END}c`), ['a', 'b', 'c']);
    assert.deepEqual(splitWords(' \t\n'), []);
  });
});

for (const backend of availableBackends()) {
  describe(`search index on ${backend}`, () => {
    let b: BackendInstance;
    let me: UserRecord;
    let roomId: string;
    let t = 1000;
    const post = (content: string) => b.store.appendMessage(draft(roomId, content, t++));
    before(async () => {
      b = await openBackend(backend);
      me = await b.store.createUser(user('me'));
      roomId = randomUUID();
      await b.store.createRoom({ id: roomId, name: 'Room', createdBy: me.id, createdAt: 1, lastSeq: 0 }, 1);
    });
    after(() => b.cleanup());

    test('a message is found once stored (SQLite: stored by the writer thread, on its own connection)', async () => {
      const m = await post('Disk full on db-01.prod.example.com: 98% used');
      const hits = await search(b.store, me.id, 'prod');
      assert.deepEqual(hits.map((h) => h.message.id), [m.id]);
      assert.equal(hits[0]!.roomName, 'Room');
      assert.equal(shown(hits[0]!.snippet), 'Disk full on db-01.[prod].example.com: 98% used');
    });

    test('an edit is found by its new words, not its old ones; a tombstone by none', async () => {
      const m = await post('zebra alert raised');
      assert.equal((await search(b.store, me.id, 'zebra')).length, 1);
      const edited = await b.store.editMessage(roomId, m.id, { content: 'giraffe alert resolved', html: '<p>x</p>', mentions: { all: false, present: false, userIds: [] }, at: t++ });
      assert.ok(edited);
      assert.deepEqual(await search(b.store, me.id, 'zebra'), []);
      assert.deepEqual(contents(await search(b.store, me.id, 'giraffe')), ['giraffe alert resolved']);
      await b.store.deleteMessage(roomId, m.id, 'author', t++);
      assert.deepEqual(await search(b.store, me.id, 'giraffe'), []);
      assert.deepEqual(await search(b.store, me.id, 'alert'), []);
    });

    test('deleted rows leave the index (room deleted with its messages)', async () => {
      const other = randomUUID();
      await b.store.createRoom({ id: other, name: 'Gone', createdBy: me.id, createdAt: 1, lastSeq: 0 }, 1);
      await b.store.appendMessage(draft(other, 'okapi sighting', t++));
      assert.equal((await search(b.store, me.id, 'okapi')).length, 1);
      const db = (b.store as unknown as { db: Kysely<Database> }).db;
      await db.deleteFrom('rooms').where('id', '=', other).execute();
      assert.deepEqual(await search(b.store, me.id, 'okapi'), []);
      if (backend === 'sqlite') await sql`insert into messages_fts (messages_fts, rank) values ('integrity-check', 1)`.execute(db);
    });

    test('snippets hold the content\'s own U+E000/U+E001 as spaces: the only markers are the highlights', async () => {
      await post(`quokka${SNIPPET_START}evil${SNIPPET_END} <b>x</b>`);
      const [hit] = await search(b.store, me.id, 'quokka');
      assert.equal(shown(hit!.snippet), '[quokka] evil  <b>x</b>');
      assert.deepEqual(contents(await search(b.store, me.id, 'evil')), [`quokka${SNIPPET_START}evil${SNIPPET_END} <b>x</b>`]);
    });

    test('a long message: a snippet around the match, cut with an ellipsis', async () => {
      const words = Array.from({ length: 200 }, (_, i) => `word${i}`);
      words[120] = 'narwhal';
      await post(words.join(' '));
      const [hit] = await search(b.store, me.id, 'narwhal');
      const s = shown(hit!.snippet);
      assert.match(s, /^….*\[narwhal\].*…$/);
      assert.ok(s.length < 400, s);
    });
  });
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const backend of availableBackends()) {
  describe(`search results against brute force on ${backend}: order, paging, filters, membership`, () => {
    let b: BackendInstance;
    let me: UserRecord;
    const messages: { id: string; roomId: string; senderId: string; words: Set<string>; createdAt: number; deleted: boolean }[] = [];
    const memberRooms = new Set<string>();
    const VOCAB = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'kappa', 'sigma', 'theta'];
    before(async () => {
      b = await openBackend(backend);
      me = await b.store.createUser(user('brute'));
      const other = await b.store.createUser(user('other'));
      const rooms: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = randomUUID();
        // I am in rooms 0 and 1; room 2 is someone else's.
        await b.store.createRoom({ id, name: `R${i}`, createdBy: i < 2 ? me.id : other.id, createdAt: 1, lastSeq: 0 }, 1);
        rooms.push(id);
        if (i < 2) memberRooms.add(id);
      }
      const random = prng(7);
      for (let i = 0; i < 240; i++) {
        // Times out of storing order, with many equal ones: the order must come from created_at and id alone.
        const createdAt = 1_000 + Math.floor(random() * 60) * 10;
        const words = VOCAB.filter((_, k) => random() < 0.5 / (k + 1) + 0.05);
        if (words.length === 0) words.push('omega');
        const senderId = random() < 0.3 ? 'sender-a' : 'sender-b';
        const roomId = rooms[Math.floor(random() * 3)]!;
        const m = await b.store.appendMessage(draft(roomId, words.join(' '), createdAt, senderId));
        messages.push({ id: m.id, roomId, senderId, words: new Set(words), createdAt, deleted: false });
      }
      for (const m of messages.filter((_, i) => i % 17 === 0)) {
        await b.store.deleteMessage(m.roomId, m.id, 'author', 99_999);
        m.deleted = true;
      }
    });
    after(() => b.cleanup());

    const cases: { q: string; filter?: { roomId?: number; senderUserId?: string; since?: number; until?: number } }[] = [
      { q: 'alpha' },
      { q: 'omega' },
      { q: 'theta' },
      { q: 'alpha beta' },
      { q: 'omega', filter: { senderUserId: 'sender-a' } },
      { q: 'alpha', filter: { roomId: 1 } },
      { q: 'beta', filter: { since: 1_200, until: 1_400 } },
      { q: 'gamma', filter: { until: 1_100 } },
    ];
    for (const windowSize of [20_000, 3, 0]) {
      test(`every page of every query, exactly (SQLite inversion window ${windowSize})`, async () => {
        const { sqliteSearchTuning } = await import('./search.js');
        const saved = sqliteSearchTuning.inversionWindow;
        sqliteSearchTuning.inversionWindow = windowSize;
        try {
          const rooms = [...memberRooms];
          for (const c of cases) {
            const terms = parseSearchQuery(c.q);
            const roomId = c.filter?.roomId !== undefined ? rooms[c.filter.roomId] : undefined;
            const expected = messages
              .filter((m) => !m.deleted && memberRooms.has(m.roomId) && terms.every((t) => m.words.has(t.words[0]!)))
              .filter((m) => roomId === undefined || m.roomId === roomId)
              .filter((m) => c.filter?.senderUserId === undefined || m.senderId === c.filter.senderUserId)
              .filter((m) => (c.filter?.since ?? -Infinity) <= m.createdAt && m.createdAt <= (c.filter?.until ?? Infinity))
              .sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? 1 : -1))
              .map((m) => m.id);
            for (const limit of [1, 4, 7, 50]) {
              const seen: string[] = [];
              let after: { createdAt: number; id: string } | undefined;
              for (let pages = 0; pages < 300; pages++) {
                const hits = await b.store.searchMessages({
                  userId: me.id,
                  terms,
                  limit,
                  ...(roomId ? { roomId } : {}),
                  ...(c.filter?.senderUserId ? { senderUserId: c.filter.senderUserId } : {}),
                  ...(c.filter?.since !== undefined ? { since: c.filter.since } : {}),
                  ...(c.filter?.until !== undefined ? { until: c.filter.until } : {}),
                  ...(after ? { after } : {}),
                });
                seen.push(...hits.map((h) => h.message.id));
                assert.ok(hits.every((h) => h.snippet.includes(SNIPPET_START)), 'every hit has a highlighted snippet');
                if (hits.length < limit) break;
                const last = hits[hits.length - 1]!.message;
                after = { createdAt: last.createdAt, id: last.id };
              }
              assert.deepEqual(seen, expected, `${c.q} ${JSON.stringify(c.filter ?? {})} limit ${limit}`);
            }
          }
        } finally {
          sqliteSearchTuning.inversionWindow = saved;
        }
      });
    }
  });
}

describe('migration 0006 indexes the messages stored before it, and its down() removes it', () => {
  for (const backend of availableBackends()) {
    test(backend, async () => {
      const dir = tempDir();
      let db: Kysely<Database>;
      let cleanup: () => Promise<void>;
      if (backend === 'sqlite') {
        ({ db } = openSqlite(dir));
        cleanup = () => db.destroy();
      } else {
        const { createPgDatabase } = await import('../../test-support/backends.js');
        const pgdb = await createPgDatabase();
        ({ db } = openPostgres(pgdb.url, () => {}));
        cleanup = async () => {
          await db.destroy();
          await pgdb.drop();
        };
      }
      try {
        await migrateToLatest(db);
        await dropMessageSearch(db as Kysely<any>);
        const store = new KyselyStore({ db, dialect: backend, translateError: backend === 'sqlite' ? translateSqliteError : translatePostgresError, onClose: async () => {} });
        const me = await store.createUser(user('me'));
        const roomId = randomUUID();
        await store.createRoom({ id: roomId, name: 'R', createdBy: me.id, createdAt: 1, lastSeq: 0 }, 1);
        // Stored with no index at all (no triggers, no column).
        await store.appendMessage(draft(roomId, 'pangolin before the migration', 5));
        await createMessageSearch(db as Kysely<any>);
        await store.appendMessage(draft(roomId, 'pangolin after the migration', 6));
        assert.deepEqual(contents(await search(store, me.id, 'pangolin')), ['pangolin after the migration', 'pangolin before the migration']);
        // down() then up() again, on a database with messages.
        await dropMessageSearch(db as Kysely<any>);
        await createMessageSearch(db as Kysely<any>);
        assert.equal((await search(store, me.id, 'migration')).length, 2);
      } finally {
        await cleanup();
      }
    });
  }
});

/**
 * The same messages and queries on both databases find the same messages: words and prefixes taken
 * from every message, in other cases and without accents, and phrases of two words.
 */
const CORPUS = [
  'Deploy finished: build 1234 of carillon-api is live in production. https://ci.example.com/builds/1234',
  'Disk full on db-01.prod.example.com:/var/lib/postgresql (98%) — page @oncall',
  'CPU > 90% on web-03 for 5m; load 12.5, 1e5 requests, v1.2.3 rolled back to v1.2.2',
  'Alert from mary.major@example.com: "backup_job" FAILED at 03:00 UTC [exit 137]',
  'Ça va? La crème brûlée est prête à l\'école — naïve façade, Ærøskøbing, Łódź, Straße',
  'Vietnamese: Tiếng Việt có dấu, Nguyễn Văn Anh; Turkish İstanbul; Ωmega ΣΙΓΜΑ σίγμα; МОСКВА москва',
  'CJK: 東京 サーバー 停止 한국어 메시지; emoji ✅ done 🎉 party 🚀launch ⚠️warn',
  'Markdown /md **bold** _it_ `code` [link](https://x.test/a?b=c&d=e) <script>alert(1)</script> &amp; &lt;tag&gt;',
  'snake_case_name camelCaseName kebab-case-name dotted.name.here path/to/file.txt C:\\Windows\\System32',
  'numbers 3.14159 -42 +7 1,000,000 0x1F 2024-05-31T14:00:00Z 10.0.0.1:8080 [::1]',
  'quotes “smart” ‘single’ «guillemets» don\'t it’s 50€ $20 £5 №5',
  'tabs\tand\nnew lines\r\nand   spaces   everywhere',
];

describe('SQLite and PostgreSQL find the same messages', () => {
  const backends = availableBackends();
  if (backends.length < 2) {
    test('skipped: needs PostgreSQL (CARILLON_TEST_DATABASE_URL)', { skip: true }, () => {});
    return;
  }
  const opened: { name: BackendName; b: BackendInstance; userId: string; ids: string[] }[] = [];
  before(async () => {
    for (const name of backends) {
      const b = await openBackend(name);
      const u = await b.store.createUser(user('parity'));
      const roomId = randomUUID();
      await b.store.createRoom({ id: roomId, name: 'P', createdBy: u.id, createdAt: 1, lastSeq: 0 }, 1);
      const ids: string[] = [];
      for (const [i, c] of CORPUS.entries()) ids.push((await b.store.appendMessage(draft(roomId, c, 100 + i))).id);
      opened.push({ name, b, userId: u.id, ids });
    }
  });
  after(async () => {
    for (const o of opened) await o.b.cleanup();
  });

  test('for every word, prefix and two-word phrase of the corpus, in several spellings', async () => {
    const queries = new Set<string>();
    const fold = (w: string) => w.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    for (const text of CORPUS) {
      const words = splitWords(text);
      for (const [i, w] of words.entries()) {
        for (const v of [w, w.toUpperCase(), w.toLowerCase(), fold(w)]) {
          if (splitWords(v).length === 0) continue;
          queries.add(v);
          if (Array.from(v).length > 2) queries.add(`${Array.from(v).slice(0, 2).join('')}*`);
        }
        if (i + 1 < words.length) queries.add(`"${w} ${words[i + 1]}"`);
      }
    }
    const differences: string[] = [];
    for (const q of queries) {
      const found = await Promise.all(
        opened.map(async (o) => (await search(o.b.store, o.userId, q)).map((h) => o.ids.indexOf(h.message.id)).sort().join(',')),
      );
      if (found[0] !== found[1]) differences.push(`${q}: sqlite [${found[0]}] postgres [${found[1]}]`);
    }
    assert.deepEqual(differences, [], `${differences.length} of ${queries.size} queries differ`);
  });

  test('known difference: PostgreSQL splits words at superscript and subscript digits and fractions', async () => {
    // Its parser goes by the C library's character classes, in which x², H₂O and ½ are no word
    // characters; SQLite's unicode61 keeps them inside words. Pinned here so that a fix shows.
    for (const o of opened) {
      const roomId = (await o.b.store.listRoomsForUser(o.userId))[0]!.id;
      await o.b.store.appendMessage(draft(roomId, 'area 5 m² of H₂O', 200));
    }
    const found = await Promise.all(opened.map(async (o) => contents(await search(o.b.store, o.userId, 'm'))));
    assert.deepEqual(found, [[], ['area 5 m² of H₂O']]);
  });

  test('highlights: the same words marked in every snippet', async () => {
    for (const q of ['example', 'naive', 'ecole', 'build*', '"ci example"', 'москва', 'ομεγα']) {
      const snippets = await Promise.all(opened.map(async (o) => (await search(o.b.store, o.userId, q)).map((h) => marked(h.snippet)).join(' | ')));
      assert.equal(snippets[1], snippets[0], q);
    }
  });
});

/** The highlighted words (FTS5 marks a phrase as one span, ts_headline each of its words). */
const marked = (snippet: string) =>
  [...snippet.matchAll(new RegExp(`${SNIPPET_START}([^${SNIPPET_END}]*)${SNIPPET_END}`, 'gu'))].flatMap((m) => splitWords(m[1]!)).join(',');
