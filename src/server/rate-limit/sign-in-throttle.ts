/**
 * Failed sign-ins are limited (ASVS 2.2.1, anti-automation; RELIABILITY 2.2.1): per client address
 * and per address-and-account pair, in token buckets that only failures spend. Once either is
 * empty, sign-ins from that address (for that account) get 429 with Retry-After before the password
 * is even checked, which also keeps password guessing from costing the server a scrypt each time.
 *
 * Successful sign-ins spend nothing. Failures from one address never lock an account out for
 * everyone: the per-account bucket is per address too. The client address is the socket's
 * (X-Forwarded-For is not trusted). In memory, per node.
 */
import { AppError } from '../errors.js';
import type { Clock } from '../services/context.js';
import { MemoryRateLimiter } from './memory.js';
import { OncePerKey } from './once-per-key.js';

/** Failed sign-ins allowed at once from one address, refilled over 10 minutes. */
export const SIGN_IN_FAILURES_PER_ADDRESS = 20;
/** Failed sign-ins allowed at once for one account from one address, refilled over 5 minutes. */
export const SIGN_IN_FAILURES_PER_ACCOUNT = 5;

/** A logged security event is repeated at most this often per address. */
const LOG_EVERY_MS = 60_000;

export class SignInThrottle {
  private readonly byAddress: MemoryRateLimiter;
  private readonly byAccount: MemoryRateLimiter;
  private readonly logged: OncePerKey;

  constructor(
    clock: Clock,
    /** Called (at most once a minute per address) when sign-ins from an address start being refused. */
    private readonly onEngaged: (event: { address: string; scope: 'address' | 'account' }) => void,
  ) {
    this.byAddress = new MemoryRateLimiter({ clock, ratePerSecond: SIGN_IN_FAILURES_PER_ADDRESS / 600, burst: SIGN_IN_FAILURES_PER_ADDRESS });
    this.byAccount = new MemoryRateLimiter({ clock, ratePerSecond: SIGN_IN_FAILURES_PER_ACCOUNT / 300, burst: SIGN_IN_FAILURES_PER_ACCOUNT });
    this.logged = new OncePerKey(clock, LOG_EVERY_MS);
  }

  /** Throws 429 Throttled when this address (or this address for this account) has failed too often. */
  check(address: string, email: string): void {
    const a = this.byAddress.peek(address);
    const b = this.byAccount.peek(accountKey(address, email));
    if (a.ok && b.ok) return;
    const scope = a.ok ? 'account' : 'address';
    if (this.logged.allow(address)) this.onEngaged({ address, scope });
    const wait = Math.max(a.ok ? 0 : a.retryAfterSeconds, b.ok ? 0 : b.retryAfterSeconds);
    throw new AppError(
      'Throttled',
      `Too many failed sign-ins ${scope === 'address' ? 'from this address' : 'for this account from this address'}; wait ${wait} second${wait === 1 ? '' : 's'} and try again, or ask a system administrator to set a new password.`,
      { retryAfterS: wait },
    );
  }

  /** Counts a failed sign-in. */
  failed(address: string, email: string): void {
    void this.byAddress.take(address);
    void this.byAccount.take(accountKey(address, email));
  }
}

const accountKey = (address: string, email: string) => `${address} ${email.trim().toLowerCase()}`;
