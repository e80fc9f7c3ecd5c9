/**
 * The format URLs over HTTP, on each storage backend (issue 15): every fixture posted as its sender
 * posts it (headers and bytes; SNS messages signed by a stand-in for SNS over loopback HTTPS, GitHub
 * deliveries with the webhook's signing secret) stores exactly its expected message; alerts that
 * resolve update their firing message; and the Chime URL's rules hold on every format — 403/404,
 * 429 with Retry-After, the body cap, the 50-member rule, nothing stored unless 200 — answered in
 * JSON {Code, Message}, or Slack's text where the sender is Slack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../../test-support/backends.js';
import { type FakeSns, type FormatFixture, fixtureBody, loadFormatFixtures, startFakeSns } from '../../../test-support/formats.js';
import { seedMembers } from '../../../test-support/seed.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../../test-support/server.js';
import { FakeClock, type RawResponse, type TestWebhook, createWebhook, portOf, rawRequest, regenerateWebhook, storedMessages } from '../../../test-support/webhooks.js';
import { signBody } from './github/signature.js';
import type { FormatName } from './types.js';

const byName = (format: FormatName, name: string): FormatFixture => {
  const f = loadFormatFixtures(format).find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${format}/${name}`);
  return f;
};

for (const backend of availableBackends()) {
  describe(`webhook formats over HTTP (${backend})`, () => {
    let s: TestServer;
    let sns: FakeSns;
    let clock: FakeClock;
    let admin: TestUser;
    let roomId: string;
    let hook: TestWebhook;
    let signingSecret: string;

    const urlOf = (h: TestWebhook, format: string, token = h.token) => `/incomingwebhooks/${h.id}/${format}?token=${token}`;

    /** One POST, a second after the last (the rate is 1 per second). */
    const post = (path: string, body: Buffer | string, headers: Record<string, string> = {}, advance = true): Promise<RawResponse> => {
      if (advance) clock.advance(1000);
      return rawRequest(portOf(s), { path, headers: { 'content-type': 'application/json', ...headers }, body });
    };

    /** The fixture as its sender would send it: its headers and its bytes. */
    const send = (h: TestWebhook, f: FormatFixture, body = fixtureBody(f), extra: Record<string, string> = {}) => post(urlOf(h, f.format), body, { ...f.headers, ...extra });

    const github = (h: TestWebhook, f: FormatFixture, secret = signingSecret) => {
      const body = fixtureBody(f);
      return send(h, f, body, { 'X-Hub-Signature-256': signBody(secret, body) });
    };

    /** An SNS fixture as SNS would deliver it now: fresh Timestamp, SubscribeURL on the stand-in, signed. */
    const snsBody = (f: FormatFixture, version: '1' | '2' = '1') => {
      const m: Record<string, unknown> = { ...f.body, Timestamp: new Date(clock.now()).toISOString(), SigningCertURL: sns.certUrl };
      if (typeof m.SubscribeURL === 'string') m.SubscribeURL = `https://${sns.host}/confirm?${(m.SubscribeURL as string).split('?')[1]}`;
      return Buffer.from(JSON.stringify(sns.sign(m, version)));
    };

    const count = async (room = roomId) => (await storedMessages(s.backend.store, room)).length;

    const jsonError = (r: RawResponse, status: number, code: string) => {
      assert.equal(r.status, status, r.text);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.equal(r.json.Code, code, r.text);
      assert.ok(r.json.Message.length > 20);
    };

    before(async () => {
      sns = await startFakeSns();
      clock = new FakeClock();
      s = await startTestServer({ backend, clock, formats: { sns: { extraHosts: [sns.host], ca: sns.ca } } });
      admin = await setupAdmin(s.baseUrl);
      roomId = await createRoom(s.baseUrl, admin, 'Alerts');
      hook = await createWebhook(s, admin, roomId, 'Senders');
      const list = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token });
      signingSecret = list.body.webhooks.find((w: { id: string }) => w.id === hook.id).signingSecret;
    });
    after(async () => {
      await s.close();
      await sns.close();
    });

    describe('Slack', () => {
      for (const f of loadFormatFixtures('slack')) {
        test(`${f.name} → ${f.expect.status ? `${f.expect.status} ${f.expect.slack}` : '200 ok, the message stored'}`, async () => {
          const n = await count();
          const r = await send(hook, f);
          assert.match(String(r.headers['content-type']), /^text\/plain/);
          if (f.expect.status) {
            assert.equal(r.status, f.expect.status);
            assert.equal(r.text, f.expect.slack);
            assert.equal(r.headers['x-carillon-code'], f.expect.Code);
            assert.ok(String(r.headers['x-carillon-message']).length > 20);
            assert.equal(await count(), n);
            return;
          }
          assert.equal(r.status, 200, r.text);
          assert.equal(r.text, 'ok');
          const stored = (await storedMessages(s.backend.store, roomId)).at(-1)!;
          assert.equal(await count(), n + 1);
          assert.equal(stored.content, f.expect.Content);
          assert.deepEqual(stored.sender, { type: 'webhook', id: hook.id, name: 'Senders' });
        });
      }

      test('errors are Slack\'s strings: invalid_token 403, no_service 404 (regenerated), rate_limited 429 with Retry-After, invalid_payload 400/413', async () => {
        const other = await createWebhook(s, admin, roomId, 'Slack errors');
        const body = '{"text": "hello"}';
        let r = await post(urlOf(other, 'slack', 'x'.repeat(72)), body);
        assert.deepEqual([r.status, r.text, r.headers['x-carillon-code']], [403, 'invalid_token', 'InvalidWebhook']);
        r = await post(`/incomingwebhooks/${other.id}/slack`, body);
        assert.deepEqual([r.status, r.text], [403, 'invalid_token']);
        assert.equal((await post(urlOf(other, 'slack'), body)).status, 200);
        r = await post(urlOf(other, 'slack'), body, {}, false);
        assert.deepEqual([r.status, r.text, r.headers['retry-after']], [429, 'rate_limited', '1']);
        r = await post(urlOf(other, 'slack'), 'not json');
        assert.deepEqual([r.status, r.text, r.headers['x-carillon-code']], [400, 'invalid_payload', 'InvalidPayload']);
        r = await post(urlOf(other, 'slack'), JSON.stringify({ text: 'x'.repeat(300 * 1024) }));
        assert.deepEqual([r.status, r.text, r.headers['x-carillon-code']], [413, 'invalid_payload', 'PayloadTooLarge']);
        assert.match(String(r.headers['x-carillon-message']), /262144 bytes \(256 KiB\)/);
        const renewed = await regenerateWebhook(s, admin, roomId, other.id);
        r = await post(urlOf(other, 'slack'), body);
        assert.deepEqual([r.status, r.text, r.headers['x-carillon-code']], [404, 'no_service', 'WebhookNotFound']);
        assert.equal((await post(urlOf(renewed, 'slack'), body)).text, 'ok');
      });

      test('text far over 4096 characters is cut with "…" and stored, not refused', async () => {
        const r = await post(urlOf(hook, 'slack'), JSON.stringify({ text: `*Log*\n${'line of a long build log\n'.repeat(1500)}` }));
        assert.equal(r.text, 'ok');
        const stored = (await storedMessages(s.backend.store, roomId)).at(-1)!;
        assert.ok([...stored.content].length <= 4096);
        assert.ok(stored.content.startsWith('/md **Log**\n'));
        assert.ok(stored.content.endsWith('\n…'));
      });

      test('the trailing-slash URL works too; GET is 405 JSON; an unknown format is 403 JSON', async () => {
        assert.equal((await post(`/incomingwebhooks/${hook.id}/slack/?token=${hook.token}`, '{"text":"slash"}')).text, 'ok');
        const get = await rawRequest(portOf(s), { method: 'GET', path: urlOf(hook, 'slack') });
        jsonError(get, 405, 'MethodNotAllowed');
        jsonError(await post(urlOf(hook, 'teams'), '{"text":"x"}'), 403, 'InvalidWebhook');
      });
    });

    describe('the 50-member rule applies to every format', () => {
      let bigRoom: string;
      let bigHook: TestWebhook;
      before(async () => {
        bigRoom = await createRoom(s.baseUrl, admin, 'Everyone');
        await seedMembers(s.backend.store, bigRoom, 50, 'big');
        bigHook = await createWebhook(s, admin, bigRoom, 'Broadcaster');
      });
      test('<!channel> from Slack → 400 action_prohibited; @all in an alert annotation → 400 TooManyMembers JSON; nothing stored', async () => {
        const r = await post(urlOf(bigHook, 'slack'), '{"text": "<!channel> deploy"}');
        assert.deepEqual([r.status, r.text, r.headers['x-carillon-code']], [400, 'action_prohibited', 'TooManyMembers']);
        const alert = structuredClone(byName('alertmanager', 'single-alert').body!) as { alerts: { annotations: Record<string, string> }[] };
        alert.alerts[0]!.annotations.description = '@all the disk is full';
        jsonError(await post(urlOf(bigHook, 'alertmanager'), JSON.stringify(alert)), 400, 'TooManyMembers');
        assert.equal(await count(bigRoom), 0);
        // Without a broadcast, the same senders post.
        assert.equal((await post(urlOf(bigHook, 'slack'), '{"text": "deploy"}')).text, 'ok');
      });
    });

    describe('Alertmanager', () => {
      test('firing → a message; partly resolved and resolved update that same message (by groupKey)', async () => {
        const n = await count();
        const firing = await send(hook, byName('alertmanager', 'firing'));
        assert.equal(firing.status, 200, firing.text);
        assert.deepEqual(Object.keys(firing.json).sort(), ['MessageId', 'RoomId']);
        assert.equal(firing.json.RoomId, roomId);
        assert.equal((await s.backend.store.getMessage(firing.json.MessageId))?.content, byName('alertmanager', 'firing').expect.Content);
        for (const name of ['firing-partly-resolved', 'resolved']) {
          const r = await send(hook, byName('alertmanager', name));
          assert.equal(r.status, 200, r.text);
          assert.equal(r.json.MessageId, firing.json.MessageId, `${name} updates the firing message`);
          assert.equal((await s.backend.store.getMessage(firing.json.MessageId))?.content, byName('alertmanager', name).expect.Content);
        }
        assert.equal(await count(), n + 1);
        const single = await send(hook, byName('alertmanager', 'single-alert'));
        assert.notEqual(single.json.MessageId, firing.json.MessageId);
        assert.equal(await count(), n + 2);
      });

      test('its body may be larger than a Chime post (a 200 KiB group), up to 1 MiB; beyond → 413 JSON', async () => {
        const base = byName('alertmanager', 'firing').body as { alerts: unknown[] };
        const alerts = Array.from({ length: 200 }, (_, i) => ({ ...(base.alerts[0] as object), fingerprint: `fp${i}`, labels: { alertname: 'Big', instance: `i-${i}`, padding: 'p'.repeat(900) } }));
        const big = JSON.stringify({ ...base, groupKey: '{}:{alertname="Big"}', alerts });
        assert.ok(big.length > 150 * 1024 && big.length < 1024 * 1024);
        const r = await post(urlOf(hook, 'alertmanager'), big);
        assert.equal(r.status, 200, r.text);
        const stored = await s.backend.store.getMessage(r.json.MessageId);
        assert.ok([...stored!.content].length <= 4096);
        jsonError(await post(urlOf(hook, 'alertmanager'), JSON.stringify({ ...base, alerts: Array.from({ length: 1200 }, () => alerts[0]) })), 413, 'PayloadTooLarge');
      });

      test('not an Alertmanager payload → 400 InvalidPayload; a wrong token → 403 before the body is read', async () => {
        jsonError(await post(urlOf(hook, 'alertmanager'), '{"Content": "hello"}'), 400, 'InvalidPayload');
        jsonError(await post(urlOf(hook, 'alertmanager', 'A'.repeat(72)), '{}'), 403, 'InvalidWebhook');
      });
    });

    describe('Grafana', () => {
      test('firing → a message, resolved updates it; the legacy payload posts its own', async () => {
        const firing = await send(hook, byName('grafana', 'firing'));
        assert.equal(firing.status, 200, firing.text);
        const resolved = await send(hook, byName('grafana', 'resolved'));
        assert.equal(resolved.json.MessageId, firing.json.MessageId);
        assert.equal((await s.backend.store.getMessage(firing.json.MessageId))?.content, byName('grafana', 'resolved').expect.Content);
        const legacy = await send(hook, byName('grafana', 'legacy-alerting'));
        assert.equal(legacy.status, 200);
        assert.equal((await s.backend.store.getMessage(legacy.json.MessageId))?.content, byName('grafana', 'legacy-alerting').expect.Content);
      });
    });

    describe('Amazon SNS', () => {
      test('SubscriptionConfirmation: confirmed by GET SubscribeURL, and a notice posted', async () => {
        const f = byName('sns', 'subscription-confirmation');
        const seen = sns.requests.length;
        const r = await send(hook, f, snsBody(f));
        assert.equal(r.status, 200, r.text);
        assert.ok(sns.requests.slice(seen).some((u) => u.startsWith('/confirm?Action=ConfirmSubscription&TopicArn=')), 'SubscribeURL was fetched');
        assert.equal((await s.backend.store.getMessage(r.json.MessageId))?.content, f.expect.Content);
      });

      test('a CloudWatch ALARM posts; its OK (same alarm ARN) updates that message; SignatureVersion 2 works too', async () => {
        const alarm = await send(hook, byName('sns', 'cloudwatch-alarm'), snsBody(byName('sns', 'cloudwatch-alarm')));
        assert.equal(alarm.status, 200, alarm.text);
        assert.equal((await s.backend.store.getMessage(alarm.json.MessageId))?.content, byName('sns', 'cloudwatch-alarm').expect.Content);
        const ok = await send(hook, byName('sns', 'cloudwatch-ok'), snsBody(byName('sns', 'cloudwatch-ok'), '2'));
        assert.equal(ok.json.MessageId, alarm.json.MessageId);
        assert.equal((await s.backend.store.getMessage(alarm.json.MessageId))?.content, byName('sns', 'cloudwatch-ok').expect.Content);
      });

      for (const name of ['plain-notification', 'json-notification', 'unsubscribe-confirmation']) {
        test(`${name} → its message`, async () => {
          const f = byName('sns', name);
          const r = await send(hook, f, snsBody(f));
          assert.equal(r.status, 200, r.text);
          assert.equal((await s.backend.store.getMessage(r.json.MessageId))?.content, f.expect.Content);
        });
      }

      test('SNS retrying a delivery (same MessageId, signed again) answers the first post and stores nothing', async () => {
        const f = byName('sns', 'json-notification');
        const retried = { ...f, body: { ...f.body, MessageId: 'e0f5b1c2-5d3a-4c8e-9b7f-2a1d3c4e5f60' } };
        const first = await send(hook, retried, snsBody(retried));
        assert.equal(first.status, 200, first.text);
        const n = await count();
        const again = await send(hook, retried, snsBody(retried));
        assert.equal(again.status, 200, again.text);
        assert.deepEqual(again.json, first.json);
        assert.equal(again.headers['idempotent-replayed'], 'true');
        assert.equal(await count(), n);
      });

      test('forged, replayed or unsigned messages → 403 / 400 JSON, nothing stored, no certificate fetched from elsewhere', async () => {
        const f = byName('sns', 'plain-notification');
        const n = await count();
        const forged = JSON.parse(snsBody(f).toString()) as Record<string, unknown>;
        forged.Message = 'Backup FAILED, run rm -rf';
        jsonError(await send(hook, f, Buffer.from(JSON.stringify(forged))), 403, 'InvalidWebhook');
        const stale = JSON.parse(snsBody(f).toString()) as Record<string, unknown>;
        clock.advance(2 * 3600_000);
        jsonError(await send(hook, f, Buffer.from(JSON.stringify(stale))), 403, 'InvalidWebhook');
        // A certificate URL that is not SNS's is refused before anything is fetched.
        const elsewhere = { ...f.body, Timestamp: new Date(clock.now()).toISOString(), SigningCertURL: 'https://evil.example/cert.pem' };
        jsonError(await send(hook, f, Buffer.from(JSON.stringify(elsewhere))), 403, 'InvalidWebhook');
        jsonError(await send(hook, f, Buffer.from(JSON.stringify({ alarm: 'raw message delivery' }))), 400, 'InvalidPayload');
        const mismatched = snsBody(f);
        jsonError(await send(hook, f, mismatched, { 'x-amz-sns-message-type': 'SubscriptionConfirmation' }), 400, 'InvalidPayload');
        assert.equal(await count(), n);
      });
    });

    describe('GitHub', () => {
      test('the webhook object carries a signingSecret (64 hex digits) for room administrators; regenerating changes it', async () => {
        assert.match(signingSecret, /^[0-9a-f]{64}$/);
        const other = await createWebhook(s, admin, roomId, 'GitHub rotate');
        const created = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token });
        const before = created.body.webhooks.find((w: { id: string }) => w.id === other.id).signingSecret;
        const regen = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks/${other.id}/regenerate`, { token: admin.token });
        assert.match(regen.body.signingSecret, /^[0-9a-f]{64}$/);
        assert.notEqual(regen.body.signingSecret, before);
        const renewed = { ...other, token: new URL(regen.body.url).searchParams.get('token')! };
        const f = byName('github', 'push');
        jsonError(await github(renewed, f, before), 403, 'InvalidWebhook');
        assert.equal((await github(renewed, f, regen.body.signingSecret)).status, 200);
      });

      test('regenerated with overlap: each URL goes with its own secret (the old URL with the old secret, the new with the new)', async () => {
        const other = await createWebhook(s, admin, roomId, 'GitHub overlap');
        const list = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token });
        const oldSecret = list.body.webhooks.find((w: { id: string }) => w.id === other.id).signingSecret;
        const regen = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks/${other.id}/regenerate`, { token: admin.token, body: { keepOldUrlForHours: 1 } });
        assert.equal(regen.status, 200, regen.text);
        const renewed = { ...other, token: new URL(regen.body.url).searchParams.get('token')! };
        const f = byName('github', 'release-published');
        assert.equal((await github(other, f, oldSecret)).status, 200, 'old URL, old secret');
        jsonError(await github(other, f, regen.body.signingSecret), 403, 'InvalidWebhook');
        assert.equal((await github(renewed, f, regen.body.signingSecret)).status, 200, 'new URL, new secret');
        jsonError(await github(renewed, f, oldSecret), 403, 'InvalidWebhook');
      });

      for (const f of loadFormatFixtures('github')) {
        test(`${f.name} → ${f.expect.Note ? '200 with a note, nothing posted' : '200, the message stored'}`, async () => {
          const n = await count();
          const r = await github(hook, f);
          assert.equal(r.status, 200, r.text);
          assert.match(String(r.headers['content-type']), /^application\/json/);
          assert.equal(r.json.RoomId, roomId);
          if (f.expect.Note) {
            assert.deepEqual(r.json, { MessageId: null, RoomId: roomId, Note: f.expect.Note });
            assert.equal(await count(), n);
            return;
          }
          assert.equal((await s.backend.store.getMessage(r.json.MessageId))?.content, f.expect.Content);
          assert.equal(await count(), n + 1);
        });
      }

      test('a redelivery (same X-GitHub-Delivery) answers the first post and stores nothing; a new delivery id posts again', async () => {
        const f = byName('github', 'issues-opened');
        const delivery = (id: string) => ({ ...f, headers: { ...f.headers, 'X-GitHub-Delivery': id } });
        const first = await github(hook, delivery('5b0e1a9c-8d7f-11ef-9a3b-0242ac120002'));
        assert.equal(first.status, 200, first.text);
        const n = await count();
        const again = await github(hook, delivery('5b0e1a9c-8d7f-11ef-9a3b-0242ac120002'));
        assert.deepEqual(again.json, first.json);
        assert.equal(again.headers['idempotent-replayed'], 'true');
        assert.equal(await count(), n);
        const other = await github(hook, delivery('6c1f2bad-8d7f-11ef-9a3b-0242ac120002'));
        assert.notEqual(other.json.MessageId, first.json.MessageId);
        assert.equal(await count(), n + 1);
      });

      test('a missing or wrong X-Hub-Signature-256 → 403 InvalidWebhook, nothing stored; a form-encoded delivery is signed over its bytes', async () => {
        const f = byName('github', 'push');
        const n = await count();
        jsonError(await send(hook, f), 403, 'InvalidWebhook');
        const body = fixtureBody(f);
        jsonError(await send(hook, f, body, { 'X-Hub-Signature-256': signBody('not the secret', body) }), 403, 'InvalidWebhook');
        jsonError(await send(hook, f, Buffer.from(`${body} `), { 'X-Hub-Signature-256': signBody(signingSecret, body) }), 403, 'InvalidWebhook');
        assert.equal(await count(), n);
        const form = Buffer.from(`payload=${encodeURIComponent(body.toString())}`);
        const r = await send(hook, f, form, { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Hub-Signature-256': signBody(signingSecret, form) });
        assert.equal(r.status, 200, r.text);
        assert.equal((await s.backend.store.getMessage(r.json.MessageId))?.content, f.expect.Content);
      });
    });

    test('the OpenAPI document lists each format URL', async () => {
      const doc = (await call(s.baseUrl, 'GET', '/api/v1/openapi.json')).body;
      for (const format of ['slack', 'sns', 'alertmanager', 'grafana', 'github']) {
        const op = doc.paths[`/incomingwebhooks/{webhookId}/${format}`]?.post;
        assert.ok(op, format);
        assert.ok(op.responses['200'] && op.responses['403'] && op.responses['429'], format);
      }
      const list = doc.paths['/api/v1/rooms/{roomId}/webhooks'].get.responses['200'].content['application/json'].schema;
      assert.ok(list.properties.webhooks.items.properties.signingSecret);
    });
  });
}
