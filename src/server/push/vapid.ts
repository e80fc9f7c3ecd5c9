/**
 * The server's VAPID key pair (RFC 8292), derived from the server secret rather than stored: every
 * node that shares the secret (SPEC 9) signs with the same key, nothing new is configured or kept,
 * and the private key exists only in memory (never in the database, the config or a log).
 *
 * Derivation: HKDF-SHA256 over the secret with a fixed, versioned info string gives 48 bytes; read
 * as a number and reduced into [1, n-1] (n the order of P-256) they are the private scalar (FIPS
 * 186-5 A.2.1, "extra random bits": the 128 extra bits make the bias negligible). Changing the
 * secret changes the key, and browsers' subscriptions made with the old public key then fail (the
 * web client subscribes again when GET /api/v1/push/public-key no longer matches).
 */
import { createECDH, hkdfSync } from 'node:crypto';

const INFO = 'carillon/web-push/vapid-p256/v1';
/** The order of the P-256 group. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export interface VapidKeys {
  /** The uncompressed public point (65 bytes), base64url: what PushManager.subscribe's applicationServerKey takes. */
  readonly publicKey: string;
  /** The 32-byte private scalar, base64url (web-push's format). Never log it. */
  readonly privateKey: string;
}

export function deriveVapidKeys(secret: Buffer): VapidKeys {
  const okm = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), INFO, 48));
  const d = (BigInt(`0x${okm.toString('hex')}`) % (P256_N - 1n)) + 1n;
  const scalar = Buffer.from(d.toString(16).padStart(64, '0'), 'hex');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(scalar);
  const publicKey = ecdh.getPublicKey(null, 'uncompressed').toString('base64url');
  const privateKey = scalar.toString('base64url');
  // Not enumerable: a stray log of this object (or JSON.stringify) shows the public key only.
  const keys = { publicKey } as VapidKeys;
  Object.defineProperty(keys, 'privateKey', { value: privateKey, enumerable: false });
  return Object.freeze(keys);
}
