/**
 * Webhook URLs and their tokens (SPEC 2.1).
 *
 * A token is never stored: it is re-derived from the server secret, the webhook id and the
 * webhook's generation, so a room administrator can copy the URL again at any time while the
 * database holds only the id and the generation. Regenerating a URL bumps the generation.
 *
 * Shape: exactly 72 characters of [A-Za-z0-9], the shape of every real Chime token. Real clients
 * validate URLs with patterns such as `[a-zA-Z0-9_-]+\?token=[a-zA-Z0-9_-]+` (Airflow's Chime hook)
 * and `[A-Za-z0-9-]+` (AWS Chatbot), so nothing else may appear in it.
 *
 * Derivation: two HMAC-SHA256 blocks (512 bits) over a versioned, domain-separated message, read as
 * one big number and written in base 62; the 72 least significant digits are the token. 62^72 is
 * about 2^428 and far below 2^512, so the digits are uniform to within 2^-84: about 428 bits of
 * entropy, well over the 256 the SPEC asks for.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TOKEN_LENGTH = 72;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = BigInt(ALPHABET.length);

/** A lower-case UUID v4, exactly as Chime minted webhook ids (and as crypto.randomUUID() makes them). */
export const WEBHOOK_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const TOKEN_PATTERN = /^[A-Za-z0-9]{72}$/;

export const isWebhookId = (s: string): boolean => WEBHOOK_ID_PATTERN.test(s);
export const isTokenShaped = (s: string): boolean => TOKEN_PATTERN.test(s);

/** The token of webhook `id` at `generation`, under `secret`. */
export function deriveToken(secret: Buffer, id: string, generation: number): string {
  const block = (n: number) => createHmac('sha256', secret).update(`carillon/webhook-token/v1\n${id}\n${generation}\n${n}`).digest();
  let value = BigInt(`0x${Buffer.concat([block(1), block(2)]).toString('hex')}`);
  let out = '';
  for (let i = 0; i < TOKEN_LENGTH; i++) {
    out += ALPHABET[Number(value % BASE)];
    value /= BASE;
  }
  return out;
}

/**
 * The signing secret of webhook `id` at `generation` (issue 15, GitHub's X-Hub-Signature-256): 64
 * hex digits (256 bits), an HMAC of the server secret under its own domain, so it is never stored,
 * tells nothing about the token, and changes when the URL is regenerated.
 */
export function deriveSigningSecret(secret: Buffer, id: string, generation: number): string {
  return createHmac('sha256', secret).update(`carillon/webhook-signing-secret/v1\n${id}\n${generation}`).digest('hex');
}

/** Constant-time comparison of a presented token with the expected one (both already 72 ASCII characters). */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = Buffer.from(presented, 'latin1');
  const b = Buffer.from(expected, 'latin1');
  // Lengths are public (always 72 for a well-formed token); timingSafeEqual needs them equal.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `${publicUrl}/incomingwebhooks/${id}?token=${token}`: the URL an administrator hands to a script. */
export function webhookUrl(publicUrl: string, id: string, token: string): string {
  return `${publicUrl}/incomingwebhooks/${id}?token=${token}`;
}
