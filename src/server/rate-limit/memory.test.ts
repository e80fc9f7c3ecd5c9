/**
 * What only the in-process bucket does; the behaviour both limiters share is in contract.test.ts.
 * With a FakeClock, refills are exact to the millisecond, memory stays bounded, and `peek` (used
 * by the sign-in throttle) answers without spending.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../test-support/webhooks.js';
import { MemoryRateLimiter } from './memory.js';
import type { RateDecision } from './types.js';

/** The decision without its header numbers. */
const okOf = (d: RateDecision) => (d.ok ? { ok: true } : { ok: false, retryAfterSeconds: d.retryAfterSeconds });

test('the refill is exact to the millisecond: 999 ms after a refusal at 1/s, still refused; at 1000 ms, granted', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1 });
  assert.deepEqual(okOf(await rl.take('w')), { ok: true });
  assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
  clock.advance(999);
  assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
  clock.advance(1);
  assert.deepEqual(okOf(await rl.take('w')), { ok: true });
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

test('peek answers what take would, without spending a token; a full bucket resets in 0 s', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 0.5, burst: 2 });
  for (let i = 0; i < 5; i++) assert.deepEqual(okOf(rl.peek('k')), { ok: true });
  await rl.take('k');
  await rl.take('k');
  assert.deepEqual(okOf(rl.peek('k')), { ok: false, retryAfterSeconds: 2 });
  assert.deepEqual(okOf(await rl.take('k')), { ok: false, retryAfterSeconds: 2 });
  clock.advance(2_000);
  assert.deepEqual(okOf(rl.peek('k')), { ok: true });
  clock.advance(60_000);
  const full = rl.peek('k');
  assert.deepEqual([full.ok, full.limit, full.remaining, full.resetSeconds], [true, 2, 2, 0]);
});

test('limits are checked: a rate of 0 or a burst below 1 is refused, at construction and per call', async () => {
  const clock = new FakeClock(0);
  assert.throws(() => new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 0 }), /burst/);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1 });
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
