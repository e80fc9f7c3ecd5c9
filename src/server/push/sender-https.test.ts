/**
 * Every real push service speaks https: the sender posts to one over TLS (a loopback push service
 * with its own certificate), which decrypts the push and checks its VAPID signature; and a push
 * service whose certificate is not trusted is a network error (retried), never a delivery.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PushEndpoint } from '../../test-support/push-endpoint.js';
import { PushSender } from './sender.js';
import { deriveVapidKeys } from './vapid.js';

describe('push sender over https', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-push-tls-'));
  const keys = deriveVapidKeys(Buffer.from('a test secret that is long enough to derive keys', 'utf8'));
  let endpoint: PushEndpoint;
  let cert: Buffer;

  before(async () => {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    cert = readFileSync(certFile);
    endpoint = await PushEndpoint.start(0, { key: readFileSync(keyFile), cert });
    endpoint.expectedVapidKey = keys.publicKey;
  });
  after(async () => {
    await endpoint?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const request = (endpointUrl: string, sub: ReturnType<PushEndpoint['subscribe']>) => ({
    endpoint: endpointUrl,
    p256dh: sub.json.keys.p256dh,
    auth: sub.json.keys.auth,
    payload: JSON.stringify({ type: 'message', body: 'Deploy 🚀 finished' }),
    urgency: 'high' as const,
    ttlSeconds: 3600,
  });

  test('a push over TLS arrives encrypted (aes128gcm), decrypts with the subscription’s keys, and is signed for that origin', async () => {
    const sender = new PushSender({ keys: () => keys, subject: 'mailto:ops@example.com', timeoutMs: 10_000, maxSockets: 2, ca: cert });
    const sub = endpoint.subscribe();
    assert.match(sub.json.endpoint, /^https:\/\/127\.0\.0\.1:\d+\/push\//);
    const result = await sender.send(request(sub.json.endpoint, sub));
    assert.deepEqual(result, { kind: 'response', status: 201, retryAfter: undefined });
    assert.deepEqual(endpoint.problems, []);
    const [push] = endpoint.pushesFor(sub);
    assert.deepEqual(push?.payload, { type: 'message', body: 'Deploy 🚀 finished' });
    assert.equal(push?.claims.aud, endpoint.origin);
    assert.equal(push?.claims.sub, 'mailto:ops@example.com');
    assert.equal(push?.urgency, 'high');
    sender.close();
  });

  test('a push service whose certificate is not trusted gets nothing: a network error, to be retried', async () => {
    const sender = new PushSender({ keys: () => keys, subject: 'mailto:ops@example.com', timeoutMs: 10_000, maxSockets: 2 });
    const sub = endpoint.subscribe();
    const result = await sender.send(request(sub.json.endpoint, sub));
    assert.equal(result.kind, 'error');
    assert.deepEqual(endpoint.pushesFor(sub), []);
    sender.close();
  });
});
