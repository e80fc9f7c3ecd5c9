/**
 * Webhook management (SPEC 2.5, 6) over real HTTP on every backend: who may do what, the name rules,
 * the limit of 10, regenerate and delete as seen from the webhook URL, and the roster.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type BackendInstance, availableBackends, openBackend } from '../../test-support/backends.js';
import { type TestServer, type TestUser, TEST_SECRET, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, portOf, rawRequest, toTestWebhook } from '../../test-support/webhooks.js';
import { loadConfig } from '../config.js';
import { SERVER_ACTOR } from '../services/access.js';
import type { DomainEvent } from '../services/context.js';
import { nobodyPresent } from '../services/context.js';
import { WebhookService } from './webhook-service.js';

for (const backend of availableBackends()) {
  describe(`webhook management (${backend})`, () => {
    let s: TestServer;
    let clock: FakeClock;
    let sysAdmin: TestUser;
    let owner: TestUser;
    let coAdmin: TestUser;
    let member: TestUser;
    let outsider: TestUser;
    let roomId: string;

    before(async () => {
      clock = new FakeClock();
      s = await startTestServer({ backend, clock });
      sysAdmin = await setupAdmin(s.baseUrl);
      owner = await createUser(s.baseUrl, sysAdmin, 'owner', 'Room Owner');
      coAdmin = await createUser(s.baseUrl, sysAdmin, 'coadmin', 'Co Admin');
      member = await createUser(s.baseUrl, sysAdmin, 'member', 'Plain Member');
      outsider = await createUser(s.baseUrl, sysAdmin, 'outsider', 'Outsider');
      // The system administrator is deliberately not a member of this room.
      roomId = await createRoom(s.baseUrl, owner, 'Ops');
      await addMember(s.baseUrl, owner, roomId, coAdmin, 'administrator');
      await addMember(s.baseUrl, owner, roomId, member, 'member');
    });
    after(() => s.close());

    const api = (who: TestUser | undefined, method: string, path: string, body?: unknown) =>
      call(s.baseUrl, method, `/api/v1/rooms/${roomId}${path}`, { token: who?.token, ...(body === undefined ? {} : { body }) });
    const postTo = async (url: string, content: string) => {
      clock.advance(1000);
      return rawRequest(portOf(s), { path: toTestWebhook({ id: '', name: '', url }).path, body: JSON.stringify({ Content: content }) });
    };
    const expectError = (r: { status: number; body: any }, status: number, code: string) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.Code, code);
      assert.ok(r.body.Message.length > 10);
    };

    test('authorization: anonymous 401, outsider 404, system admin who is not a member 404, member 403, room admins 2xx', async () => {
      const existing = (await api(owner, 'POST', '/webhooks', { name: 'Authz target' })).body;
      const actions: [string, string, unknown?][] = [
        ['GET', '/webhooks'],
        ['POST', '/webhooks', { name: 'Nope' }],
        ['PATCH', `/webhooks/${existing.id}`, { name: 'Nope' }],
        ['POST', `/webhooks/${existing.id}/regenerate`],
        ['DELETE', `/webhooks/${existing.id}`],
      ];
      for (const [method, path, body] of actions) {
        expectError(await api(undefined, method, path, body), 401, 'Unauthorized');
        expectError(await api(outsider, method, path, body), 404, 'NotFound');
        expectError(await api(sysAdmin, method, path, body), 404, 'NotFound');
        expectError(await api(member, method, path, body), 403, 'Forbidden');
      }
      // Nothing changed, and both the creator and a promoted administrator may manage.
      const listed = await api(coAdmin, 'GET', '/webhooks');
      assert.equal(listed.status, 200);
      const same = listed.body.webhooks.find((w: { id: string }) => w.id === existing.id);
      assert.deepEqual(same, existing);
      const renamed = await api(coAdmin, 'PATCH', `/webhooks/${existing.id}`, { name: 'Renamed by co-admin' });
      assert.equal(renamed.status, 200);
      assert.equal((await api(owner, 'DELETE', `/webhooks/${existing.id}`)).status, 204);
    });

    test('create → 201 {id, name, url, createdAt}; list shows the same URL again (re-derived, never stored)', async () => {
      const created = await api(owner, 'POST', '/webhooks', { name: '  Deploy bot  ' });
      assert.equal(created.status, 201);
      assert.deepEqual(Object.keys(created.body).sort(), ['createdAt', 'failing', 'id', 'name', 'previousUrlValidUntil', 'settings', 'signingSecret', 'url']);
      assert.equal(created.body.name, 'Deploy bot', 'the name is trimmed');
      assert.match(created.body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(created.body.url, `${s.config.publicUrl}/incomingwebhooks/${created.body.id}?token=${toTestWebhook(created.body).token}`);
      assert.match(toTestWebhook(created.body).token, /^[A-Za-z0-9]{72}$/);
      const listed = await api(owner, 'GET', '/webhooks');
      assert.deepEqual(listed.body.webhooks.find((w: { id: string }) => w.id === created.body.id), created.body);
      // Where the URLs point, and that PUBLIC_URL was not set (the default): the web client warns then.
      assert.deepEqual(Object.keys(listed.body).sort(), ['publicUrl', 'publicUrlSet', 'webhooks']);
      assert.equal(listed.body.publicUrl, s.config.publicUrl);
      assert.match(listed.body.publicUrl, /^http:\/\/localhost:\d+$/);
      assert.equal(listed.body.publicUrlSet, false);
      assert.equal((await postTo(created.body.url, 'hello from a new webhook')).status, 200);
      assert.equal((await api(owner, 'DELETE', `/webhooks/${created.body.id}`)).status, 204);
    });

    test('with PUBLIC_URL set, the list says so and every URL starts with it', async () => {
      const other = await startTestServer({ backend, env: { PUBLIC_URL: 'https://chat.example.com/' } });
      try {
        const admin = await setupAdmin(other.baseUrl);
        const room = await createRoom(other.baseUrl, admin, 'Elsewhere');
        const created = await call(other.baseUrl, 'POST', `/api/v1/rooms/${room}/webhooks`, { token: admin.token, body: { name: 'CI' } });
        assert.equal(created.status, 201, created.text);
        const listed = await call(other.baseUrl, 'GET', `/api/v1/rooms/${room}/webhooks`, { token: admin.token });
        assert.equal(listed.status, 200, listed.text);
        assert.equal(listed.body.publicUrl, 'https://chat.example.com');
        assert.equal(listed.body.publicUrlSet, true);
        assert.ok(listed.body.webhooks[0].url.startsWith('https://chat.example.com/incomingwebhooks/'), listed.body.webhooks[0].url);
      } finally {
        await other.close();
      }
    });

    test('names: 1–64 characters after trimming, no control characters, unique in the room ignoring case', async () => {
      for (const name of ['', '   ', 'x'.repeat(65), 'line\nbreak', 'tab\there']) {
        expectError(await api(owner, 'POST', '/webhooks', { name }), 400, 'InvalidRequest');
      }
      expectError(await api(owner, 'POST', '/webhooks', { name: 'ok', extra: 1 }), 400, 'InvalidRequest');
      expectError(await api(owner, 'POST', '/webhooks', {}), 400, 'InvalidRequest');
      const longest = await api(owner, 'POST', '/webhooks', { name: '🔔'.repeat(64) });
      assert.equal(longest.status, 201, '64 characters, counted as code points');
      const first = await api(owner, 'POST', '/webhooks', { name: 'CI Bot' });
      assert.equal(first.status, 201);
      const dup = await api(owner, 'POST', '/webhooks', { name: 'ci bot' });
      expectError(dup, 409, 'Conflict');
      assert.match(dup.body.Message, /\bname\b/);
      const second = await api(owner, 'POST', '/webhooks', { name: 'Other bot' });
      expectError(await api(owner, 'PATCH', `/webhooks/${second.body.id}`, { name: 'CI BOT' }), 409, 'Conflict');
      expectError(await api(owner, 'PATCH', `/webhooks/${second.body.id}`, { name: ' ' }), 400, 'InvalidRequest');
      // Another room may reuse the name; a deleted webhook's name may be reused.
      const otherRoom = await createRoom(s.baseUrl, owner, 'Elsewhere');
      assert.equal((await call(s.baseUrl, 'POST', `/api/v1/rooms/${otherRoom}/webhooks`, { token: owner.token, body: { name: 'CI Bot' } })).status, 201);
      assert.equal((await api(owner, 'DELETE', `/webhooks/${first.body.id}`)).status, 204);
      const reused = await api(owner, 'POST', '/webhooks', { name: 'ci BOT' });
      assert.equal(reused.status, 201);
      for (const id of [reused.body.id, second.body.id, longest.body.id]) assert.equal((await api(owner, 'DELETE', `/webhooks/${id}`)).status, 204);
    });

    test('a room has at most 10 webhooks: the 11th → 409 WebhookLimitExceeded; deleting one frees a place', async () => {
      const room = await createRoom(s.baseUrl, owner, 'Ten');
      const make = (name: string) => call(s.baseUrl, 'POST', `/api/v1/rooms/${room}/webhooks`, { token: owner.token, body: { name } });
      const ids: string[] = [];
      for (let i = 1; i <= 10; i++) {
        const r = await make(`Hook ${i}`);
        assert.equal(r.status, 201);
        ids.push(r.body.id);
      }
      const eleventh = await make('Hook 11');
      expectError(eleventh, 409, 'WebhookLimitExceeded');
      assert.match(eleventh.body.Message, /10/);
      assert.equal((await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${room}/webhooks/${ids[0]}`, { token: owner.token })).status, 204);
      assert.equal((await make('Hook 11')).status, 201);
    });

    test('regenerate → same id, new URL; the old URL answers 404 and the new one posts', async () => {
      const w = (await api(owner, 'POST', '/webhooks', { name: 'Rotating' })).body;
      const r = await api(owner, 'POST', `/webhooks/${w.id}/regenerate`);
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.body).sort(), ['createdAt', 'failing', 'id', 'name', 'previousUrlValidUntil', 'settings', 'signingSecret', 'url']);
      assert.equal(r.body.id, w.id);
      assert.notEqual(r.body.url, w.url);
      const old = await postTo(w.url, 'old URL');
      assert.equal(old.status, 404);
      assert.equal(old.json.Code, 'WebhookNotFound');
      assert.equal((await postTo(r.body.url, 'new URL')).status, 200);
      assert.equal((await api(owner, 'GET', '/webhooks')).body.webhooks.find((x: { id: string }) => x.id === w.id).url, r.body.url);
      assert.equal((await api(owner, 'DELETE', `/webhooks/${w.id}`)).status, 204);
    });

    test('delete → 204; the URL answers 404; the webhook is gone from list and roster; acting on it again → 404', async () => {
      const w = (await api(owner, 'POST', '/webhooks', { name: 'Short-lived' })).body;
      assert.equal((await api(owner, 'DELETE', `/webhooks/${w.id}`)).status, 204);
      const res = await postTo(w.url, 'after delete');
      assert.equal(res.status, 404);
      assert.equal(res.json.Code, 'WebhookNotFound');
      assert.ok(!(await api(owner, 'GET', '/webhooks')).body.webhooks.some((x: { id: string }) => x.id === w.id));
      assert.ok(!(await api(member, 'GET', '/roster')).body.webhooks.some((x: { id: string }) => x.id === w.id));
      expectError(await api(owner, 'DELETE', `/webhooks/${w.id}`), 404, 'NotFound');
      expectError(await api(owner, 'PATCH', `/webhooks/${w.id}`, { name: 'again' }), 404, 'NotFound');
      expectError(await api(owner, 'POST', `/webhooks/${w.id}/regenerate`), 404, 'NotFound');
      expectError(await api(owner, 'DELETE', `/webhooks/${randomUUID()}`), 404, 'NotFound');
      expectError(await api(owner, 'DELETE', '/webhooks/not-a-uuid'), 400, 'InvalidRequest');
    });

    test('a webhook is managed only through its own room', async () => {
      const otherRoom = await createRoom(s.baseUrl, owner, 'Other');
      const w = (await call(s.baseUrl, 'POST', `/api/v1/rooms/${otherRoom}/webhooks`, { token: owner.token, body: { name: 'Elsewhere bot' } })).body;
      expectError(await api(owner, 'PATCH', `/webhooks/${w.id}`, { name: 'hijack' }), 404, 'NotFound');
      expectError(await api(owner, 'DELETE', `/webhooks/${w.id}`), 404, 'NotFound');
      expectError(await api(owner, 'POST', `/webhooks/${w.id}/regenerate`), 404, 'NotFound');
    });

    test('members see webhooks in the roster (id and name), never their URLs', async () => {
      const w = (await api(owner, 'POST', '/webhooks', { name: 'Visible bot' })).body;
      const roster = await api(member, 'GET', '/roster');
      assert.equal(roster.status, 200);
      assert.deepEqual(roster.body.webhooks.find((x: { id: string }) => x.id === w.id), { id: w.id, name: 'Visible bot' });
      for (const x of roster.body.webhooks) assert.deepEqual(Object.keys(x).sort(), ['id', 'name']);
      assert.ok(!JSON.stringify(roster.body).includes('token'));
      assert.equal((await api(owner, 'DELETE', `/webhooks/${w.id}`)).status, 204);
    });

    test('a renamed webhook posts under its new name; earlier posts keep the old one (SPEC 2.4)', async () => {
      const w = (await api(owner, 'POST', '/webhooks', { name: 'Old name' })).body;
      const first = await postTo(w.url, 'before the rename');
      const renamed = await api(owner, 'PATCH', `/webhooks/${w.id}`, { name: 'New name' });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.url, w.url, 'renaming keeps the URL');
      const second = await postTo(w.url, 'after the rename');
      assert.equal((await s.backend.store.getMessage(first.json.MessageId))?.sender.name, 'Old name');
      assert.equal((await s.backend.store.getMessage(second.json.MessageId))?.sender.name, 'New name');
      assert.equal((await api(owner, 'DELETE', `/webhooks/${w.id}`)).status, 204);
    });

    test('the OpenAPI document describes the management routes and the webhook endpoint', async () => {
      const doc = (await call(s.baseUrl, 'GET', '/api/v1/openapi.json')).body;
      const list = doc.paths['/api/v1/rooms/{roomId}/webhooks'];
      assert.ok(list.get.responses['200'] && list.post.responses['201'] && list.post.responses['409']);
      const listed = list.get.responses['200'].content['application/json'].schema;
      assert.deepEqual(Object.keys(listed.properties).sort(), ['publicUrl', 'publicUrlSet', 'webhooks']);
      assert.equal(listed.properties.publicUrlSet.type, 'boolean');
      assert.match(listed.properties.publicUrlSet.description, /PUBLIC_URL is not set/);
      assert.ok(list.post.requestBody.content['application/json'].schema.properties.name);
      const one = doc.paths['/api/v1/rooms/{roomId}/webhooks/{webhookId}'];
      assert.ok(one.patch.responses['200'] && one.delete.responses['204']);
      assert.ok(doc.paths['/api/v1/rooms/{roomId}/webhooks/{webhookId}/regenerate'].post.responses['200']);
      const endpoint = doc.paths['/incomingwebhooks/{webhookId}'].post;
      const schema = endpoint.requestBody.content['application/json'].schema;
      assert.match(schema.description, /\{"Content": "\.\.\."\}/);
      assert.ok(schema.properties.Content);
      assert.deepEqual(Object.keys(endpoint.responses['200'].content['application/json'].schema.properties).sort(), ['MessageId', 'RoomId']);
      for (const status of ['400', '403', '404', '405', '413', '429', '503']) assert.ok(endpoint.responses[status], status);
      // The extra routes (trailing slash, catch-alls, 405s) are not documented as separate operations.
      // The formats of issue 15 are operations of their own (formats/formats-http.test.ts checks them).
      assert.deepEqual(
        Object.keys(doc.paths).filter((p) => p.startsWith('/incomingwebhooks')).sort(),
        ['/incomingwebhooks/{webhookId}', ...['alertmanager', 'github', 'grafana', 'slack', 'sns'].map((f) => `/incomingwebhooks/{webhookId}/${f}`)],
      );
    });
  });

  describe(`WebhookService (${backend})`, () => {
    let b: BackendInstance;
    before(async () => {
      b = await openBackend(backend);
    });
    after(() => b.cleanup());

    test('publishes webhooks.changed after each change, and the server actor (CLI) may manage any room', async () => {
      const events: DomainEvent[] = [];
      const { config } = loadConfig({ DATA_DIR: b.dataDir, PUBLIC_URL: 'https://chat.example.com' });
      const ctx = { config, store: b.store, clock: { now: () => 1_000 }, presence: nobodyPresent, events: { publish: (e: DomainEvent) => events.push(e) } };
      const owner = await b.store.createUser({ id: randomUUID(), email: 'o@example.com', alias: 'o', displayName: 'O', passwordHash: 'x', isSystemAdmin: false, createdAt: 1 });
      const room = await b.store.createRoom({ id: randomUUID(), name: 'Events', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      const service = new WebhookService(ctx, Buffer.from(TEST_SECRET));
      const w = await service.create(SERVER_ACTOR, room.id, 'Evented');
      assert.ok(w.url.startsWith('https://chat.example.com/incomingwebhooks/'));
      await service.rename(SERVER_ACTOR, room.id, w.id, 'Renamed');
      await service.regenerate(SERVER_ACTOR, room.id, w.id);
      await service.delete(SERVER_ACTOR, room.id, w.id);
      assert.deepEqual(events, Array(4).fill({ type: 'webhooks.changed', roomId: room.id }));
      // Nothing token-like is stored: the row holds the id and a generation only.
      const row = await b.store.getWebhook(w.id);
      assert.deepEqual(Object.keys(row ?? {}).sort(), ['createdAt', 'createdBy', 'deletedAt', 'generation', 'id', 'name', 'previousValidUntil', 'roomId', 'settings']);
    });
  });
}
