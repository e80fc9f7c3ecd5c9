import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../test-support/webhooks.js';
import { OncePerKey } from './once-per-key.js';

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

test('OncePerKey: past maxKeys the memory is emptied, at worst allowing one event too many', () => {
  const clock = new FakeClock(0);
  const once = new OncePerKey(clock, 60_000, 3);
  for (const k of ['a', 'b', 'c']) assert.equal(once.allow(k), true);
  assert.equal(once.allow('a'), false);
  assert.equal(once.allow('d'), true, 'the fourth key empties the memory');
  assert.equal(once.allow('a'), true, 'forgotten: allowed again');
  assert.equal(once.allow('d'), false);
});
