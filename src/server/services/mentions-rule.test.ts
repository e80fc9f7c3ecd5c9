/**
 * Chime's rule for member posts: @All / @Present are refused in rooms of more than 50 members
 * (400 TooManyMembers, nothing stored), counted in the storing transaction; and every hostile
 * vector's HTML survives the round trip through each store byte for byte.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { assertSafeHtml } from '../../test-support/html-allowlist.js';
import { seedMembers } from '../../test-support/seed.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { loadVectors } from '../../test-support/shared-dir.js';

for (const backend of availableBackends()) {
  describe(`@All/@Present member-count rule on ${backend}`, () => {
    let s: TestServer;
    let admin: TestUser;
    let r50: string;
    let r51: string;
    before(async () => {
      s = await startTestServer({ backend });
      admin = await setupAdmin(s.baseUrl);
      r50 = await createRoom(s.baseUrl, admin, 'R50');
      r51 = await createRoom(s.baseUrl, admin, 'R51');
      await seedMembers(s.backend.store, r50, 49, 'a'); // + the admin = 50
      await seedMembers(s.backend.store, r51, 50, 'b'); // + the admin = 51
    });
    after(() => s.close());

    const post = (roomId: string, content: string) => call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: admin.token, body: { content } });

    for (const mention of ['@All', '@Present', '@all', '@PRESENT']) {
      test(`${mention} in a room of exactly 50 members → 201`, async () => {
        const r = await post(r50, `${mention} deploy starting`);
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body.message.mentions.all || r.body.message.mentions.present, true);
      });
      test(`${mention} in a room of 51 members → 400 TooManyMembers, nothing stored`, async () => {
        const before = (await s.backend.store.getRoom(r51))!.lastSeq;
        const r = await post(r51, `${mention} deploy starting`);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.body.Code, 'TooManyMembers');
        assert.match(r.body.Message, /at most 50 members; this room has 51/);
        assert.equal((await s.backend.store.getRoom(r51))!.lastSeq, before);
      });
    }

    test('@All inside code, or as part of a word, is not a broadcast: 201 in the 51-member room', async () => {
      for (const content of ['use `@All` to ping everyone', '/code @All', 'mail me at x@All.example.com', '/md ```\n@All\n```']) {
        const r = await post(r51, content);
        assert.equal(r.status, 201, `${content}: ${r.text}`);
        assert.equal(r.body.message.mentions.all, false);
      }
    });

    test('the count is taken when storing: a member leaving brings the room back under the limit', async () => {
      const members = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${r51}/roster`, { token: admin.token })).body.members as { userId: string }[];
      const leaver = members.find((m) => m.userId !== admin.id)!;
      assert.equal((await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${r51}/members/${leaver.userId}`, { token: admin.token })).status, 204);
      assert.equal((await post(r51, '@All now we are 50')).status, 201);
    });
  });

  describe(`rendered HTML round trip through ${backend}`, () => {
    let s: TestServer;
    let admin: TestUser;
    let roomId: string;
    before(async () => {
      s = await startTestServer({ backend });
      admin = await setupAdmin(s.baseUrl);
      roomId = await createRoom(s.baseUrl, admin, 'Vectors');
    });
    after(() => s.close());

    test('every xss, mention and unicode vector (plain and /md): stored content and HTML byte-identical on read-back, HTML safe', async () => {
      const contents: string[] = [];
      for (const file of ['xss-markdown.jsonl', 'mentions.jsonl', 'webhook-bodies-unicode.jsonl']) {
        for (const v of loadVectors(file)) {
          let c: unknown;
          try {
            c = (JSON.parse(v.body) as { Content?: unknown }).Content;
          } catch {
            continue;
          }
          if (typeof c !== 'string') continue;
          contents.push(c, c.startsWith('/md') ? c.replace(/^\/md\s/, '') : `/md ${c}`);
        }
      }
      const posted = new Map<number, { content: string; html: string }>();
      let accepted = 0;
      for (const content of contents) {
        const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: admin.token, body: { content } });
        // Blank or unstorable vectors are refused with a 4xx (never a 5xx); all others are stored.
        assert.ok(r.status === 201 || r.status === 400 || r.status === 413, `${r.status} for ${JSON.stringify(content).slice(0, 80)}`);
        if (r.status !== 201) continue;
        accepted++;
        assertSafeHtml(r.body.message.html);
        posted.set(r.body.message.seq, { content, html: r.body.message.html });
      }
      assert.ok(accepted > 250, `only ${accepted} vectors were stored`);
      for (let after = 0; ; ) {
        const page = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages?after=${after}&limit=100`, { token: admin.token })).body.messages as { seq: number; content: string; html: string }[];
        if (page.length === 0) break;
        for (const m of page) {
          const p = posted.get(m.seq)!;
          assert.equal(m.content, p.content);
          assert.equal(m.html, p.html);
        }
        after = page[page.length - 1]!.seq;
      }
    });
  });
}
