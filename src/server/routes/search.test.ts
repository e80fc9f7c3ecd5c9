/**
 * GET /api/v1/search (issue 14) over real HTTP, on SQLite and on PostgreSQL: words, phrases,
 * prefixes, filters, paging newest first, edits and tombstones, authorization (only the caller's
 * rooms, now), hostile queries (400 or results, never 500) and snippets that are safe HTML.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Parser } from 'htmlparser2';
import { LIMITS } from '../../shared/limits.js';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, type TestWebhook, createWebhook } from '../../test-support/webhooks.js';
import { splitWords } from '../store/search-text.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 1, 12); // 2030-01-01T12:00Z; the clock moves forward from here (less than a session lifetime)

interface Result {
  message: { id: string; roomId: string; content: string; createdAt: number; sender: { type: string; id: string } };
  roomName: string;
  snippet: string;
}

const vectors = readFileSync(new URL('../../../test/vectors/xss-markdown.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { name: string; encoding: string; body: string })
  .filter((v) => v.encoding === 'utf8')
  .map((v) => ({ name: v.name, content: (JSON.parse(v.body) as { Content: unknown }).Content }))
  .filter((v): v is { name: string; content: string } => typeof v.content === 'string');

/** The snippet HTML as a browser parses it: its elements, attributes, text and highlighted text. */
function parseSnippet(html: string) {
  const tags: string[] = [];
  const marked: string[] = [];
  let attributes = 0;
  let text = '';
  let depth = 0;
  const p = new Parser(
    {
      onopentag(name, attrs) {
        tags.push(name);
        attributes += Object.keys(attrs).length;
        if (name === 'mark') {
          depth++;
          marked.push('');
        }
      },
      onclosetag(name) {
        if (name === 'mark') depth--;
      },
      ontext(t) {
        text += t;
        if (depth > 0) marked[marked.length - 1] += t;
      },
      oncomment: () => tags.push('#comment'),
      onprocessinginstruction: (name) => tags.push(`#pi:${name}`),
      oncdatastart: () => tags.push('#cdata'),
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeCDATA: true },
  );
  p.write(html);
  p.end();
  return { tags, attributes, text, marked };
}

