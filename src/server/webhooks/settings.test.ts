/**
 * Per-webhook settings (issue 15) over real HTTP, on every storage backend: PATCH {name?, settings?}
 * within the server's bounds (WEBHOOK_MAX_RATE_PER_SECOND / WEBHOOK_MAX_BURST), who may change
 * them, their effect on the rate limit (429) and on @All / @Present (400 BroadcastNotAllowed), and
 * that a change reaches another node within the webhook cache's second.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, type RawResponse, type TestWebhook, createWebhook, portOf, rawRequest, storedMessages } from '../../test-support/webhooks.js';
import { ConfigError, loadConfig } from '../config.js';
import { LIVE_WEBHOOK_TTL_MS } from './webhook-service.js';

const DEFAULTS = { ratePerSecond: 1, burst: 1, allowBroadcastMentions: true };

test('config: WEBHOOK_MAX_RATE_PER_SECOND (10) and WEBHOOK_MAX_BURST (20), as variables and flags; the defaults must fit under them', () => {
  const plain = loadConfig({}).config;
  assert.deepEqual([plain.webhookMaxRatePerSecond, plain.webhookMaxBurst], [10, 20]);
  const set = loadConfig({ WEBHOOK_MAX_RATE_PER_SECOND: '2.5' }, ['--webhook-max-burst', '7']).config;
  assert.deepEqual([set.webhookMaxRatePerSecond, set.webhookMaxBurst], [2.5, 7]);
  // An unset maximum rises to a larger default, so an existing setting never becomes an error.
  const raised = loadConfig({ WEBHOOK_RATE_PER_SECOND: '50', WEBHOOK_BURST: '100' }).config;
  assert.deepEqual([raised.webhookMaxRatePerSecond, raised.webhookMaxBurst], [50, 100]);
  assert.throws(
    () => loadConfig({ WEBHOOK_RATE_PER_SECOND: '5', WEBHOOK_MAX_RATE_PER_SECOND: '2', WEBHOOK_BURST: '30', WEBHOOK_MAX_BURST: '0' }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.problems.some((p) => /WEBHOOK_RATE_PER_SECOND \(5\) is above WEBHOOK_MAX_RATE_PER_SECOND \(2\)/.test(p)) &&
      e.problems.some((p) => /WEBHOOK_MAX_BURST \(--webhook-max-burst\) must be a whole number of at least 1/.test(p)),
  );
  assert.throws(() => loadConfig({ WEBHOOK_BURST: '30', WEBHOOK_MAX_BURST: '20' }), /WEBHOOK_BURST \(30\) is above WEBHOOK_MAX_BURST \(20\)/);
});

for (const backend of availableBackends()) {
  describe(`webhook settings (${backend})`, () => {
    let s: TestServer;
    let clock: FakeClock;
    let admin: TestUser;
    let member: TestUser;
    let outsider: TestUser;
    let roomId: string;
    let n = 0;

    before(async () => {
      clock = new FakeClock();
      s = await startTestServer({ backend, clock });
      admin = await setupAdmin(s.baseUrl);
      member = await createUser(s.baseUrl, admin, 'member');
      outsider = await createUser(s.baseUrl, admin, 'outsider');
      roomId = await createRoom(s.baseUrl, admin, 'Settings');
      await addMember(s.baseUrl, admin, roomId, member);
    });
    after(() => s.close());

    /** A webhook in a room of its own (at most 10 per room); `member` is a member of the first. */
    const fresh = async (room?: string): Promise<TestWebhook & { roomId: string }> => {
      const r = room ?? (await createRoom(s.baseUrl, admin, `Settings ${++n}`));
      return { ...(await createWebhook(s, admin, r, `Hook ${++n}`)), roomId: r };
    };
    const patch = (w: { id: string; roomId: string }, body: unknown, who: TestUser | null = admin) =>
      call(s.baseUrl, 'PATCH', `/api/v1/rooms/${w.roomId}/webhooks/${w.id}`, { token: who?.token, body });
    const listed = async (w: { id: string; roomId: string }) =>
      (await call(s.baseUrl, 'GET', `/api/v1/rooms/${w.roomId}/webhooks`, { token: admin.token })).body.webhooks.find((x: { id: string }) => x.id === w.id);
    const post = (w: Pick<TestWebhook, 'path'>, content: string, server = s): Promise<RawResponse> =>
      rawRequest(portOf(server), { path: w.path, body: JSON.stringify({ Content: content }) });
    const expectInvalid = (r: { status: number; body: any; text: string }, message: RegExp) => {
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.Code, 'InvalidRequest');
      assert.match(r.body.Message, message);
    };

    test('a new webhook shows the server\'s defaults and no previous URL, in the list and in create\'s answer', async () => {
      const room = await createRoom(s.baseUrl, admin, 'Defaults');
      const created = await call(s.baseUrl, 'POST', `/api/v1/rooms/${room}/webhooks`, { token: admin.token, body: { name: 'Defaults bot' } });
      assert.equal(created.status, 201);
      assert.deepEqual(created.body.settings, DEFAULTS);
      assert.equal(created.body.previousUrlValidUntil, null);
      assert.deepEqual((await listed({ id: created.body.id, roomId: room })).settings, DEFAULTS);
    });

    test('PATCH settings: within the bounds → 200 with the webhook; over them → 400 InvalidRequest naming the maximum; nothing changes', async () => {
      const w = await fresh();
      const ok = await patch(w, { settings: { ratePerSecond: 2.5, burst: 20, allowBroadcastMentions: false } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.id, w.id);
      assert.equal(ok.body.url, w.url, 'settings keep the URL');
      assert.deepEqual(ok.body.settings, { ratePerSecond: 2.5, burst: 20, allowBroadcastMentions: false });
      expectInvalid(await patch(w, { settings: { ratePerSecond: 10.5 } }), /at most 10 posts per second.*WEBHOOK_MAX_RATE_PER_SECOND/);
      expectInvalid(await patch(w, { settings: { burst: 21 } }), /at most 20 posts.*WEBHOOK_MAX_BURST/);
      expectInvalid(await patch(w, { settings: { burst: 2.5 } }), /burst/);
      expectInvalid(await patch(w, { settings: { burst: 0 } }), /burst/);
      expectInvalid(await patch(w, { settings: { ratePerSecond: 0 } }), /ratePerSecond/);
      expectInvalid(await patch(w, { settings: { ratePerSecond: '5' } }), /ratePerSecond/);
      expectInvalid(await patch(w, { settings: { allowBroadcastMentions: 'no' } }), /allowBroadcastMentions/);
      expectInvalid(await patch(w, { settings: { rate: 5 } }), /unknown field 'rate'/);
      expectInvalid(await patch(w, { settings: { burst: 5 }, token: 'x' }), /unknown field 'token'/);
      // A name and settings in one PATCH; a name that is refused changes no setting either.
      const other = await createWebhook(s, admin, w.roomId, 'Taken name');
      const conflict = await patch(w, { name: 'taken NAME', settings: { burst: 3 } });
      assert.equal(conflict.status, 409, conflict.text);
      const both = await patch(w, { name: 'Renamed and tuned', settings: { burst: 4 } });
      assert.equal(both.status, 200, both.text);
      assert.equal(both.body.name, 'Renamed and tuned');
      assert.deepEqual((await listed(w)).settings, { ratePerSecond: 2.5, burst: 4, allowBroadcastMentions: false });
      assert.ok(other.id);
      // null: back to the server's defaults; {} changes nothing.
      const reset = await patch(w, { settings: { ratePerSecond: null, burst: null, allowBroadcastMentions: true } });
      assert.deepEqual(reset.body.settings, DEFAULTS);
      const same = await patch(w, {});
      assert.equal(same.status, 200);
      assert.deepEqual(same.body.settings, DEFAULTS);
    });

    test('authorization: anonymous 401, outsider 404, member 403, room administrator 200; the old name-only PATCH still works', async () => {
      const w = await fresh(roomId);
      const body = { settings: { burst: 5 } };
      const anonymous = await patch(w, body, null);
      assert.equal(anonymous.status, 401);
      const stranger = await patch(w, body, outsider);
      assert.equal(stranger.status, 404);
      assert.equal(stranger.body.Code, 'NotFound');
      const forbidden = await patch(w, body, member);
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.Code, 'Forbidden');
      assert.deepEqual((await listed(w)).settings, DEFAULTS, 'nothing changed');
      assert.equal((await patch(w, body)).status, 200);
      const renamed = await patch(w, { name: 'Only renamed' });
      assert.equal(renamed.status, 200);
      assert.deepEqual([renamed.body.name, renamed.body.settings.burst], ['Only renamed', 5]);
    });

    test('the rate: a webhook\'s own burst and rate decide its 429, at once; other webhooks keep the defaults', async () => {
      const w = await fresh();
      const plain = await fresh();
      clock.advance(10_000);
      assert.equal((await post(w, 'default 1')).status, 200);
      assert.equal((await post(w, 'default 2')).status, 429);
      assert.equal((await patch(w, { settings: { ratePerSecond: 5, burst: 3 } })).status, 200);
      clock.advance(1_000);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await post(w, `own ${i}`));
      assert.deepEqual(statuses.map((r) => r.status), [200, 200, 200, 429]);
      assert.match(statuses[3]!.json.Message, /More than 5 requests per second for this webhook/);
      assert.equal(statuses[3]!.headers['retry-after'], '1');
      assert.equal(statuses[3]!.headers['x-ratelimit-limit'], '3');
      clock.advance(200);
      assert.equal((await post(w, 'refilled at 5/s')).status, 200);
      assert.deepEqual([(await post(plain, 'p1')).status, (await post(plain, 'p2')).status], [200, 429]);
    });

    test('@All and @Present: refused with 400 BroadcastNotAllowed when the settings say so (also as a keyed update); allowed again at once', async () => {
      const w = await fresh();
      const off = await patch(w, { settings: { allowBroadcastMentions: false, burst: 20, ratePerSecond: 10 } });
      assert.equal(off.status, 200);
      for (const text of ['@All deploy starts', 'ping @present', 'hey @ALL']) {
        const r = await post(w, text);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.Code, 'BroadcastNotAllowed');
        assert.match(r.json.Message, /@All and @Present off in its settings/);
      }
      // Not mentions: inside code, an email address, another word.
      for (const text of ['`@All` in code', 'mail all@example.com']) assert.equal((await post(w, text)).status, 200, text);
      const keyed = await rawRequest(portOf(s), { path: w.path, body: JSON.stringify({ Content: 'fine', Key: 'k1' }) });
      assert.equal(keyed.status, 200);
      const escalated = await rawRequest(portOf(s), { path: w.path, body: JSON.stringify({ Content: '@All escalated', Key: 'k1' }) });
      assert.equal(escalated.status, 400);
      assert.equal(escalated.json.Code, 'BroadcastNotAllowed');
      const stored = (await storedMessages(s.backend.store, w.roomId)).map((m) => m.content);
      assert.deepEqual(stored, ['`@All` in code', 'mail all@example.com', 'fine'], 'nothing refused was stored');
      assert.equal((await patch(w, { settings: { allowBroadcastMentions: true } })).status, 200);
      assert.equal((await post(w, '@All deploy starts')).status, 200);
    });

    test('a lower maximum later caps the settings in effect (and what the webhook object shows)', async () => {
      const w = await fresh();
      assert.equal((await patch(w, { settings: { ratePerSecond: 8, burst: 15 } })).status, 200);
      const strict = await startTestServer({ sameDatabaseAs: s, clock, env: { WEBHOOK_MAX_RATE_PER_SECOND: '2', WEBHOOK_MAX_BURST: '4' } });
      try {
        const seen = await call(strict.baseUrl, 'GET', `/api/v1/rooms/${w.roomId}/webhooks`, { token: admin.token });
        assert.deepEqual(seen.body.webhooks[0].settings, { ratePerSecond: 2, burst: 4, allowBroadcastMentions: true });
        const r = await post(w, 'capped', strict);
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-ratelimit-limit'], '4');
        const refused = await call(strict.baseUrl, 'PATCH', `/api/v1/rooms/${w.roomId}/webhooks/${w.id}`, { token: admin.token, body: { settings: { burst: 5 } } });
        assert.equal(refused.status, 400);
        assert.match(refused.body.Message, /at most 4 posts/);
      } finally {
        await strict.close();
      }
    });

    test('two nodes: a change made on one reaches the other within the webhook cache\'s second', async () => {
      const w = await fresh();
      const other = await startTestServer({ sameDatabaseAs: s, clock });
      try {
        clock.advance(10_000);
        assert.equal((await post(w, 'warm the other node', other)).status, 200);
        assert.equal((await patch(w, { settings: { burst: 5, ratePerSecond: 1, allowBroadcastMentions: false } })).status, 200);
        // Within the cache's second, the other node may still use what it read.
        const stale = await post(w, 'still cached', other);
        assert.equal(stale.status, 429);
        assert.equal(stale.headers['x-ratelimit-limit'], '1');
        clock.advance(LIVE_WEBHOOK_TTL_MS);
        const fresh1 = await post(w, 'read again', other);
        assert.equal(fresh1.status, 200, fresh1.text);
        assert.equal(fresh1.headers['x-ratelimit-limit'], '5');
        clock.advance(2_000);
        const all = await post(w, '@All from the other node', other);
        assert.equal(all.status, 400);
        assert.equal(all.json.Code, 'BroadcastNotAllowed');
      } finally {
        await other.close();
      }
    });
  });
}
