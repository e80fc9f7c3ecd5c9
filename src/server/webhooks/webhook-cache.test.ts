/**
 * Webhook URLs that posted within the last second authenticate without a store read (issue 7).
 * What must hold when another node changes the webhook meanwhile (simulated by changing it straight
 * in the store, so this node's webhook service is not told): nothing is stored through a URL that is
 * no longer valid, the answers stay those of SPEC 2.3, the new URL works at once, and nothing stale
 * is used for more than a second (RELIABILITY D-9).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, createWebhook, portOf, rawRequest, storedMessages } from '../../test-support/webhooks.js';
import { LIVE_WEBHOOK_TTL_MS } from './webhook-service.js';

for (const backend of availableBackends()) {
  describe(`webhook authentication cache (${backend})`, () => {
    let s: TestServer;
    let clock: FakeClock;
    let admin: TestUser;
    let roomId: string;

    before(async () => {
      clock = new FakeClock();
      // A burst of 10, so posts within the cache's second are not throttled.
      s = await startTestServer({ backend, clock, env: { WEBHOOK_BURST: '10' } });
      admin = await setupAdmin(s.baseUrl);
      roomId = await createRoom(s.baseUrl, admin, 'Cache');
    });
    after(() => s.close());

    const post = (path: string, content: string) => rawRequest(portOf(s), { path, body: JSON.stringify({ Content: content }) });
    const contents = async () => (await storedMessages(s.backend.store, roomId)).map((m) => m.content);
    const currentPath = async (webhookId: string) => {
      const listed = await call<{ webhooks: { id: string; url: string }[] }>(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token });
      const url = new URL(listed.body.webhooks.find((w) => w.id === webhookId)!.url);
      return url.pathname + url.search;
    };

    test('regenerated on another node while cached here: the old URL gets 404 and stores nothing; the new URL posts at once', async () => {
      const w = await createWebhook(s, admin, roomId, 'Regenerated elsewhere');
      assert.equal((await post(w.path, 'warm')).status, 200);
      assert.equal((await s.backend.store.regenerateWebhook(w.id))?.generation, 2);
      clock.advance(LIVE_WEBHOOK_TTL_MS / 2);
      const old = await post(w.path, 'old URL, still cached');
      assert.equal(old.status, 404, old.text);
      assert.equal(old.json.Code, 'WebhookNotFound');
      assert.equal((await post(await currentPath(w.id), 'new URL')).status, 200);
      const stored = await contents();
      assert.ok(stored.includes('new URL') && !stored.includes('old URL, still cached'));
    });

    test('deleted on another node while cached here: 404, nothing stored', async () => {
      const w = await createWebhook(s, admin, roomId, 'Deleted elsewhere');
      assert.equal((await post(w.path, 'warm')).status, 200);
      assert.ok(await s.backend.store.deleteWebhook(w.id, clock.now()));
      clock.advance(1);
      const res = await post(w.path, 'after the deletion');
      assert.equal(res.status, 404, res.text);
      assert.equal(res.json.Code, 'WebhookNotFound');
      assert.ok(!(await contents()).includes('after the deletion'));
    });

    test('renamed on another node: the new sender name is used within a second', async () => {
      const w = await createWebhook(s, admin, roomId, 'Old name');
      assert.equal((await post(w.path, 'first')).status, 200);
      assert.equal((await s.backend.store.renameWebhook(w.id, 'New name'))?.name, 'New name');
      clock.advance(LIVE_WEBHOOK_TTL_MS);
      assert.equal((await post(w.path, 'after a second')).status, 200);
      const last = (await storedMessages(s.backend.store, roomId)).at(-1)!;
      assert.equal(last.content, 'after a second');
      assert.equal(last.sender.name, 'New name');
    });
  });
}
