/**
 * Idempotency-Key on webhook posts (issue 15) over real HTTP, on every storage backend: a repeat
 * within 24 hours on the same webhook answers the first post's {MessageId, RoomId} and stores
 * nothing; keys belong to one webhook; concurrent repeats (also on two nodes sharing PostgreSQL)
 * store one message and all answer it; bad keys are 400; only 200s are remembered; old keys expire
 * and are purged; a post without the header costs no extra database round trip.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { LIMITS } from '../../shared/limits.js';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, type RawResponse, type TestWebhook, createWebhook, portOf, rawRequest, storedMessages } from '../../test-support/webhooks.js';
import type { AppendOptions, MessageDraft, Store } from '../store/types.js';
import { IDEMPOTENCY_KEY_TTL_MS, IdempotencyPurger } from './idempotency.js';

const DAY = IDEMPOTENCY_KEY_TTL_MS;

for (const backend of availableBackends()) {
  describe(`Idempotency-Key (${backend})`, () => {
    let s: TestServer;
    let clock: FakeClock;
    let admin: TestUser;
    let n = 0;

    before(async () => {
      clock = new FakeClock();
      // A large bucket: these tests are about repeats, not the rate.
      s = await startTestServer({ backend, clock, env: { WEBHOOK_RATE_PER_SECOND: '10', WEBHOOK_BURST: '20', WEBHOOK_MAX_BURST: '50' } });
      admin = await setupAdmin(s.baseUrl);
    });
    after(() => s.close());

    /** A webhook in a room of its own (a room has at most 10 webhooks). */
    const fresh = async (): Promise<TestWebhook & { roomId: string }> => {
      const roomId = await createRoom(s.baseUrl, admin, `Idempotency ${++n}`);
      return { ...(await createWebhook(s, admin, roomId, `Hook ${n}`)), roomId };
    };
    const post = (server: TestServer, w: Pick<TestWebhook, 'path'>, body: unknown, headers: Record<string, string> = {}) =>
      rawRequest(portOf(server), { path: w.path, body: typeof body === 'string' ? body : JSON.stringify(body), headers });
    const send = (w: Pick<TestWebhook, 'path'>, content: string, key?: string, extra: Record<string, string> = {}) =>
      post(s, w, { Content: content }, { ...(key === undefined ? {} : { 'Idempotency-Key': key }), ...extra });
    const contents = async (w: { roomId: string }) => (await storedMessages(s.backend.store, w.roomId)).map((m) => m.content);
    const ids = (r: RawResponse) => ({ MessageId: r.json?.MessageId, RoomId: r.json?.RoomId });
    const expect200 = (r: RawResponse) => assert.equal(r.status, 200, r.text);

    test('the same key twice: the first post\'s ids, one message; the repeat says Idempotent-Replayed', async () => {
      const w = await fresh();
      const key = randomUUID();
      const first = await send(w, 'deploy 1 finished', key);
      expect200(first);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      clock.advance(60_000);
      const again = await send(w, 'deploy 1 finished', key);
      expect200(again);
      assert.deepEqual(ids(again), ids(first));
      assert.equal(again.text, first.text, 'byte for byte the first answer');
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal((await contents(w)).filter((c) => c === 'deploy 1 finished').length, 1);
      // Another key posts again.
      const other = await send(w, 'deploy 1 finished', randomUUID());
      expect200(other);
      assert.notEqual(other.json.MessageId, first.json.MessageId);
    });

    test('the key alone names the post: a repeat with another body still answers the first and stores nothing', async () => {
      const w = await fresh();
      const key = `retry-${randomUUID()}`;
      const first = await send(w, 'original text', key);
      expect200(first);
      const changed = await send(w, 'different text on the retry', key);
      assert.deepEqual(ids(changed), ids(first));
      assert.ok(!(await contents(w)).includes('different text on the retry'));
    });

    test('keys belong to one webhook: two webhooks with the same key post two messages', async () => {
      const a = await fresh();
      const b = { ...(await createWebhook(s, admin, a.roomId, 'Second hook')), roomId: a.roomId };
      const key = 'shared-key-1';
      const ra = await send(a, 'from A', key);
      const rb = await send(b, 'from B', key);
      expect200(ra);
      expect200(rb);
      assert.notEqual(ra.json.MessageId, rb.json.MessageId);
      assert.deepEqual(ids(await send(a, 'from A', key)), ids(ra));
      assert.deepEqual(ids(await send(b, 'from B', key)), ids(rb));
      const stored = await contents(a);
      assert.equal(stored.filter((c) => c === 'from A').length, 1);
      assert.equal(stored.filter((c) => c === 'from B').length, 1);
    });

    test('24 hours: a repeat just before answers the first; just after, the key is free again; purging deletes only expired keys', async () => {
      const w = await fresh();
      const key = `daily-${randomUUID()}`;
      const first = await send(w, 'nightly backup done', key);
      expect200(first);
      clock.advance(DAY - 1);
      assert.deepEqual(ids(await send(w, 'nightly backup done', key)), ids(first), '1 ms before 24 hours');
      clock.advance(1);
      const next = await send(w, 'nightly backup done', key);
      expect200(next);
      assert.notEqual(next.json.MessageId, first.json.MessageId, 'at 24 hours the key is expired');
      assert.equal(next.headers['idempotent-replayed'], undefined);
      assert.equal((await contents(w)).filter((c) => c === 'nightly backup done').length, 2);
      // The key now names the new post.
      assert.deepEqual(ids(await send(w, 'nightly backup done', key)), ids(next));
      // A younger key, 10 s later; then a purge once the first key (only) is 24 hours old.
      clock.advance(10_000);
      const keep = `kept-${randomUUID()}`;
      expect200(await send(w, 'a later post', keep));
      clock.advance(DAY - 5_000);
      const purger = new IdempotencyPurger({ store: s.backend.store, clock, logger: { warn: () => {} }, batch: 1 });
      assert.ok((await purger.purge()) >= 1);
      assert.equal(await s.backend.store.findIdempotentPost(w.id, key, 0), null, 'deleted, not only expired');
      assert.notEqual(await s.backend.store.findIdempotentPost(w.id, keep, 0), null, 'a key younger than 24 hours stays');
      clock.advance(10_000);
      await purger.purge();
      assert.equal(await s.backend.store.findIdempotentPost(w.id, keep, 0), null);
    });

    test('purging is bounded: one purge deletes at most batch × maxBatches rows, the next one the rest', async () => {
      const w = await fresh();
      const at = clock.now();
      // Earlier tests' keys first, so that exactly these 7 are left to purge.
      while ((await s.backend.store.purgeIdempotencyKeys(at, 1000)) > 0);
      for (let i = 1; i <= 7; i++) {
        await s.backend.store.appendMessage(draft(w, at + i, `purge ${i}`), { webhook: { id: w.id, generation: 1 }, idempotency: { key: `p${i}`, expiredAt: 0 } });
      }
      const later = new FakeClock(at + DAY + 100);
      const purger = new IdempotencyPurger({ store: s.backend.store, clock: later, logger: { warn: () => {} }, batch: 2, maxBatches: 2 });
      assert.equal(await purger.purge(), 4);
      assert.equal(await purger.purge(), 3);
      assert.equal(await purger.purge(), 0);
    });

    test('concurrent repeats: all answered 200 with the same ids, one message stored', async () => {
      const w = await fresh();
      const key = randomUUID();
      const answers = await Promise.all(Array.from({ length: 10 }, () => send(w, 'only once, please', key)));
      for (const r of answers) expect200(r);
      assert.equal(new Set(answers.map((r) => r.json.MessageId)).size, 1, answers.map((r) => r.text).join('\n'));
      assert.equal((await contents(w)).filter((c) => c === 'only once, please').length, 1);
      assert.equal(answers.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 9);
    });

    test('a bad key is 400 InvalidPayload with a sentence, and nothing is stored', async () => {
      const w = await fresh();
      const cases: [string, RegExp][] = [
        ['', /empty/],
        ['k'.repeat(LIMITS.idempotencyKeyMaxChars + 1), /256 characters long; the limit is 255/],
        ['tab\there', /printable ASCII/],
        ['caf\u00e9', /printable ASCII/],
      ];
      for (const [key, message] of cases) {
        const r = await send(w, `bad key ${JSON.stringify(key).slice(0, 20)}`, key);
        assert.equal(r.status, 400, `${JSON.stringify(key)}: ${r.text}`);
        assert.equal(r.json.Code, 'InvalidPayload');
        assert.match(r.json.Message, message);
        assert.match(r.json.Message, /Idempotency-Key/);
      }
      assert.ok(!(await contents(w)).some((c) => c.startsWith('bad key')));
      // The longest and an ordinary printable key work.
      expect200(await send(w, 'longest key', 'k'.repeat(LIMITS.idempotencyKeyMaxChars)));
      expect200(await send(w, 'punctuation key', 'order #42 / retry: "a b"'));
    });

    test('only 200s are remembered: a refused post with a key leaves the key free', async () => {
      const w = await fresh();
      const key = randomUUID();
      const blank = await send(w, '   ', key);
      assert.equal(blank.status, 400);
      // Refused in the storing step (the webhook's settings refuse @All): not remembered either.
      assert.equal((await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${w.roomId}/webhooks/${w.id}`, { token: admin.token, body: { settings: { allowBroadcastMentions: false } } })).status, 200);
      const refused = await send(w, '@All deploy', key);
      assert.equal(refused.status, 400);
      assert.equal(refused.json.Code, 'BroadcastNotAllowed');
      const ok = await send(w, 'the real post', key);
      expect200(ok);
      assert.equal(ok.headers['idempotent-replayed'], undefined);
      assert.deepEqual(ids(await send(w, 'the real post', key)), ids(ok));
    });

    test('with X-Carillon-Key: the key names the message it created or updated; a repeat changes nothing', async () => {
      const w = await fresh();
      const alert = `disk-${randomUUID()}`;
      const fired = await send(w, ':x: disk full', 'idem-fire', { 'X-Carillon-Key': alert });
      expect200(fired);
      const resolved = await send(w, ':white_check_mark: disk ok', 'idem-resolve', { 'X-Carillon-Key': alert });
      expect200(resolved);
      assert.equal(resolved.json.MessageId, fired.json.MessageId, 'the update names the keyed message');
      // Repeats of both: the same message, and its text stays the resolved one.
      assert.deepEqual(ids(await send(w, ':x: disk full', 'idem-fire', { 'X-Carillon-Key': alert })), ids(fired));
      assert.deepEqual(ids(await send(w, ':white_check_mark: disk ok', 'idem-resolve', { 'X-Carillon-Key': alert })), ids(fired));
      const message = await s.backend.store.getMessage(fired.json.MessageId);
      assert.equal(message?.content, ':white_check_mark: disk ok');
      assert.deepEqual(await s.backend.store.findIdempotentPost(w.id, 'idem-resolve', 0), { messageId: fired.json.MessageId, roomId: w.roomId });
    });

    test('a post without the header reads nothing more and stores no key (no extra round trip)', async () => {
      const w = await fresh();
      const store = s.backend.store as Store & Record<string, unknown>;
      const originalFind = store.findIdempotentPost;
      const originalAppend = store.appendMessage;
      let finds = 0;
      const appendOptions: (AppendOptions | undefined)[] = [];
      store.findIdempotentPost = (...args) => (finds++, originalFind.apply(store, args));
      store.appendMessage = (d, o) => (appendOptions.push(o), originalAppend.call(store, d, o));
      try {
        expect200(await send(w, 'no header'));
        assert.equal(finds, 0);
        assert.equal(appendOptions.length, 1);
        assert.equal(appendOptions[0]?.idempotency, undefined, 'the usual group-committed append');
        expect200(await send(w, 'with a header', randomUUID()));
        assert.equal(finds, 1);
        assert.ok(appendOptions[1]?.idempotency);
      } finally {
        store.findIdempotentPost = originalFind;
        store.appendMessage = originalAppend;
      }
    });

    test('the store: a repeat waits for the first one\'s transaction and throws its post; an expired key is taken over', async () => {
      const w = await fresh();
      const at = clock.now();
      const options = (expiredAt: number): AppendOptions => ({ webhook: { id: w.id, generation: 1 }, idempotency: { key: 'store-key', expiredAt } });
      const results = await Promise.allSettled([
        s.backend.store.appendMessage(draft(w, at, 'store 1'), options(at - DAY)),
        s.backend.store.appendMessage(draft(w, at, 'store 2'), options(at - DAY)),
      ]);
      const stored = results.filter((r) => r.status === 'fulfilled');
      const repeats = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      assert.equal(stored.length, 1);
      assert.equal(repeats.length, 1);
      assert.equal(repeats[0].name, 'IdempotentRepeatError');
      assert.equal(repeats[0].post.messageId, (stored[0] as PromiseFulfilledResult<{ id: string }>).value.id);
      // A day later the row is expired: the next append with the key stores and takes it.
      const later = await s.backend.store.appendMessage(draft(w, at + DAY, 'store 3'), options(at));
      assert.deepEqual(await s.backend.store.findIdempotentPost(w.id, 'store-key', at), { messageId: later.id, roomId: w.roomId });
    });

    const draft = (w: { id: string; roomId: string }, at: number, content: string): MessageDraft => ({
      id: randomUUID(),
      roomId: w.roomId,
      sender: { type: 'webhook', id: w.id, name: 'Direct' },
      content,
      html: `<p>${content}</p>`,
      mentions: { all: false, present: false, userIds: [] },
      createdAt: at,
    });

    if (backend === 'postgres') {
      test('two nodes on one PostgreSQL: a repeat on the other node answers the first; racing repeats on both store one message', async () => {
        const other = await startTestServer({ sameDatabaseAs: s, clock, env: { WEBHOOK_RATE_PER_SECOND: '10', WEBHOOK_BURST: '20', WEBHOOK_MAX_BURST: '50' } });
        try {
          const w = await fresh();
          const key = randomUUID();
          const first = await post(s, w, { Content: 'node A first' }, { 'Idempotency-Key': key });
          expect200(first);
          const onB = await post(other, w, { Content: 'node A first' }, { 'Idempotency-Key': key });
          assert.deepEqual(ids(onB), ids(first));
          assert.equal(onB.headers['idempotent-replayed'], 'true');
          const raceKey = randomUUID();
          const answers = await Promise.all(
            Array.from({ length: 12 }, (_, i) => post(i % 2 === 0 ? s : other, w, { Content: 'racing on two nodes' }, { 'Idempotency-Key': raceKey })),
          );
          for (const r of answers) expect200(r);
          assert.equal(new Set(answers.map((r) => r.json.MessageId)).size, 1);
          assert.equal((await contents(w)).filter((c) => c === 'racing on two nodes').length, 1);
        } finally {
          await other.close();
        }
      });
    }
  });
}
