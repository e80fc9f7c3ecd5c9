import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { TOKEN_LENGTH, deriveToken, isTokenShaped, isWebhookId, tokensEqual, webhookUrl } from './tokens.js';

const secret = Buffer.from('a server secret of at least thirty-two characters');

test('a token is exactly 72 characters of [A-Za-z0-9], the shape of every real Chime token', () => {
  for (let i = 0; i < 200; i++) {
    const t = deriveToken(secret, randomUUID(), 1 + (i % 5));
    assert.equal(t.length, TOKEN_LENGTH);
    assert.match(t, /^[A-Za-z0-9]{72}$/);
    assert.ok(isTokenShaped(t));
  }
});

test('the URL passes the patterns real clients validate (Airflow, AWS Chatbot)', () => {
  const id = randomUUID();
  const url = webhookUrl('https://chat.example.com', id, deriveToken(secret, id, 1));
  assert.match(url, /^https:\/\/chat\.example\.com\/incomingwebhooks\/[a-zA-Z0-9_-]+\?token=[a-zA-Z0-9_-]+$/);
  assert.match(url.split('?token=')[1]!, /^[A-Za-z0-9-]+$/);
});

test('the same secret, id and generation always give the same token (the URL can be shown again)', () => {
  const id = randomUUID();
  assert.equal(deriveToken(secret, id, 3), deriveToken(Buffer.from(secret), id, 3));
});

test('a different generation, id or secret gives an unrelated token', () => {
  const id = randomUUID();
  const base = deriveToken(secret, id, 1);
  const others = [deriveToken(secret, id, 2), deriveToken(secret, randomUUID(), 1), deriveToken(Buffer.from('another secret, also long enough to use'), id, 1)];
  for (const o of others) {
    assert.notEqual(o, base);
    // Unrelated: about 1 position in 62 agrees by chance, far from all of them.
    const same = [...o].filter((c, i) => c === base[i]).length;
    assert.ok(same < 12, `${same} positions agree`);
  }
});

test('tokens spread over the whole alphabet (no bias towards a few characters)', () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 400; i++) for (const c of deriveToken(secret, randomUUID(), 1)) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 62);
  const expected = (400 * 72) / 62;
  for (const [c, n] of counts) assert.ok(n > expected * 0.6 && n < expected * 1.4, `${c}: ${n} vs ${expected}`);
});

test('tokensEqual compares exactly, and tolerates any presented length', () => {
  const t = deriveToken(secret, randomUUID(), 1);
  assert.equal(tokensEqual(t, t), true);
  assert.equal(tokensEqual(`${t.slice(0, 71)}${t[71] === 'a' ? 'b' : 'a'}`, t), false);
  assert.equal(tokensEqual(t.slice(1), t), false);
  assert.equal(tokensEqual('', t), false);
});

test('webhook ids are lower-case UUID v4 only', () => {
  const id = randomUUID();
  assert.ok(isWebhookId(id));
  for (const bad of [id.toUpperCase(), `${id}/`, id.replace(/-/g, ''), '00000000-0000-1000-8000-000000000000', '../../api', '']) assert.ok(!isWebhookId(bad), bad);
});
