/**
 * Web Push pieces that need no server (issue 13): VAPID keys from the secret, the endpoint policy
 * (SSRF), the plain-text preview, who gets a push, the retry decisions, and the configuration.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import type { NotifyLevel } from '../../shared/api-types.js';
import { ConfigError, loadConfig, optionsHelp } from '../config.js';
import { renderMessage } from '../render/index.js';
import { EndpointPolicy, parseEndpointRule } from './endpoint-policy.js';
import { messagePath, previewText, senderLabel, truncate } from './payload.js';
import { planPushes } from './recipients.js';
import { type RetryPolicy, decide, parseRetryAfter } from './retry.js';
import { deriveVapidKeys } from './vapid.js';

describe('VAPID keys derived from the server secret', () => {
  const secret = Buffer.from('a-server-secret-of-at-least-32-characters!!', 'utf8');

  test('the same secret gives the same key pair on every node; another secret another one', () => {
    const a = deriveVapidKeys(secret);
    const b = deriveVapidKeys(Buffer.from(secret));
    assert.equal(a.publicKey, b.publicKey);
    assert.equal(a.privateKey, b.privateKey);
    assert.notEqual(deriveVapidKeys(Buffer.from('another-secret-of-at-least-32-characters!!!')).publicKey, a.publicKey);
  });

  test('a valid P-256 pair: 65-byte uncompressed public point, and the private key signs for it', () => {
    const keys = deriveVapidKeys(secret);
    const pub = Buffer.from(keys.publicKey, 'base64url');
    assert.equal(pub.length, 65);
    assert.equal(pub[0], 4);
    assert.equal(Buffer.from(keys.privateKey, 'base64url').length, 32);
    const x = pub.subarray(1, 33).toString('base64url');
    const y = pub.subarray(33).toString('base64url');
    const privateKey = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x, y, d: keys.privateKey }, format: 'jwk' });
    const signature = sign('sha256', Buffer.from('hello'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
    assert.ok(verify('sha256', Buffer.from('hello'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature));
  });

  test('the private key never shows in a log or JSON of the keys', () => {
    const keys = deriveVapidKeys(secret);
    assert.ok(!JSON.stringify(keys).includes(keys.privateKey));
    assert.deepEqual(Object.keys(keys), ['publicKey']);
  });
});

describe('push endpoint policy (SSRF)', () => {
  const policy = new EndpointPolicy(['http://127.0.0.1:9000', 'push.example.org']);
  const ok = (u: string) => policy.check(u).ok;

  test('the browsers\' push services over https are allowed', () => {
    assert.ok(ok('https://fcm.googleapis.com/fcm/send/abc:APA91b-xyz'));
    assert.ok(ok('https://fcm.googleapis.com/wp/abc'));
    assert.ok(ok('https://updates.push.services.mozilla.com/wpush/v2/gAAAA'));
    assert.ok(ok('https://web.push.apple.com/QGuQyavXutnMH'));
    assert.ok(ok('https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB%2b'));
    assert.ok(ok('https://push.example.org/x'), 'an extra host from PUSH_ENDPOINT_HOSTS');
    assert.ok(ok('http://127.0.0.1:9000/push/1'), 'an extra origin, http included');
  });

  test('anything else is refused: other hosts, http, other ports, look-alikes, credentials, internal addresses', () => {
    for (const u of [
      'http://fcm.googleapis.com/fcm/send/x',
      'https://fcm.googleapis.com:8443/fcm/send/x',
      'https://fcm.googleapis.com.evil.example/x',
      'https://evilfcm.googleapis.com/x',
      'https://push.apple.com/x',
      'https://user:pw@web.push.apple.com/x',
      'https://127.0.0.1/x',
      'http://127.0.0.1:9001/push/1',
      'http://169.254.169.254/latest/meta-data',
      'https://localhost/x',
      'file:///etc/passwd',
      'not a url',
      `https://fcm.googleapis.com/${'a'.repeat(2100)}`,
    ]) {
      assert.equal(ok(u), false, u);
    }
    assert.equal(policy.describe(), 'fcm.googleapis.com, *.push.services.mozilla.com, *.push.apple.com, *.notify.windows.com, http://127.0.0.1:9000, push.example.org');
  });

  test('PUSH_ENDPOINT_HOSTS entries are hosts, wildcards or origins', () => {
    assert.deepEqual(parseEndpointRule('push.example.com'), { kind: 'host', host: 'push.example.com' });
    assert.deepEqual(parseEndpointRule('*.example.com'), { kind: 'suffix', suffix: '.example.com' });
    assert.deepEqual(parseEndpointRule('http://127.0.0.1:9000'), { kind: 'origin', origin: 'http://127.0.0.1:9000' });
    for (const bad of ['*.com', 'https://x.example/path', 'ftp://x.example', 'a b', '*']) assert.equal(typeof parseEndpointRule(bad), 'string', bad);
  });
});

describe('push payload text', () => {
  const preview = (content: string) => previewText(renderMessage(content, []).html);

  test('Markdown and emoji read as on screen: "/md ## Deploy :rocket:" → "Deploy 🚀"', () => {
    assert.equal(preview('/md ## Deploy :rocket:'), 'Deploy 🚀');
    assert.equal(preview('/md **Build** _1234_ [passed](https://ci.example.com/1) :white_check_mark:'), 'Build 1234 passed ✅');
    assert.equal(preview('/md | a | b |\n|---|---|\n| 1 | 2 |'), 'a b 1 2');
    assert.equal(preview('/md ![the graph](https://example.com/g.png) below'), 'the graph below');
  });

  test('plain text keeps what was typed (entities decoded once), with whitespace collapsed', () => {
    assert.equal(preview('a < b && c > "d" &amp; :)'), 'a < b && c > "d" &amp; 😃');
    assert.equal(preview('line 1\n\n   line 2\ttab'), 'line 1 line 2 tab');
    assert.equal(preview('/code const x = <T>(a) => a;'), 'const x = <T>(a) => a;');
  });

  test('capped at 200 characters with "…", never splitting an emoji', () => {
    const long = preview('word '.repeat(100));
    assert.equal([...long].length, 200);
    assert.ok(long.endsWith('…'));
    const family = '👨‍👩‍👧'; // five code points, one grapheme
    const cut = truncate(`${'x'.repeat(197)}${family}${family}`, 200);
    assert.equal(cut, `${'x'.repeat(197)}…`);
    assert.equal(truncate('short', 200), 'short');
  });

  test('sender labels and the path that opens the room at the message', () => {
    assert.equal(senderLabel({ type: 'webhook', id: 'w', name: 'Deploy bot' }), 'Deploy bot (Webhook)');
    assert.equal(senderLabel({ type: 'user', id: 'u', name: 'Mary Major' }), 'Mary Major');
    assert.equal(messagePath('r-1', 42), '/rooms/r-1?seq=42');
  });
});

describe('who gets a push', () => {
  const sub = (userId: string, notify: NotifyLevel = 'mentions', muted = false) => ({ subscriptionId: `s-${userId}`, userId, notify, muted });
  const msg = (over: Partial<Parameters<typeof planPushes>[0]> = {}) => ({
    sender: { type: 'webhook' as const, id: 'hook', name: 'Bot' },
    mentions: { all: false, present: false, userIds: [] as string[] },
    ...over,
  });
  const who = (m: Parameters<typeof planPushes>[0], subs: ReturnType<typeof sub>[], present: string[] = []) =>
    planPushes(m, subs, new Set(present)).map((p) => `${p.userId}:${p.alert}`);

  test('a mentioned member who is not present; not a present one; not the unmentioned', () => {
    const m = msg({ mentions: { all: false, present: false, userIds: ['mary', 'john'] } });
    assert.deepEqual(who(m, [sub('mary'), sub('john'), sub('ann')], ['john']), ['mary:true']);
  });

  test('@All alerts every member; the author never gets their own message', () => {
    const m = msg({ sender: { type: 'user', id: 'mary', name: 'Mary' }, mentions: { all: true, present: false, userIds: [] } });
    assert.deepEqual(who(m, [sub('mary'), sub('john', 'all'), sub('ann')]), ['john:true', 'ann:true']);
  });

  test("an update that adds mentions (issue 14) pushes only whom it newly alerts: not those alerted before, not 'all' members", () => {
    // The version before named mary; the update adds @All.
    const m = msg({ mentions: { all: true, present: false, userIds: [] }, update: { alertedBefore: { mentions: { all: false, present: false, userIds: ['mary'] } } } });
    assert.deepEqual(who(m, [sub('mary'), sub('john'), sub('ann', 'all')]), ['john:true', 'ann:true']);
    // An update that adds john only: ann's 'all' setting does not make it a push for her.
    const j = msg({ mentions: { all: false, present: false, userIds: ['john'] }, update: { alertedBefore: { mentions: { all: false, present: false, userIds: [] } } } });
    assert.deepEqual(who(j, [sub('mary'), sub('john'), sub('ann', 'all')]), ['john:true']);
  });

  test('@Present alerts who was present at post time, so they get no push while still present', () => {
    const m = msg({ mentions: { all: false, present: true, userIds: [] }, presentAtPost: ['mary'] });
    assert.deepEqual(who(m, [sub('mary'), sub('john')], ['mary']), []);
    assert.deepEqual(who(m, [sub('mary'), sub('john')], []), ['mary:true'], 'left the room since');
  });

  test("'all' gets every message (not alerting), unless present; 'none' and muted get nothing, alerts included", () => {
    const plain = msg();
    assert.deepEqual(who(plain, [sub('mary', 'all'), sub('john'), sub('ann', 'all')], ['ann']), ['mary:false']);
    const mention = msg({ mentions: { all: true, present: false, userIds: ['mary', 'john'] } });
    assert.deepEqual(who(mention, [sub('mary', 'none'), sub('john', 'all', true), sub('ann', 'mentions', true)]), []);
  });
});

describe('retry decisions', () => {
  const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 5000, maxDelayMs: 60_000, maxAgeMs: 24 * 3600_000, random: () => 0.5 };
  const now = 1_000_000_000;
  const d = (attempts: number, createdAt = now) => ({ attempts, createdAt });

  test('2xx delivered; 404 and 410 gone; other 4xx dropped', () => {
    assert.deepEqual(decide({ kind: 'response', status: 201 }, d(1), now, policy), { action: 'delivered' });
    assert.deepEqual(decide({ kind: 'response', status: 410 }, d(1), now, policy), { action: 'gone', status: 410 });
    assert.deepEqual(decide({ kind: 'response', status: 404 }, d(1), now, policy), { action: 'gone', status: 404 });
    for (const status of [400, 401, 403, 413]) assert.equal(decide({ kind: 'response', status }, d(1), now, policy).action, 'dropped', String(status));
    assert.equal(decide({ kind: 'invalid', message: 'bad key' }, d(1), now, policy).action, 'dropped');
  });

  test('429 waits for Retry-After (seconds or an HTTP date); 503 and network errors back off exponentially with jitter', () => {
    assert.deepEqual(decide({ kind: 'response', status: 429, retryAfter: '120' }, d(1), now, policy), { action: 'retry', at: now + 120_000, reason: 'push service answered 429' });
    const date = new Date(Date.now() + 30_000).toUTCString();
    const r = decide({ kind: 'response', status: 503, retryAfter: date }, d(1), now, policy);
    assert.ok(r.action === 'retry' && r.at - now > 28_000 && r.at - now <= 30_000, JSON.stringify(r));
    const delays = [1, 2, 3, 4].map((attempts) => {
      const x = decide({ kind: 'error', message: 'network error ECONNREFUSED' }, d(attempts), now, policy);
      assert.equal(x.action, 'retry');
      return x.action === 'retry' ? x.at - now : 0;
    });
    assert.deepEqual(delays, [3750, 7500, 15_000, 30_000], 'base × 2^(n-1), three quarters of it with random() = 0.5');
    const capped = decide({ kind: 'response', status: 500 }, d(4), now, { ...policy, maxDelayMs: 10_000 });
    assert.ok(capped.action === 'retry' && capped.at - now <= 10_000);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  test('gives up after maxAttempts, or when the next try would be past the TTL', () => {
    assert.equal(decide({ kind: 'response', status: 503 }, d(5), now, policy).action, 'dropped');
    assert.equal(decide({ kind: 'response', status: 429, retryAfter: '3600' }, d(1, now - policy.maxAgeMs + 60_000), now, policy).action, 'dropped');
  });
});

describe('push configuration', () => {
  test('PUSH_SUBJECT defaults to an https PUBLIC_URL, else a mailto: at its host; it must be mailto: or https:', () => {
    assert.equal(loadConfig({ PUBLIC_URL: 'https://chat.example.com' }).config.pushSubject, 'https://chat.example.com');
    assert.equal(loadConfig({}).config.pushSubject, 'mailto:postmaster@localhost');
    assert.equal(loadConfig({ PUBLIC_URL: 'http://10.0.0.5:8080' }).config.pushSubject, 'mailto:postmaster@10.0.0.5');
    assert.equal(loadConfig({}, ['--push-subject', 'mailto:ops@example.com']).config.pushSubject, 'mailto:ops@example.com');
    assert.throws(() => loadConfig({ PUSH_SUBJECT: 'http://example.com' }), (e: unknown) => e instanceof ConfigError && /PUSH_SUBJECT \(--push-subject\) must be mailto:/.test(e.problems.join()));
  });

  test('PUSH_ENDPOINT_HOSTS is a comma list of hosts, wildcards and origins; each bad entry is reported', () => {
    assert.deepEqual(loadConfig({ PUSH_ENDPOINT_HOSTS: ' push.example.com, *.push.example.net ,http://127.0.0.1:9000' }).config.pushEndpointHosts, [
      'push.example.com',
      '*.push.example.net',
      'http://127.0.0.1:9000',
    ]);
    assert.deepEqual(loadConfig({}).config.pushEndpointHosts, []);
    assert.throws(
      () => loadConfig({ PUSH_ENDPOINT_HOSTS: 'ok.example.com,https://x.example/path,*' }),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 2 && e.problems.every((p) => p.startsWith('PUSH_ENDPOINT_HOSTS (--push-endpoint-hosts)')),
    );
  });

  test('carillon --help lists both options', () => {
    assert.match(optionsHelp(), /--push-subject <value>\s+PUSH_SUBJECT/);
    assert.match(optionsHelp(), /--push-endpoint-hosts <value>\s+PUSH_ENDPOINT_HOSTS/);
  });
});
