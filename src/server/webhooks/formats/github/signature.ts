/**
 * GitHub's delivery signature (its "Validating webhook deliveries"): X-Hub-Signature-256 is
 * `sha256=` and the hex HMAC-SHA256 of the raw body, keyed with the webhook's secret. Compared in
 * constant time. The secret is the Carillon webhook's signing secret (tokens.ts
 * deriveSigningSecret), which a room administrator copies into GitHub's "Secret" field.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-hub-signature-256';

/** `sha256=<hex>` for a body under a secret (what GitHub sends; tests sign with it). */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is a valid signature of `body` under one of `secrets`. */
export function verifySignature(header: string, body: Buffer, secrets: readonly string[]): boolean {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!m) return false;
  const presented = Buffer.from(m[1]!, 'hex');
  let ok = false;
  // Every secret is tried (no early exit), so the time taken says nothing about which one matched.
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    if (timingSafeEqual(presented, expected)) ok = true;
  }
  return ok;
}
