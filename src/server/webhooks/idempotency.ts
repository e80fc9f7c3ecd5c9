/**
 * Idempotency-Key on webhook posts (issue 15): a client that did not get an answer (a timeout, a
 * dropped connection) sends the same post again with the same key, and a repeat within 24 hours on
 * the same webhook answers the first post's 200 {MessageId, RoomId} and stores nothing.
 *
 * The key is stored with the message, in the transaction that stores it, unique per (webhook, key)
 * (store: webhook_idempotency_keys), so it holds across nodes: a repeat that arrives while the first
 * is still being stored waits for that transaction and answers its post; if the first fails, the
 * repeat stores its own. Only posts answered 200 are remembered. A post without the header takes
 * the usual path: no read, no write, no transaction of its own.
 *
 * Old keys are deleted by IdempotencyPurger, in bounded batches; until then a key older than 24
 * hours counts as absent (and is taken over by the next post that uses it).
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import type { Clock } from '../services/context.js';
import type { Store } from '../store/types.js';

export const IDEMPOTENCY_KEY_TTL_MS = LIMITS.idempotencyKeyTtlHours * 3_600_000;

/**
 * The Idempotency-Key header of a webhook post: undefined when absent; else 1 to 255 printable
 * ASCII characters (Node reads header bytes as Latin-1: only those keep their meaning), or 400
 * InvalidPayload saying what to send.
 */
export function idempotencyKeyOf(req: Pick<FastifyRequest, 'headers'>): string | undefined {
  const header = req.headers['idempotency-key'];
  if (header === undefined) return undefined;
  // Node joins repeated headers of unknown names with ", ": the joined text is then the key.
  const value = Array.isArray(header) ? header.join(', ') : header;
  const hint = 'a UUID is a good key, one per post and the same on every retry of it';
  if (value.length === 0) throw new AppError('InvalidPayload', `The Idempotency-Key header is empty; send 1 to ${LIMITS.idempotencyKeyMaxChars} printable ASCII characters (${hint}), or leave the header out.`);
  if (value.length > LIMITS.idempotencyKeyMaxChars) {
    throw new AppError('InvalidPayload', `The Idempotency-Key header is ${value.length} characters long; the limit is ${LIMITS.idempotencyKeyMaxChars} (${hint}).`);
  }
  if (!/^[\x20-\x7e]+$/.test(value)) {
    throw new AppError('InvalidPayload', `The Idempotency-Key header must be printable ASCII: letters, digits, punctuation and spaces (${hint}).`);
  }
  return value;
}

export interface IdempotencyPurgerOptions {
  store: Pick<Store, 'purgeIdempotencyKeys'>;
  clock: Clock;
  logger: Pick<FastifyBaseLogger, 'warn'>;
  /** Between purges (default 10 minutes; the first runs at start). */
  everyMs?: number;
  /** Rows per DELETE (default 1000). */
  batch?: number;
  /** DELETEs per purge at most (default 20); what is left goes at the next one. */
  maxBatches?: number;
}

/**
 * Deletes Idempotency-Key rows older than 24 hours: every 10 minutes, at most 20 × 1000 rows a
 * time, so a purge is a few short statements whatever the backlog. Every node runs one; deleting
 * what another node deleted already costs nothing.
 */
export class IdempotencyPurger {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly options: IdempotencyPurgerOptions) {}

  start(): void {
    if (this.timer) return;
    const every = this.options.everyMs ?? 600_000;
    void this.purge();
    this.timer = setInterval(() => void this.purge(), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /** One purge (also for tests): how many rows it deleted. Never throws (a failure is logged and retried next time). */
  purge(): Promise<number> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<number> {
    const { store, clock, logger, batch = 1000, maxBatches = 20 } = this.options;
    let total = 0;
    try {
      for (let i = 0; i < maxBatches; i++) {
        const n = await store.purgeIdempotencyKeys(clock.now() - IDEMPOTENCY_KEY_TTL_MS, batch);
        total += n;
        if (n < batch) break;
      }
    } catch (err) {
      logger.warn({ err }, 'purging old webhook Idempotency-Keys failed; retrying at the next purge');
    }
    return total;
  }
}
