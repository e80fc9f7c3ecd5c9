/**
 * Amazon SNS message signatures (AWS's "Verifying the signatures of Amazon SNS messages").
 *
 * Every message SNS sends to an HTTP/S subscriber carries `Signature` (base64) over a canonical
 * string of some of its fields, `SignatureVersion` 1 (SHA1withRSA) or 2 (SHA256withRSA), and
 * `SigningCertURL`, where SNS publishes the X.509 certificate whose key made it. We accept a
 * certificate only from `https://sns.<region>.amazonaws.com/…pem` (or `.amazonaws.com.cn`), so
 * the TLS connection to Amazon's own host is what vouches for it; fetched with a timeout and a size
 * cap, never following redirects, and kept for a day. The SubscribeURL that confirms a
 * subscription must be on such a host too, so a forged message cannot make the server fetch
 * anything else.
 *
 * Tests serve a certificate over loopback HTTPS: `extraHosts` and `ca` can only be given in code
 * (the app's dependencies), never by configuration, so no setting can widen what production trusts.
 */
import { X509Certificate, type KeyObject, verify } from 'node:crypto';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { AppError } from '../../../errors.js';
import type { Clock } from '../../../services/context.js';
import { invalidWebhook } from '../../webhook-service.js';

export interface SnsOptions {
  /** Hosts (`host:port`) trusted besides SNS's own: tests only (a loopback HTTPS server). */
  extraHosts?: readonly string[];
  /** PEM CA certificate(s) trusted besides the system's, for extraHosts. */
  ca?: string | Buffer;
  /** Time allowed for each fetch (default 5 s). */
  timeoutMs?: number;
}

export const SNS_HOST = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?$/;
/** Largest certificate or confirmation answer read. */
export const MAX_FETCH_BYTES = 64 * 1024;
/** How long a fetched certificate is used before fetching it again. */
export const CERT_TTL_MS = 24 * 60 * 60 * 1000;
const CERT_CACHE_SIZE = 100;
/**
 * How old a message may be: SNS retries an HTTP/S delivery for at most an hour (its hard limit),
 * so anything older is a replay. Plus some clock skew either way.
 */
export const MAX_AGE_MS = 65 * 60 * 1000;
export const MAX_SKEW_MS = 5 * 60 * 1000;

export type SnsType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** The fields of an SNS message that matter here (all strings). */
export interface SnsMessage {
  Type: SnsType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
  UnsubscribeURL?: string;
}

/** The string SNS signs: `name\nvalue\n` for each signed field, in this order. */
export function stringToSign(m: SnsMessage): string {
  const fields =
    m.Type === 'Notification'
      ? (['Message', 'MessageId', ...(m.Subject !== undefined ? ['Subject'] : []), 'Timestamp', 'TopicArn', 'Type'] as const)
      : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const);
  return fields.map((f) => `${f}\n${(m as unknown as Record<string, string>)[f] ?? ''}\n`).join('');
}

const refuse = (why: string) => invalidWebhook(why);

