/// <reference types="node" />
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../shared/api-types';
import { reconnectDelay } from './backoff';
import { alertsMe, badgeCount, continuesGroup, initials, previewText, senderLabel } from './format';

const base: Message = {
  id: 'm1',
  roomId: 'r',
  seq: 1,
  sender: { type: 'webhook', id: 'w', name: 'Deploy bot' },
  content: 'x',
  html: '<p>x</p>',
  mentions: { all: false, present: false, userIds: [] },
  createdAt: Date.UTC(2026, 0, 5, 10, 0),
  editedAt: null,
  deletedAt: null,
  reactions: [],
};

test('webhook senders are shown as "Name (Webhook)" (SPEC 2.4)', () => {
  assert.equal(senderLabel(base.sender), 'Deploy bot (Webhook)');
  assert.equal(senderLabel({ type: 'user', id: 'u', name: 'Ada' }), 'Ada');
});

test('notification text is plain, without the /md or /code prefix, and short', () => {
  assert.equal(previewText('/md **Deployed**\n\n:tada:'), '**Deployed** :tada:');
  assert.equal(previewText('/code\nnpm test'), 'npm test');
  assert.equal(previewText('/mdx stays'), '/mdx stays');
  assert.equal(previewText('a'.repeat(200)).length, 140);
});

test('alerts: the stream flag wins; otherwise @All or my id, never my own message', () => {
  assert.equal(alertsMe({ ...base, alert: true }, 'me'), true);
  assert.equal(alertsMe({ ...base, alert: false, mentions: { all: true, present: false, userIds: [] } }, 'me'), false);
  assert.equal(alertsMe({ ...base, mentions: { all: false, present: false, userIds: ['me'] } }, 'me'), true);
  assert.equal(alertsMe({ ...base, mentions: { all: true, present: false, userIds: [] } }, 'me'), true);
  assert.equal(alertsMe({ ...base, sender: { type: 'user', id: 'me', name: 'Me' }, mentions: { all: true, present: false, userIds: ['me'] } }, 'me'), false);
});

test('messages group by sender within five minutes', () => {
  const next = { ...base, id: 'm2', seq: 2, createdAt: base.createdAt + 60_000 };
  assert.equal(continuesGroup(base, next), true);
  assert.equal(continuesGroup(base, { ...next, createdAt: base.createdAt + 6 * 60_000 }), false);
  assert.equal(continuesGroup(base, { ...next, sender: { ...base.sender, name: 'Renamed' } }), false);
  assert.equal(continuesGroup(undefined, next), false);
});

test('small helpers', () => {
  assert.equal(initials('Ada Lovelace'), 'AL');
  assert.equal(initials('ada'), 'AD');
  assert.equal(badgeCount(5), '5');
  assert.equal(badgeCount(150), '150');
  assert.equal(badgeCount(999), '999');
  assert.equal(badgeCount(1000), '999+');
});

test('reconnect delays grow from 0.5 s to at most 15 s, with jitter', () => {
  assert.equal(reconnectDelay(0, () => 0.5), 500);
  assert.equal(reconnectDelay(1, () => 0.5), 1000);
  assert.equal(reconnectDelay(10, () => 0.5), 15_000);
  assert.equal(reconnectDelay(10, () => 1), 15_000);
  assert.equal(reconnectDelay(0, () => 0), 375);
});
