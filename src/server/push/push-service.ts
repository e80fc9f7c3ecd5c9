/**
 * Web Push subscriptions (issue 13): the rules and the authorization. A user saves and removes
 * only their own subscriptions (one per browser or device, up to MAX_SUBSCRIPTIONS_PER_USER), and
 * only to push services the server is allowed to POST to (endpoint-policy.ts).
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import type { PushPublicKey, PushSubscriptionInfo, PushSubscriptionInput } from '../../shared/api-types.js';
import { AppError } from '../errors.js';
import type { ServiceContext } from '../services/context.js';
import type { PushSubscriptionRecord } from '../store/push-store.js';
import { StoreConflictError, type UserRecord } from '../store/types.js';
import type { EndpointPolicy } from './endpoint-policy.js';
import type { VapidKeys } from './vapid.js';

/** A user's devices; past this, the one whose browser last sent its subscription longest ago is replaced. */
export const MAX_SUBSCRIPTIONS_PER_USER = 20;

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

function decodeBase64Url(value: string): Buffer | undefined {
  return BASE64URL.test(value) ? Buffer.from(value.replace(/=+$/, ''), 'base64url') : undefined;
}

/** True for an uncompressed point on P-256 (createPublicKey checks the point is on the curve). */
function isP256Point(raw: Buffer): boolean {
  if (raw.length !== 65 || raw[0] !== 0x04) return false;
  try {
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

export const presentSubscription = (s: PushSubscriptionRecord): PushSubscriptionInfo => ({
  id: s.id,
  endpoint: s.endpoint,
  expirationTime: s.expiresAt,
  createdAt: s.createdAt,
});

export class PushService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly options: { keys: () => VapidKeys; policy: EndpointPolicy },
  ) {}

  /** The applicationServerKey browsers subscribe with; the same on every node (derived from the secret). */
  publicKey(_actor: UserRecord): PushPublicKey {
    return { publicKey: this.options.keys().publicKey };
  }

  async subscribe(actor: UserRecord, input: PushSubscriptionInput): Promise<{ subscription: PushSubscriptionInfo; created: boolean }> {
    const checked = this.options.policy.check(input.endpoint);
    if (!checked.ok) {
      throw new AppError(
        'InvalidRequest',
        `endpoint ${checked.reason}: pushes go only to https endpoints on ${this.options.policy.describe()}. ` +
          "Send the endpoint of a subscription from the browser's PushManager.subscribe(); a server administrator can allow another push service with PUSH_ENDPOINT_HOSTS.",
      );
    }
    const p256dh = decodeBase64Url(input.keys.p256dh);
    if (!p256dh || !isP256Point(p256dh)) {
      throw new AppError('InvalidRequest', 'keys.p256dh must be the subscription\'s P-256 public key: 65 bytes (an uncompressed point), base64url-encoded, as PushSubscription.toJSON() gives it.');
    }
    const auth = decodeBase64Url(input.keys.auth);
    if (!auth || auth.length !== 16) {
      throw new AppError('InvalidRequest', 'keys.auth must be the subscription\'s 16-byte auth secret, base64url-encoded, as PushSubscription.toJSON() gives it.');
    }
    const now = this.ctx.clock.now();
    const expiresAt = input.expirationTime ?? null;
    if (expiresAt !== null && expiresAt <= now) {
      throw new AppError('InvalidRequest', 'expirationTime is in the past: this subscription has expired; subscribe again with PushManager.subscribe().');
    }
    // The endpoint is kept exactly as the browser gave it: it is the push service's URL for this device.
    const record = { id: randomUUID(), userId: actor.id, endpoint: input.endpoint, p256dh: p256dh.toString('base64url'), auth: auth.toString('base64url'), expiresAt };
    let saved;
    try {
      saved = await this.ctx.store.push.saveSubscription(record, now, MAX_SUBSCRIPTIONS_PER_USER);
    } catch (e) {
      // Two saves of one endpoint at once: the other one inserted it first; this one now updates or takes it over.
      if (!(e instanceof StoreConflictError)) throw e;
      saved = await this.ctx.store.push.saveSubscription(record, now, MAX_SUBSCRIPTIONS_PER_USER);
    }
    return { subscription: presentSubscription(saved.subscription), created: saved.created };
  }

  /** Removes the caller's subscription with this endpoint; 404 if they have none (another user's is never touched). */
  async unsubscribe(actor: UserRecord, endpoint: string): Promise<void> {
    if (!(await this.ctx.store.push.deleteSubscription(actor.id, endpoint))) {
      throw new AppError('NotFound', 'You have no push subscription with this endpoint (it may have expired and been removed already); nothing to do.');
    }
  }
}
