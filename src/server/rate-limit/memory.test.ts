import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../test-support/webhooks.js';
import { MemoryRateLimiter, OncePerKey, type RateDecision } from './memory.js';

/** The decision without its header numbers (tested on their own below). */
const okOf = (d: RateDecision) => (d.ok ? { ok: true } : { ok: false, retryAfterSeconds: d.retryAfterSeconds });

test('capacity 1, refill 1/s: one request per second; Retry-After rounds up to whole seconds', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1 });
  assert.deepEqual(okOf(await rl.take('w')), { ok: true });
  assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
  clock.advance(999);
  assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
  clock.advance(1);
  assert.deepEqual(okOf(await rl.take('w')), { ok: true });
});

test('a refused request spends nothing: waiting Retry-After is always enough', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1 });
  await rl.take('w');
  for (let i = 0; i < 5; i++) assert.equal((await rl.take('w')).ok, false);
  clock.advance(1000);
  assert.equal((await rl.take('w')).ok, true);
});

test('keys have separate buckets', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1 });
  assert.equal((await rl.take('a')).ok, true);
  assert.equal((await rl.take('b')).ok, true);
  assert.equal((await rl.take('a')).ok, false);
});

test('WEBHOOK_BURST allows a burst, then the refill rate holds', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 2, burst: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await rl.take('w')).ok, true);
  assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
  clock.advance(500);
  assert.equal((await rl.take('w')).ok, true);
  assert.equal((await rl.take('w')).ok, false);
  clock.advance(10_000);
  for (let i = 0; i < 3; i++) assert.equal((await rl.take('w')).ok, true, 'the bucket never holds more than its capacity');
  assert.equal((await rl.take('w')).ok, false);
});

test('a slow rate gives a longer Retry-After, never below 1', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 0.25, burst: 1 });
  await rl.take('w');
  assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 4 });
  clock.advance(3_500);
  assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
});

test('a clock that steps backwards refills nothing and drains nothing', async () => {
  const clock = new FakeClock(10_000);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1 });
  await rl.take('w');
  clock.advance(-5_000);
  assert.equal((await rl.take('w')).ok, false);
  clock.advance(6_000);
  assert.equal((await rl.take('w')).ok, true);
});

test('memory stays bounded: buckets that have refilled are forgotten', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1, maxKeys: 100 });
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 100; i++) await rl.take(`round${round}-key${i}`);
    clock.advance(1_000);
  }
  assert.ok(rl.size <= 200, `${rl.size} buckets kept`);
  // Forgetting a full bucket changes no answer: a recent key is still limited.
  await rl.take('recent');
  assert.equal((await rl.take('recent')).ok, false);
});

test('peek answers what take would, without spending a token', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 0.5, burst: 2 });
  for (let i = 0; i < 5; i++) assert.deepEqual(okOf(rl.peek('k')), { ok: true });
  await rl.take('k');
  await rl.take('k');
  assert.deepEqual(okOf(rl.peek('k')), { ok: false, retryAfterSeconds: 2 });
  assert.deepEqual(okOf(await rl.take('k')), { ok: false, retryAfterSeconds: 2 });
  clock.advance(2_000);
  assert.deepEqual(okOf(rl.peek('k')), { ok: true });
});

test('OncePerKey: at most once per interval per key; keys are independent', () => {
  const clock = new FakeClock(0);
  const once = new OncePerKey(clock, 60_000);
  assert.equal(once.allow('a'), true);
  assert.equal(once.allow('a'), false);
  assert.equal(once.allow('b'), true);
  clock.advance(59_999);
  assert.equal(once.allow('a'), false);
  clock.advance(1);
  assert.equal(once.allow('a'), true);
});

// ---- issue 15: the numbers behind X-RateLimit-*, and per-webhook limits ----

test('limit, remaining and reset across a burst, a refusal and the refill', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 3 });
  const state = (d: RateDecision) => [d.ok, d.limit, d.remaining, d.resetSeconds];
  assert.deepEqual(state(await rl.take('w')), [true, 3, 2, 1]);
  assert.deepEqual(state(await rl.take('w')), [true, 3, 1, 2]);
  assert.deepEqual(state(await rl.take('w')), [true, 3, 0, 3]);
  const refused = await rl.take('w');
  assert.deepEqual(state(refused), [false, 3, 0, 3]);
  assert.equal(!refused.ok && refused.retryAfterSeconds, 1);
  clock.advance(500);
  // Half a token: still nothing to spend; the bucket is full in 2.5 s, said as 3.
  assert.deepEqual(state(await rl.take('w')), [false, 3, 0, 3]);
  clock.advance(500);
  assert.deepEqual(state(await rl.take('w')), [true, 3, 0, 3]);
  clock.advance(60_000);
  assert.deepEqual(state(rl.peek('w')), [true, 3, 3, 0], 'a full bucket resets in 0 s');
});

test('per-call limits: a webhook\'s own rate and burst; a smaller burst caps what the bucket holds at once', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1 });
  const own = { ratePerSecond: 2, burst: 5 };
  for (let i = 4; i >= 0; i--) assert.deepEqual([(await rl.take('w', own)).remaining], [i]);
  const refused = await rl.take('w', own);
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.retryAfterSeconds, 1, '1 token at 2/s: half a second, said as 1');
  assert.equal(refused.resetSeconds, 3, '5 tokens at 2/s');
  clock.advance(10_000);
  const smaller = await rl.take('w', { ratePerSecond: 2, burst: 2 });
  assert.deepEqual([smaller.ok, smaller.limit, smaller.remaining], [true, 2, 1]);
  // Other keys keep the limiter's own limits.
  assert.deepEqual([(await rl.take('other')).limit, (await rl.take('other')).ok], [1, false]);
  await assert.rejects(rl.take('w', { ratePerSecond: 0, burst: 1 }), /ratePerSecond/);
});

test('forgetting full buckets uses each bucket\'s own rate: a slow webhook is not refilled by a sweep', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1, maxKeys: 10 });
  const slow = { ratePerSecond: 0.01, burst: 1 };
  assert.equal((await rl.take('slow', slow)).ok, true);
  clock.advance(5_000);
  for (let i = 0; i < 30; i++) await rl.take(`filler${i}`);
  const again = await rl.take('slow', slow);
  assert.equal(again.ok, false, 'at 0.01/s, 5 s refill only 0.05 of a token');
  assert.equal(!again.ok && again.retryAfterSeconds, 95);
});
