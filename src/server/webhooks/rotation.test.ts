/**
 * Regenerating a webhook's URL with an overlap (issue 15), over real HTTP on every storage backend:
 * the default answers the old URL 404 at once (Chime); with keepOldUrlForHours the previous URL
 * keeps posting until then, and only that one (a second regenerate ends the first's overlap); the
 * webhook object says until when; and the store's append guard, in both its paths (the SQLite
 * worker's SQL and the portable Kysely transaction), accepts the previous generation exactly while
 * its overlap lasts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, type RawResponse, type TestWebhook, createWebhook, portOf, rawRequest, storedMessages, toTestWebhook } from '../../test-support/webhooks.js';
import { type ContentChange, type MessageDraft, StoreGuardError } from '../store/types.js';

const HOUR = 3_600_000;

for (const backend of availableBackends()) {
  describe(`regenerate with overlap (${backend})`, () => {
    let s: TestServer;
    let clock: FakeClock;
    let admin: TestUser;
    let n = 0;

    before(async () => {
      clock = new FakeClock();
      s = await startTestServer({ backend, clock, env: { WEBHOOK_BURST: '20', WEBHOOK_RATE_PER_SECOND: '10' } });
      admin = await setupAdmin(s.baseUrl);
    });
    after(() => s.close());

    const fresh = async (): Promise<TestWebhook & { roomId: string }> => {
      const roomId = await createRoom(s.baseUrl, admin, `Rotation ${++n}`);
      return { ...(await createWebhook(s, admin, roomId, `Hook ${n}`)), roomId };
    };
    const regenerate = async (w: { id: string; roomId: string }, body?: unknown) => {
      const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${w.roomId}/webhooks/${w.id}/regenerate`, { token: admin.token, ...(body === undefined ? {} : { body }) });
      return { ...r, hook: r.status === 200 ? toTestWebhook(r.body) : undefined };
    };
    const post = (w: Pick<TestWebhook, 'path'>, content: string, body: Record<string, unknown> = {}): Promise<RawResponse> =>
      rawRequest(portOf(s), { path: w.path, body: JSON.stringify({ Content: content, ...body }) });
    const listed = async (w: { id: string; roomId: string }) =>
      (await call(s.baseUrl, 'GET', `/api/v1/rooms/${w.roomId}/webhooks`, { token: admin.token })).body.webhooks.find((x: { id: string }) => x.id === w.id);
    const expectGone = (r: RawResponse) => {
      assert.equal(r.status, 404, r.text);
      assert.equal(r.json.Code, 'WebhookNotFound');
    };

    test('by default (no body, or 0) the old URL answers 404 at once, as in Chime', async () => {
      const w = await fresh();
      const r = await regenerate(w);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.previousUrlValidUntil, null);
      expectGone(await post(w, 'old URL'));
      assert.equal((await post(r.hook!, 'new URL')).status, 200);
      const zero = await regenerate(w, { keepOldUrlForHours: 0 });
      assert.equal(zero.body.previousUrlValidUntil, null);
      expectGone(await post(r.hook!, 'the URL before'));
    });

    test('keepOldUrlForHours: the old URL posts (as the same webhook) until then, then 404; the webhook object says until when', async () => {
      const w = await fresh();
      const started = clock.now();
      const r = await regenerate(w, { keepOldUrlForHours: 2 });
      assert.equal(r.status, 200, r.text);
      const until = started + 2 * HOUR;
      assert.equal(r.body.previousUrlValidUntil, until);
      assert.equal((await listed(w)).previousUrlValidUntil, until);
      assert.notEqual(r.hook!.url, w.url);
      const viaOld = await post(w, 'still on the old URL');
      assert.equal(viaOld.status, 200, viaOld.text);
      const viaNew = await post(r.hook!, 'already on the new URL');
      assert.equal(viaNew.status, 200);
      const stored = await storedMessages(s.backend.store, w.roomId);
      assert.deepEqual(stored.map((m) => [m.content, m.sender.id, m.sender.name]), [
        ['still on the old URL', w.id, w.name],
        ['already on the new URL', w.id, w.name],
      ]);
      // A keyed post through the old URL (the store's other path) works too.
      assert.equal((await post(w, 'keyed on the old URL', { Key: 'k' })).status, 200);
      clock.advance(2 * HOUR - 1);
      assert.equal((await post(w, 'the last millisecond')).status, 200);
      clock.advance(1);
      expectGone(await post(w, 'too late'));
      expectGone(await post(w, 'too late, keyed', { Key: 'k' }));
      assert.equal((await post(r.hook!, 'the new URL goes on')).status, 200);
      assert.equal((await listed(w)).previousUrlValidUntil, null, 'the overlap is over');
      assert.ok(!(await storedMessages(s.backend.store, w.roomId)).some((m) => m.content.startsWith('too late')));
    });

    test('only the URL just replaced: a second regenerate ends the first one\'s overlap', async () => {
      const w = await fresh();
      const second = await regenerate(w, { keepOldUrlForHours: 24 });
      assert.equal((await post(w, 'first URL during its overlap')).status, 200);
      const third = await regenerate(w, { keepOldUrlForHours: 1 });
      assert.equal(third.body.previousUrlValidUntil, clock.now() + HOUR);
      expectGone(await post(w, 'first URL after a second regenerate'));
      assert.equal((await post(second.hook!, 'second URL, now the previous one')).status, 200);
      assert.equal((await post(third.hook!, 'third URL')).status, 200);
      // A regenerate without overlap ends the second's at once.
      const fourth = await regenerate(w);
      assert.equal(fourth.body.previousUrlValidUntil, null);
      expectGone(await post(third.hook!, 'third URL after a plain regenerate'));
      expectGone(await post(second.hook!, 'second URL'));
      assert.equal((await post(fourth.hook!, 'fourth URL')).status, 200);
    });

    test('a deleted webhook: every URL answers 404, the overlap too', async () => {
      const w = await fresh();
      const r = await regenerate(w, { keepOldUrlForHours: 5 });
      assert.equal((await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${w.roomId}/webhooks/${w.id}`, { token: admin.token })).status, 204);
      expectGone(await post(w, 'old URL after delete'));
      expectGone(await post(r.hook!, 'new URL after delete'));
    });

    test('keepOldUrlForHours must be a whole number 0–24 → 400 InvalidRequest; the URL is not changed', async () => {
      const w = await fresh();
      for (const body of [{ keepOldUrlForHours: 25 }, { keepOldUrlForHours: -1 }, { keepOldUrlForHours: 1.5 }, { keepOldUrlForHours: '2' }, { keepForHours: 2 }]) {
        const r = await regenerate(w, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.body.Code, 'InvalidRequest');
        assert.match(r.body.Message, /keepOldUrlForHours|keepForHours/);
      }
      assert.equal((await listed(w)).url, w.url);
    });

    test('the store guard: the previous generation is accepted only while its overlap lasts, in both append paths', async () => {
      const w = await fresh();
      const store = s.backend.store;
      const now = clock.now();
      const draft = (content: string, at = now): MessageDraft => ({
        id: randomUUID(),
        roomId: w.roomId,
        sender: { type: 'webhook', id: w.id, name: w.name },
        content,
        html: `<p>${content}</p>`,
        mentions: { all: false, present: false, userIds: [] },
        createdAt: at,
      });
      const change = (content: string, at = now): ContentChange => ({ content, html: `<p>${content}</p>`, mentions: { all: false, present: false, userIds: [] }, at });
      const gone = (e: unknown) => e instanceof StoreGuardError && e.reason === 'webhook_gone';
      // Generation 2 with an overlap for generation 1 until now + 1 h.
      assert.equal((await store.regenerateWebhook(w.id, now + HOUR))?.previousValidUntil, now + HOUR);
      for (const generation of [1, 2]) {
        assert.ok(await store.appendMessage(draft(`gen ${generation}`), { webhook: { id: w.id, generation } }));
        const keyed = await store.postKeyed(draft(`keyed gen ${generation}`), `k${generation}`, change(`keyed gen ${generation}`), { webhook: { id: w.id, generation } });
        assert.equal(keyed.kind, 'created');
      }
      // At the end of the overlap (the post's time counts), and for generations before the previous one: refused.
      await assert.rejects(store.appendMessage(draft('gen 1 at the end', now + HOUR), { webhook: { id: w.id, generation: 1 } }), gone);
      await assert.rejects(store.postKeyed(draft('keyed gen 1 at the end', now + HOUR), 'k1', change('x', now + HOUR), { webhook: { id: w.id, generation: 1 } }), gone);
      assert.equal((await store.regenerateWebhook(w.id, now + HOUR))?.generation, 3);
      await assert.rejects(store.appendMessage(draft('gen 1 two back'), { webhook: { id: w.id, generation: 1 } }), gone);
      assert.ok(await store.appendMessage(draft('gen 2 now previous'), { webhook: { id: w.id, generation: 2 } }));
      // Without an overlap, only the current generation.
      assert.equal((await store.regenerateWebhook(w.id, null))?.previousValidUntil, null);
      await assert.rejects(store.appendMessage(draft('gen 3 no overlap'), { webhook: { id: w.id, generation: 3 } }), gone);
      await assert.rejects(store.postKeyed(draft('keyed gen 3'), 'k3', change('keyed gen 3'), { webhook: { id: w.id, generation: 3 } }), gone);
      assert.ok(await store.appendMessage(draft('gen 4'), { webhook: { id: w.id, generation: 4 } }));
      // Nothing refused was stored.
      const contents = (await storedMessages(store, w.roomId)).map((m) => m.content);
      assert.deepEqual(contents, ['gen 1', 'keyed gen 1', 'gen 2', 'keyed gen 2', 'gen 2 now previous', 'gen 4']);
    });

    test('regenerated with overlap on another node while this node has the old URL cached: it keeps posting', async () => {
      const w = await fresh();
      assert.equal((await post(w, 'warm')).status, 200);
      // Changed straight in the store: this node's cache is not told.
      assert.equal((await s.backend.store.regenerateWebhook(w.id, clock.now() + HOUR))?.generation, 2);
      assert.equal((await post(w, 'cached old URL')).status, 200);
      clock.advance(1_000);
      assert.equal((await post(w, 'read again: the previous URL')).status, 200);
      clock.advance(HOUR);
      expectGone(await post(w, 'after the overlap'));
    });
  });
}