for (const backend of availableBackends()) {
  describe(`GET /api/v1/search on ${backend}`, () => {
    let s: TestServer;
    const clock = new FakeClock(T0);
    let admin: TestUser;
    let mary: TestUser;
    let john: TestUser;
    let eve: TestUser;
    let ops: string;
    let secret: string;
    let eveRoom: string;
    let ci: TestWebhook;
    const ids: Record<string, string> = {};

    const get = (user: TestUser | undefined, query: Record<string, string | number>) =>
      call<{ results: Result[]; nextCursor: string | null; Code?: string; Message?: string }>(
        s.baseUrl,
        'GET',
        `/api/v1/search?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`,
        { token: user?.token },
      );
    /** The ids found (in order), after checking the answer is a 200. */
    const found = async (user: TestUser, query: Record<string, string | number>) => {
      const r = await get(user, query);
      assert.equal(r.status, 200, r.text);
      return r.body.results.map((x) => x.message.id);
    };
    const postAs = async (user: TestUser, roomId: string, content: string, at: number) => {
      clock.t = at;
      const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: user.token, body: { content } });
      assert.equal(r.status, 201, r.text);
      return r.body.message.id as string;
    };
    const postHook = async (hook: TestWebhook, content: string, at: number) => {
      clock.t = at;
      const r = await call(s.baseUrl, 'POST', hook.path, { body: { Content: content } });
      assert.equal(r.status, 200, r.text);
      return r.body.MessageId as string;
    };

    before(async () => {
      s = await startTestServer({ backend, clock });
      admin = await setupAdmin(s.baseUrl);
      mary = await createUser(s.baseUrl, admin, 'mary');
      john = await createUser(s.baseUrl, admin, 'john');
      eve = await createUser(s.baseUrl, admin, 'eve');
      ops = await createRoom(s.baseUrl, admin, 'Ops <alerts>');
      await addMember(s.baseUrl, admin, ops, mary);
      await addMember(s.baseUrl, admin, ops, john);
      secret = await createRoom(s.baseUrl, admin, 'Secret');
      eveRoom = await createRoom(s.baseUrl, eve, 'Eve');
      ci = await createWebhook(s, admin, ops, 'CI');
      ids.m1 = await postAs(mary, ops, 'Deploy finished: build 1234 of carillon-api is live https://ci.example.com/builds/1234', T0);
      ids.m2 = await postHook(ci, 'Disk full on db-01.prod.example.com (98%)', T0 + DAY);
      ids.m3 = await postAs(john, ops, 'deploy rolled back: build 1235 failed', T0 + 2 * DAY);
      ids.m4 = await postHook(ci, 'CPU high on web-03; deployment paused', T0 + 3 * DAY);
      ids.m5 = await postAs(mary, ops, 'Salt AND pepper, NEAR the window: a:b -c "quoted"', T0 + 4 * DAY);
      ids.secret = await postAs(admin, secret, 'deploy the zanzibar plan; build 1234', T0 + 5 * DAY);
      ids.eve = await postAs(eve, eveRoom, 'deploy zanzibar from eve', T0 + 6 * DAY);
      clock.t = T0 + 7 * DAY;
    });
    after(() => s.close());

    test('words (all of them), newest first, with the room name and the message as the room lists it', async () => {
      assert.deepEqual(await found(mary, { q: 'deploy' }), [ids.m3, ids.m1]);
      assert.deepEqual(await found(mary, { q: 'DEPLOY build' }), [ids.m3, ids.m1]);
      assert.deepEqual(await found(mary, { q: 'deploy 1234' }), [ids.m1]);
      const r = await get(mary, { q: 'disk' });
      assert.deepEqual(Object.keys(r.body).sort(), ['nextCursor', 'results']);
      assert.equal(r.body.nextCursor, null);
      const [hit] = r.body.results;
      assert.deepEqual(Object.keys(hit!).sort(), ['message', 'roomName', 'snippet']);
      assert.equal(hit!.roomName, 'Ops <alerts>');
      assert.equal(hit!.snippet, '<mark>Disk</mark> full on db-01.prod.example.com (98%)');
      const listed = await call(s.baseUrl, 'GET', `/api/v1/rooms/${ops}/messages`, { token: mary.token });
      assert.deepEqual(hit!.message, listed.body.messages.find((m: { id: string }) => m.id === ids.m2));
      assert.equal(hit!.message.sender.type, 'webhook');
    });

    test('punctuation separates words: host names, URLs and paths are found by their parts', async () => {
      assert.deepEqual(await found(mary, { q: 'example' }), [ids.m2, ids.m1]);
      assert.deepEqual(await found(mary, { q: 'builds' }), [ids.m1]);
      assert.deepEqual(await found(mary, { q: 'db-01.prod' }), [ids.m2]);
      assert.deepEqual(await found(mary, { q: 'carillon_api' }), [ids.m1]);
    });

    test('"phrases": words next to one another, in order', async () => {
      assert.deepEqual(await found(mary, { q: '"build 1234"' }), [ids.m1]);
      assert.deepEqual(await found(mary, { q: '"1234 build"' }), []);
      assert.deepEqual(await found(mary, { q: '"rolled back" build' }), [ids.m3]);
      const r = await get(mary, { q: '"build 1234"' });
      assert.match(r.body.results[0]!.snippet, /<mark>build 1234<\/mark>|<mark>build<\/mark> <mark>1234<\/mark>/);
    });

    test('prefix*: words that start with it', async () => {
      assert.deepEqual(await found(mary, { q: 'deplo*' }), [ids.m4, ids.m3, ids.m1]);
      assert.deepEqual(await found(mary, { q: '"deploy fin"*' }), [ids.m1]);
      assert.deepEqual(await found(mary, { q: 'deploy-*' }), [ids.m3, ids.m1], 'a star after punctuation is no prefix');
    });

    test('query syntax is text: AND, NEAR(, a:b, -c and quotes find those words', async () => {
      assert.deepEqual(await found(mary, { q: 'AND' }), [ids.m5]);
      assert.deepEqual(await found(mary, { q: 'NEAR(' }), [ids.m5]);
      assert.deepEqual(await found(mary, { q: 'a:b' }), [ids.m5]);
      assert.deepEqual(await found(mary, { q: '-c' }), [ids.m5]);
      assert.deepEqual(await found(mary, { q: '"quoted' }), [ids.m5]);
      assert.deepEqual(await found(mary, { q: 'OR deploy' }), []);
    });

    test('filters: room, member, webhook, since and until (dates, date-times, epoch ms)', async () => {
      assert.deepEqual(await found(admin, { q: 'deploy' }), [ids.secret, ids.m3, ids.m1]);
      assert.deepEqual(await found(admin, { q: 'deploy', roomId: secret }), [ids.secret]);
      assert.deepEqual(await found(admin, { q: 'deploy', roomId: ops }), [ids.m3, ids.m1]);
      assert.deepEqual(await found(mary, { q: 'deplo*', userId: john.id }), [ids.m3]);
      assert.deepEqual(await found(mary, { q: 'deplo*', userId: mary.id }), [ids.m1]);
      assert.deepEqual(await found(mary, { q: 'deplo*', webhookId: ci.id }), [ids.m4]);
      assert.deepEqual(await found(mary, { q: 'deplo*', userId: ci.id }), [], 'a webhook id is not a member');
      assert.deepEqual(await found(mary, { q: 'deplo*', since: '2030-01-02' }), [ids.m4, ids.m3]);
      assert.deepEqual(await found(mary, { q: 'deplo*', until: '2030-01-03' }), [ids.m3, ids.m1]);
      assert.deepEqual(await found(mary, { q: 'deplo*', since: '2030-01-03', until: '2030-01-03' }), [ids.m3]);
      assert.deepEqual(await found(mary, { q: 'deplo*', since: '2030-01-03T12:00:00Z', until: '2030-01-04T11:59:59.999Z' }), [ids.m3]);
      assert.deepEqual(await found(mary, { q: 'deplo*', since: '2030-01-03T14:00+02:00' }), [ids.m4, ids.m3]);
      assert.deepEqual(await found(mary, { q: 'deplo*', since: T0 + 2 * DAY + 1 }), [ids.m4]);
      assert.deepEqual(await found(mary, { q: 'deplo*', until: T0 }), [ids.m1]);
    });

    test('paging: limit and cursor, newest first, each message once, including messages posted at the same millisecond', async () => {
      const room = await createRoom(s.baseUrl, mary, 'Paging');
      const posted: string[] = [];
      for (let i = 0; i < 7; i++) posted.push(await postAs(mary, room, `pager message ${i}`, T0 + 10 * DAY + (i < 4 ? 0 : i)));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await get(mary, { q: 'pager', roomId: room, limit: 2, ...(cursor ? { cursor } : {}) });
        assert.equal(r.status, 200, r.text);
        assert.ok(r.body.results.length <= 2);
        seen.push(...r.body.results.map((x) => x.message.id));
        cursor = r.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 4);
      // Newest first; the four of the same millisecond by id, descending.
      const expected = [...posted.slice(4).reverse(), ...posted.slice(0, 4).sort().reverse()];
      assert.deepEqual(seen, expected);
      // A page that ends exactly at the last result says so.
      const exact = await get(mary, { q: 'pager', roomId: room, limit: 7 });
      assert.equal(exact.body.results.length, 7);
      assert.equal(exact.body.nextCursor, null);
      const all = await get(mary, { q: 'pager', roomId: room });
      assert.equal(all.body.results.length, 7, `default page is ${LIMITS.searchPageDefault}`);
    });

    test('an edited message is found by its new words, not its old; a tombstone not at all', async () => {
      const id = await postAs(mary, ops, 'walrus outage in region one', T0 + 20 * DAY);
      assert.deepEqual(await found(mary, { q: 'walrus' }), [id]);
      const edited = await s.backend.store.editMessage(ops, id, {
        content: 'narwhal outage in region two',
        html: '<p>narwhal outage in region two</p>',
        mentions: { all: false, present: false, userIds: [] },
        at: clock.now(),
      });
      assert.ok(edited);
      assert.deepEqual(await found(mary, { q: 'walrus' }), []);
      assert.deepEqual(await found(mary, { q: '"region one"' }), []);
      assert.deepEqual(await found(mary, { q: 'narwhal' }), [id]);
      const r = await get(mary, { q: 'narwhal' });
      assert.equal(r.body.results[0]!.message.content, 'narwhal outage in region two');
      await s.backend.store.deleteMessage(ops, id, 'author', clock.now());
      assert.deepEqual(await found(mary, { q: 'narwhal' }), []);
      assert.deepEqual(await found(mary, { q: 'outage region' }), []);
    });

    describe('authorization', () => {
      test('only rooms the caller is a member of: no result, snippet or count from any other', async () => {
        assert.deepEqual(await found(mary, { q: 'zanzibar' }), []);
        assert.deepEqual(await found(admin, { q: 'zanzibar' }), [ids.secret]);
        assert.deepEqual(await found(eve, { q: 'zanzibar' }), [ids.eve]);
        assert.deepEqual(await found(eve, { q: 'deploy' }), [ids.eve]);
        // Filters naming things in other rooms find nothing either.
        assert.deepEqual(await found(eve, { q: 'deplo*', webhookId: ci.id }), []);
        assert.deepEqual(await found(eve, { q: 'deplo*', userId: mary.id }), []);
        // The answer for a query that matches only elsewhere is the same as for one that matches nothing.
        const elsewhere = await get(mary, { q: 'zanzibar' });
        const nowhere = await get(mary, { q: 'qwertyuiop' });
        assert.deepEqual(elsewhere.body, nowhere.body);
        assert.deepEqual(elsewhere.body, { results: [], nextCursor: null });
      });

      test('roomId of a room the caller is not in → 404, the same as a room that does not exist', async () => {
        const foreign = await get(mary, { q: 'deploy', roomId: secret });
        const missing = await get(mary, { q: 'deploy', roomId: '00000000-0000-4000-8000-000000000000' });
        assert.equal(foreign.status, 404);
        assert.equal(foreign.body.Code, 'NotFound');
        assert.deepEqual(foreign.body, missing.body);
        assert.equal((await get(mary, { q: 'nothing-matches-this', roomId: secret })).status, 404);
      });

      test('a member removed from a room stops finding its messages at once; added back, finds them again', async () => {
        assert.deepEqual(await found(john, { q: 'deploy' }), [ids.m3, ids.m1]);
        const out = await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${ops}/members/${john.id}`, { token: admin.token });
        assert.equal(out.status, 204);
        assert.deepEqual(await found(john, { q: 'deploy' }), []);
        assert.deepEqual(await found(john, { q: 'deploy', userId: john.id }), [], 'not even their own messages there');
        assert.equal((await get(john, { q: 'deploy', roomId: ops })).status, 404);
        // A cursor from before the removal gives nothing either.
        const page = await get(mary, { q: 'deploy', limit: 1 });
        assert.deepEqual(await found(john, { q: 'deploy', cursor: page.body.nextCursor! }), []);
        await addMember(s.baseUrl, admin, ops, john);
        assert.deepEqual(await found(john, { q: 'deploy' }), [ids.m3, ids.m1]);
      });

      test('unauthenticated or a wrong token → 401', async () => {
        const anonymous = await get(undefined, { q: 'deploy' });
        assert.equal(anonymous.status, 401);
        assert.equal(anonymous.body.Code, 'Unauthorized');
        const wrong = await get({ ...mary, token: 'not-a-token' }, { q: 'deploy' });
        assert.equal(wrong.status, 401);
      });
    });

    test('bad parameters → 400 with a message that says what to fix', async () => {
      const cases: [Record<string, string | number>, RegExp][] = [
        [{ q: '' }, /Nothing to search for\. Type one or more words/],
        [{ q: '  *  "" - ' }, /Nothing to search for/],
        [{}, /missing the required field 'q'/],
        [{ q: 'x'.repeat(LIMITS.searchQueryMaxChars + 1) }, /'q' must be at most 256/],
        [{ q: 'a '.repeat(40) }, /use at most 32/],
        [{ q: 'deploy d*' }, /A prefix needs at least 2 characters/],
        [{ q: 'deploy', limit: 0 }, /'limit' must be at least 1/],
        [{ q: 'deploy', limit: 51 }, /'limit' must be at most 50/],
        [{ q: 'deploy', roomId: 'ops' }, /'roomId' must be a valid uuid/],
        [{ q: 'deploy', since: 'yesterday' }, /'since' must be a date/],
        [{ q: 'deploy', until: '2030-02-30' }, /'until' must be a date/],
        [{ q: 'deploy', since: '2030-01-05', until: '2030-01-01' }, /since is after until/],
        [{ q: 'deploy', userId: mary.id, webhookId: ci.id }, /either userId .* or webhookId/],
        [{ q: 'deploy', cursor: 'garbage' }, /'cursor' is not a cursor this server gave/],
        [{ q: 'deploy', sort: 'asc' }, /unknown field 'sort'/],
      ];
      for (const [query, message] of cases) {
        const r = await get(mary, query);
        assert.equal(r.status, 400, `${JSON.stringify(query)}: ${r.text}`);
        assert.equal(r.body.Code, 'InvalidRequest');
        assert.match(r.body.Message!, message, JSON.stringify(query));
      }
      const twice = await call(s.baseUrl, 'GET', '/api/v1/search?q=a&q=b', { token: mary.token });
      assert.equal(twice.status, 400);
    });

    test('hostile queries: 400 or results, never a 500', async () => {
      const hostile = [
        'AND', 'OR', 'NOT', 'a AND', 'AND OR NOT', 'NEAR(a b)', 'NEAR(a b, 0)', 'a NEAR b', '"', '"""', '" "', '*', '**', '***a', 'a*b*', 'a**',
        '-', '--deploy', ':', 'content:deploy', 'messages_fts:x', '^deploy', '{content}: deploy', '(deploy OR disk)', '+deploy', 'deploy^2',
        '\\', "'", "''", "';drop table messages;--", '"; select * from users; --', '\u0000', 'a\u0000b', '\u0000*', '%', '_', '%_%',
        '&', '|', '!', '<->', 'a <-> b', '!a', 'a:*', "'a':*", 'a & !b | c', 'a:AB', '\uE000deploy\uE001', '\uE001\uE000', '\u202Edeploy',
        '\u0301', 'e\u0301', '²', '"x ²" deploy', '½½*', '𝔡𝔢𝔭𝔩𝔬𝔶', '🎉', '👩‍👩‍👧 deploy', 'É', 'ß', 'İ', '\uFFFD', '\uFEFF deploy', 'x'.repeat(LIMITS.searchQueryMaxChars), 'a.'.repeat(32),
        'ab'.repeat(128), `${'"'.repeat(100)}deploy`, `${'('.repeat(100)}deploy`, 'deploy\tbuild\nfinished\r\n', '　deploy　',
      ];
      for (const q of hostile) {
        const r = await get(mary, { q });
        assert.ok(r.status === 200 || r.status === 400, `${JSON.stringify(q)} → ${r.status} ${r.text}`);
        if (r.status === 200) assert.ok(Array.isArray(r.body.results));
        else assert.equal(r.body.Code, 'InvalidRequest');
      }
      // Raw bytes in the URL: an unpaired surrogate, an overlong %-escape, a NUL.
      for (const raw of ['%ED%A0%80deploy', '%C0%AEdeploy', 'deploy%00', '%FF%FE', '%E2%80%AE']) {
        const r = await call(s.baseUrl, 'GET', `/api/v1/search?q=${raw}`, { token: mary.token });
        assert.ok(r.status === 200 || r.status === 400, `${raw} → ${r.status} ${r.text}`);
      }
      assert.deepEqual(await found(mary, { q: '"""deploy' }), [ids.m3, ids.m1]);
      assert.deepEqual(await found(mary, { q: `${'('.repeat(100)}deploy` }), [ids.m3, ids.m1]);
    });

    test('snippets are safe HTML whatever the content: every hostile-markdown vector, escaped, only <mark> added', async () => {
      const room = await createRoom(s.baseUrl, mary, 'Vectors');
      let checked = 0;
      for (const [i, v] of vectors.entries()) {
        const tag = `vectag${i}`;
        clock.t = T0 + 8 * DAY + i;
        const posted = await call(s.baseUrl, 'POST', `/api/v1/rooms/${room}/messages`, { token: mary.token, body: { content: `${v.content} ${tag}` } });
        if (posted.status !== 201) continue; // refused as content (not the subject here)
        // Also highlight a word of the hostile part when it has one.
        const inner = splitWords(v.content).sort((a, b) => b.length - a.length)[0];
        const r = await get(mary, { q: inner ? `${tag} ${inner}` : tag, roomId: room });
        assert.equal(r.status, 200, `${v.name}: ${r.text}`);
        assert.equal(r.body.results.length, 1, v.name);
        const html = r.body.results[0]!.snippet;
        const p = parseSnippet(html);
        assert.ok(p.tags.every((t) => t === 'mark'), `${v.name}: elements ${p.tags.join(',')} in ${html}`);
        assert.equal(p.attributes, 0, `${v.name}: ${html}`);
        assert.ok(p.marked.length >= 1, `${v.name}: nothing highlighted in ${html}`);
        assert.ok(p.marked.every((m) => splitWords(m).length > 0), `${v.name}: ${html}`);
        // The text shown is the content's own (or a window of it, cut with "…"), characters as sent.
        const shown = p.text.replace(/^…|…$/g, '');
        const content = `${v.content} ${tag}`.replace(/[\uE000\uE001]/g, ' ');
        assert.ok(content.includes(shown) || /\[U\+202[A-E]\]|\[U\+206[6-9]\]/.test(shown), `${v.name}: ${JSON.stringify(shown)} not in the content`);
        checked++;
      }
      assert.ok(checked > 80, `only ${checked} vectors checked`);
    });

    test('the route is in the OpenAPI document', async () => {
      const r = await call(s.baseUrl, 'GET', '/api/v1/openapi.json');
      const op = r.body.paths['/api/v1/search']?.get;
      assert.ok(op, 'GET /api/v1/search documented');
      const params = (op.parameters as { name: string; in: string }[]).filter((p) => p.in === 'query').map((p) => p.name).sort();
      assert.deepEqual(params, ['cursor', 'limit', 'q', 'roomId', 'since', 'until', 'userId', 'webhookId']);
      for (const status of ['200', '400', '401', '404']) assert.ok(op.responses[status], status);
      const ok = op.responses['200'].content['application/json'].schema;
      assert.deepEqual(Object.keys(ok.properties).sort(), ['nextCursor', 'results']);
    });
  });
}
