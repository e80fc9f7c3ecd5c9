import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../test-support/webhooks.js';
import { MemoryRateLimiter, OncePerKey } from './rate-limiter.js';

test('capacity 1, refill 1/s: one request per second; Retry-After rounds up to whole seconds', async () => {
  const clock = new FakeClock(0);
  const rl = new MemoryRateLimiter({ clock, ratePerSecond: 1, burst: 1 });
  assert.deepEqual(await rl.take('w'), { ok: true });
  assert.deepEqual(await rl.take('w'), { ok: false, retryAfterSeconds: 1 });
  clock.advance(999);
  assert.deepEqual(await rl.take('w'), { ok: false, retryAfterSeconds: 1 });
  clock.advance(1);
  assert.deepEqual(await rl.take('w'), { ok: true });
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
  assert.deepEqual(await rl.take('w'), { ok: false, retryAfterSeconds: 1 });
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
  assert.deepEqual(await rl.take('w'), { ok: false, retryAfterSeconds: 4 });
  clock.advance(3_500);
  assert.deepEqual(await rl.take('w'), { ok: false, retryAfterSeconds: 1 });
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
  for (let i = 0; i < 5; i++) assert.deepEqual(rl.peek('k'), { ok: true });
  await rl.take('k');
  await rl.take('k');
  assert.deepEqual(rl.peek('k'), { ok: false, retryAfterSeconds: 2 });
  assert.deepEqual(await rl.take('k'), { ok: false, retryAfterSeconds: 2 });
  clock.advance(2_000);
  assert.deepEqual(rl.peek('k'), { ok: true });
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
