/**
 * Failed sign-ins are limited per client address and per address and account (rate-limit/sign-in-throttle.ts):
 * past the budget, 429 with Retry-After before the password is checked; an account is never locked
 * for everyone; the budget refills; a security event is logged without any password.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SIGN_IN_FAILURES_PER_ACCOUNT, SIGN_IN_FAILURES_PER_ADDRESS } from '../rate-limit/sign-in-throttle.js';
import { type TestServer, type TestUser, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, portOf, rawRequest } from '../../test-support/webhooks.js';

const PASSWORD = 'correct horse battery';

describe('sign-in throttle', () => {
  let s: TestServer;
  let clock: FakeClock;
  let admin: TestUser;
  before(async () => {
    clock = new FakeClock();
    s = await startTestServer({ clock });
    admin = await setupAdmin(s.baseUrl);
  });
  after(() => s.close());

  const signIn = (address: string, email: string, password: string) =>
    rawRequest(portOf(s), { path: '/api/v1/auth/login', body: JSON.stringify({ email, password }), headers: { 'Content-Type': 'application/json' } }, { localAddress: address });

  test('one account from one address: 401 until the budget is spent, then 429 even with the right password; other addresses still sign in; it refills', async () => {
    const alice = await createUser(s.baseUrl, admin, 'alice');
    for (let i = 0; i < SIGN_IN_FAILURES_PER_ACCOUNT; i++) assert.equal((await signIn('127.0.0.2', alice.email, `wrong ${i}`)).status, 401);
    const refused = await signIn('127.0.0.2', alice.email, PASSWORD);
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.json.Code, 'Throttled');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.match(refused.json.Message, /failed sign-ins/);
    // Not locked for everyone: from another address, Alice signs in.
    assert.equal((await signIn('127.0.0.3', alice.email, PASSWORD)).status, 200);
    // The same address may still sign in to another account.
    const bob = await createUser(s.baseUrl, admin, 'bob');
    assert.equal((await signIn('127.0.0.2', bob.email, PASSWORD)).status, 200);
    // Five minutes later the pair's budget is back.
    clock.advance(5 * 60_000);
    assert.equal((await signIn('127.0.0.2', alice.email, PASSWORD)).status, 200);
  });

  test('one address guessing many accounts: 429 for every account from it once its budget is spent; X-Forwarded-For does not matter', async () => {
    const carol = await createUser(s.baseUrl, admin, 'carol');
    const before = s.logs.length;
    for (let i = 0; i < SIGN_IN_FAILURES_PER_ADDRESS; i++) assert.equal((await signIn('127.0.0.4', `nobody${i}@example.com`, 'guess')).status, 401);
    const refused = await signIn('127.0.0.4', carol.email, PASSWORD);
    assert.equal(refused.status, 429);
    assert.match(refused.json.Message, /from this address/);
    const forwarded = await rawRequest(
      portOf(s),
      { path: '/api/v1/auth/login', body: JSON.stringify({ email: carol.email, password: PASSWORD }), headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '203.0.113.9' } },
      { localAddress: '127.0.0.4' },
    );
    assert.equal(forwarded.status, 429);
    assert.equal((await signIn('127.0.0.5', carol.email, PASSWORD)).status, 200, 'other addresses are not affected');
    const events = s.logs.slice(before).join('').split('\n').filter((l) => l.includes('"securityEvent":"sign_in_failures"'));
    assert.equal(events.length, 1, 'one security event for the address');
    assert.match(events[0]!, /"address":"127\.0\.0\.4"/);
    assert.ok(!events[0]!.includes(PASSWORD) && !events[0]!.includes('guess'));
  });
});
