/**
 * Amazon SNS signatures: only certificates from SNS's own hosts, fetched once (with a timeout, a
 * size cap and no redirects), SignatureVersion 1 (SHA1) and 2 (SHA256), nothing stale, and
 * SubscribeURL on SNS's hosts only. A loopback HTTPS server with a test CA stands in for SNS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeSns, startFakeSns } from '../../../test-support/formats.js';
import { FakeClock } from '../../../test-support/webhooks.js';
import { isAppError } from '../../errors.js';
import { type SnsMessage, SnsVerifier, stringToSign } from './sns/verify.js';

const rejects = async (p: Promise<unknown>, code: string, pattern?: RegExp) => {
  await assert.rejects(p, (e) => {
    assert.ok(isAppError(e), String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
};

test('only https URLs on sns.<region>.amazonaws.com (or .com.cn), without port or user, count as SNS', () => {
  const v = new SnsVerifier(new FakeClock());
  for (const ok of [
    'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem',
    'https://sns.eu-central-2.amazonaws.com/x.pem',
    'https://sns.us-gov-west-1.amazonaws.com/x.pem',
    'https://sns.cn-north-1.amazonaws.com.cn/x.pem',
    'https://sns.us-east-1.amazonaws.com:443/x.pem',
  ]) assert.ok(v.isSnsUrl(ok), ok);
  for (const bad of [
    'http://sns.us-east-1.amazonaws.com/x.pem',
    'https://sns.us-east-1.amazonaws.com.evil.example/x.pem',
    'https://evil.example/sns.us-east-1.amazonaws.com/x.pem',
    'https://sns.us-east-1.amazonaws.com@evil.example/x.pem',
    'https://user@sns.us-east-1.amazonaws.com/x.pem',
    'https://sns.us-east-1.amazonaws.com:8443/x.pem',
    'https://sns.amazonaws.com/x.pem',
    'https://s3.us-east-1.amazonaws.com/x.pem',
    'https://sns.us-east-1.amazonaws.co/x.pem',
    'https://127.0.0.1/x.pem',
    'not a url',
  ]) assert.ok(!v.isSnsUrl(bad), bad);
});

test('the string to sign: Notification (Subject only when present) and confirmations, as AWS documents', () => {
  const base = { MessageId: 'id', TopicArn: 'arn', Message: 'm', Timestamp: 't', SignatureVersion: '1', Signature: 's', SigningCertURL: 'u' };
  assert.equal(stringToSign({ ...base, Type: 'Notification' }), 'Message\nm\nMessageId\nid\nTimestamp\nt\nTopicArn\narn\nType\nNotification\n');
  assert.equal(stringToSign({ ...base, Type: 'Notification', Subject: 'S' }), 'Message\nm\nMessageId\nid\nSubject\nS\nTimestamp\nt\nTopicArn\narn\nType\nNotification\n');
  assert.equal(
    stringToSign({ ...base, Type: 'SubscriptionConfirmation', SubscribeURL: 'su', Token: 'tk' }),
    'Message\nm\nMessageId\nid\nSubscribeURL\nsu\nTimestamp\nt\nToken\ntk\nTopicArn\narn\nType\nSubscriptionConfirmation\n',
  );
});

describe('signatures checked against a certificate served over (loopback) HTTPS', () => {
  let sns: FakeSns;
  let clock: FakeClock;
  let v: SnsVerifier;
  const message = (over: Partial<SnsMessage> = {}): SnsMessage => ({
    Type: 'Notification',
    MessageId: 'b3c9e5f2-0f4e-5a8b-9d1c-7e2f3a4b5c6d',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:carillon-alerts',
    Subject: 'Nightly backup finished',
    Message: 'Backup of db-main finished in 14 min.',
    Timestamp: new Date(clock.now()).toISOString(),
    SignatureVersion: '1',
    Signature: '',
    SigningCertURL: '',
    ...over,
  });

  before(async () => {
    sns = await startFakeSns();
    clock = new FakeClock();
    v = new SnsVerifier(clock, { extraHosts: [sns.host], ca: sns.ca, timeoutMs: 500 });
  });
  after(() => sns.close());

  test('SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA) verify; the certificate is fetched once', async () => {
    const before = sns.requests.filter((r) => r === '/cert.pem').length;
    await v.verify(sns.sign(message(), '1'));
    await v.verify(sns.sign(message(), '2'));
    await v.verify(sns.sign(message({ Subject: undefined }), '2'));
    await Promise.all([1, 2, 3].map(() => v.verify(sns.sign(message()))));
    assert.equal(sns.requests.filter((r) => r === '/cert.pem').length - before, 1, 'cached');
  });

  test('a changed field, a signature of another version, or garbage → 403 InvalidWebhook', async () => {
    const signed = sns.sign(message());
    await rejects(v.verify({ ...signed, Message: 'Backup FAILED' }), 'InvalidWebhook', /signature does not match/);
    await rejects(v.verify({ ...signed, Subject: undefined }), 'InvalidWebhook', /signature does not match/);
    await rejects(v.verify({ ...signed, SignatureVersion: '2' }), 'InvalidWebhook', /signature does not match/);
    await rejects(v.verify({ ...signed, Signature: 'AAAA' }), 'InvalidWebhook');
    await rejects(v.verify({ ...signed, SignatureVersion: '3' }), 'InvalidWebhook', /SignatureVersion/);
  });

  test('a certificate URL that is not SNS\'s → 403 before anything is fetched', async () => {
    const count = sns.requests.length;
    for (const url of [`http://${sns.host}/cert.pem`, 'https://evil.example/cert.pem', `https://${sns.host}/cert.txt`, 'https://sns.us-east-1.amazonaws.com.evil.example/a.pem']) {
      await rejects(v.verify(sns.sign(message({ SigningCertURL: url }))), 'InvalidWebhook', /SigningCertURL/);
    }
    assert.equal(sns.requests.length, count);
  });

  test('a message more than an hour old (a replay) or from the future → 403', async () => {
    await rejects(v.verify(sns.sign(message({ Timestamp: new Date(clock.now() - 66 * 60_000).toISOString() }))), 'InvalidWebhook', /replay/);
    await rejects(v.verify(sns.sign(message({ Timestamp: new Date(clock.now() + 6 * 60_000).toISOString() }))), 'InvalidWebhook', /replay/);
    await v.verify(sns.sign(message({ Timestamp: new Date(clock.now() - 59 * 60_000).toISOString() })));
  });

  test('a certificate that cannot be had (404, a redirect, too big, too slow) → 503 with Retry-After', async () => {
    for (const path of ['missing.pem', 'redirect.pem', 'huge.pem', 'slow.pem']) {
      await rejects(v.verify(sns.sign(message({ SigningCertURL: `https://${sns.host}/${path}` }))), 'ServiceUnavailable', /certificate could not be fetched/);
    }
  });

  test('a server whose certificate is not trusted (no test CA) is refused → 503, never trusted', async () => {
    const strict = new SnsVerifier(clock, { extraHosts: [sns.host] });
    await rejects(strict.verify(sns.sign(message())), 'ServiceUnavailable');
  });

  test('the cached certificate is fetched again after a day', async () => {
    const count = () => sns.requests.filter((r) => r === '/cert.pem').length;
    const fresh = new SnsVerifier(clock, { extraHosts: [sns.host], ca: sns.ca });
    await fresh.verify(sns.sign(message()));
    const n = count();
    clock.advance(23 * 3600_000);
    await fresh.verify(sns.sign(message()));
    assert.equal(count(), n);
    clock.advance(2 * 3600_000);
    await fresh.verify(sns.sign(message()));
    assert.equal(count(), n + 1);
  });

  test('confirming a subscription: GET SubscribeURL on an SNS host; a refusal is 400, an outage 503', async () => {
    await v.confirm(`https://${sns.host}/confirm?Action=ConfirmSubscription&Token=abc`);
    assert.ok(sns.requests.includes('/confirm?Action=ConfirmSubscription&Token=abc'));
    sns.confirmStatus = 403;
    await rejects(v.confirm(`https://${sns.host}/confirm?Token=expired`), 'InvalidPayload', /request a new confirmation/);
    sns.confirmStatus = 500;
    await rejects(v.confirm(`https://${sns.host}/confirm?Token=x`), 'ServiceUnavailable');
    sns.confirmStatus = 200;
    const count = sns.requests.length;
    await rejects(v.confirm('https://evil.example/?Action=ConfirmSubscription'), 'InvalidWebhook', /SubscribeURL/);
    await rejects(v.confirm(`http://${sns.host}/confirm`), 'InvalidWebhook', /SubscribeURL/);
    assert.equal(sns.requests.length, count, 'nothing fetched from other hosts');
  });
});
