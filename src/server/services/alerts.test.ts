import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alertsUser } from './alerts.js';

const msg = (mentions: Partial<{ all: boolean; present: boolean; userIds: string[] }>, sender = { type: 'user' as const, id: 'author', name: 'A' }) => ({
  sender,
  mentions: { all: false, present: false, userIds: [], ...mentions },
});
const nobody = new Set<string>();

describe('alerts (SPEC 4)', () => {
  test('@All alerts every member but the author', () => {
    assert.equal(alertsUser(msg({ all: true }), 'u1', nobody), true);
    assert.equal(alertsUser(msg({ all: true }), 'author', nobody), false);
  });
  test('@Present alerts only those present when it was posted', () => {
    assert.equal(alertsUser(msg({ present: true }), 'u1', new Set(['u1'])), true);
    assert.equal(alertsUser(msg({ present: true }), 'u2', new Set(['u1'])), false);
    assert.equal(alertsUser(msg({ present: true }), 'author', new Set(['author'])), false);
  });
  test('@alias alerts that member only', () => {
    assert.equal(alertsUser(msg({ userIds: ['u1'] }), 'u1', nobody), true);
    assert.equal(alertsUser(msg({ userIds: ['u1'] }), 'u2', nobody), false);
    assert.equal(alertsUser(msg({ userIds: ['author'] }), 'author', nobody), false);
  });
  test('a plain message alerts nobody; a webhook is never an author to exclude', () => {
    assert.equal(alertsUser(msg({}), 'u1', new Set(['u1'])), false);
    assert.equal(alertsUser(msg({ all: true }, { type: 'webhook', id: 'u1', name: 'W' } as never), 'u1', nobody), true);
  });
});
