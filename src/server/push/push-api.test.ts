/**
 * The Web Push API over real HTTP (issue 13), on every backend: the VAPID public key, saving and
 * removing one's own subscriptions, validation (known push services only, real P-256 keys), the
 * per-user cap, and authorization (401 anonymous, nobody touches another user's subscription).
 */
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { PushEndpoint } from '../../test-support/push-endpoint.js';
import { TEST_SECRET, type TestServer, type TestUser, call, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { MAX_SUBSCRIPTIONS_PER_USER } from './push-service.js';
import { deriveVapidKeys } from './vapid.js';

/** A subscription as Chrome would send it, to FCM, with real keys. */
function fcmSubscription(tag = randomBytes(8).toString('hex')) {
  return {
    endpoint: `https://fcm.googleapis.com/fcm/send/${tag}:APA91b${randomBytes(40).toString('base64url')}`,
    expirationTime: null,
    keys: { p256dh: createECDH('prime256v1').generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

for (const backend of availableBackends()) {
  describe(`push subscriptions API (${backend})`, () => {
    let s: TestServer;
    let endpoint: PushEndpoint;
    let admin: TestUser;
    let mary: TestUser;
    let john: TestUser;

    before(async () => {
      endpoint = await PushEndpoint.start();
      s = await startTestServer({ backend, env: { PUSH_ENDPOINT_HOSTS: endpoint.origin } });
      admin = await setupAdmin(s.baseUrl);
      mary = await createUser(s.baseUrl, admin, 'mary', 'Mary Major');
      john = await createUser(s.baseUrl, admin, 'john', 'John Doe');
    });
    after(async () => {
      await s?.close();
      await endpoint?.stop();
    });

    const post = (user: TestUser | undefined, body: unknown) => call(s.baseUrl, 'POST', '/api/v1/push-subscriptions', { token: user?.token, body });
    const del = (user: TestUser | undefined, endpointUrl: string) => call(s.baseUrl, 'DELETE', '/api/v1/push-subscriptions', { token: user?.token, body: { endpoint: endpointUrl } });
    const mine = async (user: TestUser) => (await s.backend.store.push.listSubscriptions(user.id)).map((x) => x.endpoint);

    test('GET /api/v1/push/public-key: the VAPID key derived from the secret (so every node has it); 401 anonymous', async () => {
      const anon = await call(s.baseUrl, 'GET', '/api/v1/push/public-key');
      assert.equal(anon.status, 401);
      assert.equal(anon.body.Code, 'Unauthorized');
      const r = await call(s.baseUrl, 'GET', '/api/v1/push/public-key', { token: mary.token });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { publicKey: deriveVapidKeys(Buffer.from(TEST_SECRET, 'utf8')).publicKey });
      assert.equal(Buffer.from(r.body.publicKey, 'base64url').length, 65);
      // The private key is never in a log line.
      const { privateKey } = deriveVapidKeys(Buffer.from(TEST_SECRET, 'utf8'));
      assert.ok(!s.logs.some((l) => l.includes(privateKey)));
    });

    test('a user saves a subscription (201), the same again refreshes it (200); several devices each count', async () => {
      const phone = endpoint.subscribe().json;
      const r = await post(mary, phone);
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(Object.keys(r.body.subscription).sort(), ['createdAt', 'endpoint', 'expirationTime', 'id']);
      assert.equal(r.body.subscription.endpoint, phone.endpoint);
      assert.equal(r.body.subscription.expirationTime, null);
      const newKeys = { ...phone, keys: { ...endpoint.subscribe().json.keys } };
      const again = await post(mary, newKeys);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.subscription.id, r.body.subscription.id);
      const stored = await s.backend.store.push.listSubscriptions(mary.id);
      assert.equal(stored.length, 1);
      assert.equal(stored[0]!.p256dh, newKeys.keys.p256dh, 'the refreshed keys are kept');
      const laptop = fcmSubscription();
      assert.equal((await post(mary, laptop)).status, 201);
      assert.deepEqual((await mine(mary)).sort(), [phone.endpoint, laptop.endpoint].sort());
    });

    test('only known push services: anything else is 400 with the allowed hosts, and nothing is stored', async () => {
      const before = await mine(john);
      for (const bad of [
        'https://evil.example/push/1',
        'http://fcm.googleapis.com/fcm/send/x',
        'http://127.0.0.1:1/push/1',
        `${endpoint.origin.replace(/\d+$/, String(endpoint.port + 1))}/push/1`,
        'https://169.254.169.254/latest/meta-data',
        'not a url',
      ]) {
        const r = await post(john, { ...fcmSubscription(), endpoint: bad });
        assert.equal(r.status, 400, `${bad}: ${r.text}`);
        assert.equal(r.body.Code, 'InvalidRequest');
        assert.match(r.body.Message, /fcm\.googleapis\.com.*\*\.push\.services\.mozilla\.com.*\*\.push\.apple\.com.*\*\.notify\.windows\.com/);
        assert.match(r.body.Message, /PUSH_ENDPOINT_HOSTS/);
      }
      assert.deepEqual(await mine(john), before);
    });

    test('keys must be a real P-256 point (65 bytes) and a 16-byte auth secret; the body is PushSubscription.toJSON()', async () => {
      const good = fcmSubscription();
      const cases: [unknown, RegExp][] = [
        [{ ...good, keys: { ...good.keys, p256dh: randomBytes(33).toString('base64url') } }, /keys\.p256dh.*65 bytes/],
        [{ ...good, keys: { ...good.keys, p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url') } }, /keys\.p256dh/],
        [{ ...good, keys: { ...good.keys, auth: randomBytes(8).toString('base64url') } }, /keys\.auth.*16-byte/],
        [{ ...good, keys: { ...good.keys, auth: 'not base64!' } }, /auth/],
        [{ endpoint: good.endpoint }, /keys/],
        [{ ...good, extra: 1 }, /extra/],
        [{ ...good, expirationTime: 1000 }, /expirationTime is in the past/],
      ];
      for (const [body, message] of cases) {
        const r = await post(john, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.body.Code, 'InvalidRequest');
        assert.match(r.body.Message, message);
      }
      assert.deepEqual(await mine(john), []);
      // Padded base64url, as some libraries write it, is accepted.
      const padded = { ...good, keys: { p256dh: `${good.keys.p256dh}=`, auth: `${good.keys.auth}==` } };
      assert.equal((await post(john, padded)).status, 201);
      assert.equal((await del(john, good.endpoint)).status, 204);
    });

    test(`at most ${MAX_SUBSCRIPTIONS_PER_USER} per user: a new one replaces the one refreshed longest ago`, async () => {
      const ann = await createUser(s.baseUrl, admin, 'ann');
      const subs = Array.from({ length: MAX_SUBSCRIPTIONS_PER_USER }, () => fcmSubscription());
      for (const sub of subs) assert.equal((await post(ann, sub)).status, 201);
      // The first one is refreshed (its browser is alive): the second is now the stalest.
      assert.equal((await post(ann, subs[0])).status, 200);
      const extra = fcmSubscription();
      assert.equal((await post(ann, extra)).status, 201);
      const left = await mine(ann);
      assert.equal(left.length, MAX_SUBSCRIPTIONS_PER_USER);
      assert.ok(!left.includes(subs[1]!.endpoint));
      assert.ok(left.includes(subs[0]!.endpoint) && left.includes(extra.endpoint));
    });

    test('authorization: 401 anonymous; a user removes only their own (404 otherwise); a re-subscribed endpoint moves to its new user', async () => {
      const sub = fcmSubscription();
      assert.equal((await post(undefined, sub)).status, 401);
      assert.equal((await del(undefined, sub.endpoint)).status, 401);
      assert.equal((await post(mary, sub)).status, 201);
      const foreign = await del(john, sub.endpoint);
      assert.equal(foreign.status, 404, foreign.text);
      assert.equal(foreign.body.Code, 'NotFound');
      assert.ok((await mine(mary)).includes(sub.endpoint), "john cannot remove mary's subscription");
      // The same browser, now signed in as john, subscribes again: the device is john's now.
      assert.equal((await post(john, sub)).status, 201);
      assert.ok(!(await mine(mary)).includes(sub.endpoint));
      assert.ok((await mine(john)).includes(sub.endpoint));
      assert.equal((await del(john, sub.endpoint)).status, 204);
      assert.equal((await del(john, sub.endpoint)).status, 404);
      const bad = await call(s.baseUrl, 'DELETE', '/api/v1/push-subscriptions', { token: john.token, body: {} });
      assert.equal(bad.status, 400);
      assert.match(bad.body.Message, /endpoint/);
    });

    test('the OpenAPI document describes the push routes', async () => {
      const doc = (await call(s.baseUrl, 'GET', '/api/v1/openapi.json')).body;
      assert.ok(doc.paths['/api/v1/push/public-key']?.get);
      assert.ok(doc.paths['/api/v1/push-subscriptions']?.post?.requestBody);
      assert.ok(doc.paths['/api/v1/push-subscriptions']?.delete);
      assert.deepEqual(Object.keys(doc.paths['/api/v1/push-subscriptions'].post.responses).sort(), ['200', '201', '400', '401', '415']);
    });
  });
}