export class SnsVerifier {
  private readonly certs = new Map<string, { key: KeyObject; until: number; notAfter: number }>();
  private readonly inFlight = new Map<string, Promise<KeyObject>>();
  private readonly extraHosts: ReadonlySet<string>;
  private readonly ca: (string | Buffer)[] | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly clock: Clock,
    options: SnsOptions = {},
  ) {
    this.extraHosts = new Set(options.extraHosts ?? []);
    this.ca = options.ca ? [...rootCertificates, options.ca] : undefined;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Whether a URL is one SNS could have given: https on an SNS host (or a test's extra host). */
  isSnsUrl(raw: string): boolean {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (u.protocol !== 'https:' || u.username !== '' || u.password !== '') return false;
    if (this.extraHosts.has(u.host)) return true;
    return u.port === '' && SNS_HOST.test(u.hostname);
  }

  /** Throws 403 InvalidWebhook unless the message is signed by SNS and recent. */
  async verify(m: SnsMessage): Promise<void> {
    if (m.SignatureVersion !== '1' && m.SignatureVersion !== '2') {
      throw refuse(`SignatureVersion ${JSON.stringify(m.SignatureVersion).slice(0, 20)} is not one Amazon SNS uses (1 or 2); this is not a message from SNS.`);
    }
    if (!this.isSnsUrl(m.SigningCertURL) || !new URL(m.SigningCertURL).pathname.endsWith('.pem')) {
      throw refuse('SigningCertURL is not an Amazon SNS certificate URL (https://sns.<region>.amazonaws.com/….pem); this is not a message from SNS.');
    }
    const sent = Date.parse(m.Timestamp);
    const now = this.clock.now();
    if (Number.isNaN(sent)) throw new AppError('InvalidPayload', 'Timestamp is not a date; send the SNS message unchanged.');
    if (now - sent > MAX_AGE_MS || sent - now > MAX_SKEW_MS) {
      throw refuse(`The SNS message is dated ${m.Timestamp}, too far from now (more than an hour old, or in the future); refused as a replay.`);
    }
    const key = await this.certificateKey(m.SigningCertURL);
    const signature = Buffer.from(m.Signature, 'base64');
    const ok = verify(m.SignatureVersion === '1' ? 'sha1' : 'sha256', Buffer.from(stringToSign(m), 'utf8'), key, signature);
    if (!ok) throw refuse('The SNS signature does not match the message: it was changed on the way or not sent by Amazon SNS.');
  }

  /** Confirms a subscription: GET SubscribeURL (an SNS URL) and expect 200. */
  async confirm(subscribeUrl: string): Promise<void> {
    if (!this.isSnsUrl(subscribeUrl)) {
      throw refuse('SubscribeURL is not an Amazon SNS URL (https://sns.<region>.amazonaws.com/…); the subscription was not confirmed.');
    }
    let res: { status: number; body: Buffer };
    try {
      res = await this.get(subscribeUrl);
    } catch (e) {
      throw new AppError('ServiceUnavailable', `Amazon SNS could not be reached to confirm the subscription (${(e as Error).message}); retry after the time in Retry-After.`, { retryAfterS: 5 });
    }
    if (res.status >= 500) {
      throw new AppError('ServiceUnavailable', `Amazon SNS answered ${res.status} to the subscription confirmation; retry after the time in Retry-After.`, { retryAfterS: 5 });
    }
    if (res.status !== 200) {
      throw new AppError('InvalidPayload', `Amazon SNS refused the subscription confirmation (HTTP ${res.status}; the token may have expired after 3 days): request a new confirmation for this subscription in the SNS console.`);
    }
  }

  private async certificateKey(url: string): Promise<KeyObject> {
    const now = this.clock.now();
    const cached = this.certs.get(url);
    if (cached && cached.until > now && cached.notAfter > now) return cached.key;
    let pending = this.inFlight.get(url);
    if (!pending) {
      pending = this.fetchCertificate(url).finally(() => this.inFlight.delete(url));
      this.inFlight.set(url, pending);
    }
    return pending;
  }

  private async fetchCertificate(url: string): Promise<KeyObject> {
    let res: { status: number; body: Buffer };
    try {
      res = await this.get(url);
    } catch (e) {
      throw new AppError('ServiceUnavailable', `The SNS signing certificate could not be fetched (${(e as Error).message}); retry after the time in Retry-After.`, { retryAfterS: 5 });
    }
    if (res.status !== 200) {
      throw new AppError('ServiceUnavailable', `The SNS signing certificate could not be fetched (HTTP ${res.status}); retry after the time in Retry-After.`, { retryAfterS: 5 });
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(res.body);
    } catch {
      throw refuse('SigningCertURL does not hold an X.509 certificate; this is not a message from SNS.');
    }
    const now = this.clock.now();
    const notBefore = Date.parse(cert.validFrom);
    const notAfter = Date.parse(cert.validTo);
    if (!(notBefore <= now && now <= notAfter)) throw refuse('The SNS signing certificate is expired or not yet valid.');
    if (cert.publicKey.asymmetricKeyType !== 'rsa') throw refuse('The SNS signing certificate does not hold an RSA key.');
    if (this.certs.size >= CERT_CACHE_SIZE) this.certs.clear();
    this.certs.set(url, { key: cert.publicKey, until: now + CERT_TTL_MS, notAfter });
    return cert.publicKey;
  }

  /** One HTTPS GET: no redirects, a timeout, at most MAX_FETCH_BYTES. */
  private get(url: string): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = https.get(url, { timeout: this.timeoutMs, ...(this.ca ? { ca: this.ca } : {}), agent: false, headers: { 'user-agent': 'Carillon (Amazon SNS subscriber)' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_FETCH_BYTES) {
            req.destroy(new Error(`the answer is over ${MAX_FETCH_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
    });
  }
}
