/// <reference types="node" />
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditActionLabel, auditDetails, deliveryFormatLabel, formatBytes, formatLatency, formatUrl } from './webhook-ops';

test('format URLs put /{format} before ?token=', () => {
  const url = 'https://chat.example.com/incomingwebhooks/0b7c3f4e-1111-4222-8333-944445555666?token=abc123';
  assert.equal(formatUrl(url, 'slack'), 'https://chat.example.com/incomingwebhooks/0b7c3f4e-1111-4222-8333-944445555666/slack?token=abc123');
  assert.equal(formatUrl(url, 'github'), 'https://chat.example.com/incomingwebhooks/0b7c3f4e-1111-4222-8333-944445555666/github?token=abc123');
  assert.equal(formatUrl('http://h/incomingwebhooks/x', 'sns'), 'http://h/incomingwebhooks/x/sns');
});

test('delivery log cells', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(2048), '2 KB');
  assert.equal(formatBytes(65536), '64 KB');
  assert.equal(formatLatency(2.345), '2.3 ms');
  assert.equal(formatLatency(120.4), '120 ms');
  assert.equal(deliveryFormatLabel('alertmanager'), 'Alertmanager');
  assert.equal(deliveryFormatLabel('test'), 'Test');
  assert.equal(deliveryFormatLabel('future'), 'future');
});

test('audit entries read as words', () => {
  assert.equal(auditActionLabel('webhook.created'), 'Created');
  assert.equal(auditActionLabel('webhook.regenerated'), 'Regenerated URL');
  assert.equal(auditActionLabel('webhook.settings'), 'Changed settings');
  assert.equal(auditDetails({ from: 'CI', to: 'Deploy bot' }), '“CI” → “Deploy bot”');
  assert.equal(auditDetails({ keepOldUrlForHours: 6 }), 'old URL kept for 6 hours');
  assert.equal(auditDetails({ keepOldUrlForHours: 1 }), 'old URL kept for 1 hour');
  assert.equal(auditDetails({ keepOldUrlForHours: 0 }), 'old URL stopped at once');
  assert.equal(
    auditDetails({ settings: { ratePerSecond: { from: 1, to: 5 }, allowBroadcastMentions: false } }),
    'posts per second: 1 → 5, @All and @Present: not allowed',
  );
  assert.equal(auditDetails({ changes: { burst: { from: 50, to: 3 }, allowBroadcastMentions: { from: true, to: false } } }), 'burst: 50 → 3, @All and @Present: allowed → not allowed');
  assert.equal(auditDetails({}), '');
  assert.equal(auditDetails(null), '');
});
