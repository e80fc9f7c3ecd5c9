/**
 * Web Push delivery (issue 13), off the webhook's path: a post is answered 200 as soon as the
 * message is stored, and nothing here adds to its transaction. Two loops per node:
 *
 * 1. Fan-out. The messages table is the durable source of what to push. Per room, a cursor
 *    (push_cursors) says up to which seq pushes have been planned. Woken by `message.created` on
 *    the bus (any node's, through Redis in the distributed mode), by a slow scan for rooms whose
 *    last seq is past their cursor (missed events, a crash, a restart), the dispatcher claims the
 *    rooms' cursors, reads the new messages, picks the recipients (recipients.ts) and inserts one
 *    delivery per (subscription, message) into the outbox, moving the cursor in the same
 *    transaction. A crash before the commit redoes the work; after it, nothing is lost.
 * 2. Delivery. Due deliveries are claimed with a lease (next_attempt_at moves past it, so a crashed
 *    node's claims come back by themselves), sent at most `concurrency` at a time, and settled in
 *    batches: delivered ones deleted, failed ones rescheduled (retry.ts), gone subscriptions deleted.
 *
 * Across nodes, PostgreSQL's FOR UPDATE SKIP LOCKED makes every claim exclusive (store/push-store.ts):
 * each message is planned once and each delivery sent by one node at a time.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Clock, PresenceReader } from '../services/context.js';
import { type ClaimedDelivery, type DeliveryOutcomes, type FanOutRoom, type NewDelivery, type PushStore, isEmptyOutcomes } from '../store/push-store.js';
import { OncePerKey } from '../rate-limit/once-per-key.js';
import type { EndpointPolicy } from './endpoint-policy.js';
import { messagePayload } from './payload.js';
import { planPushes } from './recipients.js';
import { type Decision, type RetryPolicy, type SendResult, decide } from './retry.js';
import type { PushMessageRequest } from './sender.js';

export interface PushDispatcherOptions {
  /** Sends in flight at once on this node. */
  concurrency: number;
  /** How often due retries (and other nodes' new deliveries) are looked for. */
  pollIntervalMs: number;
  /** How often rooms behind their cursor are looked for (the safety net for missed events). */
  scanIntervalMs: number;
  /** Events within this window go into one fan-out transaction (bounds the writes under load). */
  fanOutDelayMs: number;
  /** A claimed delivery comes back to the outbox after this long if its node never settles it. */
  leaseMs: number;
  sendTimeoutMs: number;
  /** Push TTL; also the age past which a delivery (or a message not yet fanned out) is dropped. */
  ttlSeconds: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** On shutdown, how long in-flight sends may take to finish. */
  shutdownGraceMs: number;
  maxRoomsPerFanOut: number;
  maxMessagesPerRoom: number;
  /** In [0, 1), for the backoff's jitter. */
  random: () => number;
}

export const DEFAULT_PUSH_OPTIONS: PushDispatcherOptions = Object.freeze({
  concurrency: 8,
  pollIntervalMs: 1000,
  scanIntervalMs: 15_000,
  fanOutDelayMs: 100,
  leaseMs: 60_000,
  sendTimeoutMs: 10_000,
  ttlSeconds: 24 * 3600,
  maxAttempts: 10,
  retryBaseMs: 5000,
  retryMaxMs: 10 * 60_000,
  shutdownGraceMs: 5000,
  maxRoomsPerFanOut: 50,
  maxMessagesPerRoom: 200,
  random: Math.random,
});

/** Sends one push; PushSender in production (sender.ts). */
export interface PushTransport {
  send(message: PushMessageRequest): Promise<SendResult>;
  close(): void;
}

/** What the dispatcher logs through (pino's and Fastify's loggers both fit). */
export interface PushLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PushDispatcherDeps {
  store: PushStore;
  presence: PresenceReader;
  clock: Clock;
  logger: PushLogger;
  registry: Registry;
  policy: EndpointPolicy;
  transport: PushTransport;
  options?: Partial<PushDispatcherOptions>;
}

/** A room skipped because another node held its cursor is tried again this many times. */
const SKIPPED_RETRIES = 5;
const SKIPPED_RETRY_MS = 200;
const STORE_RETRY_MS = 1000;

/** Outcomes of sends that finish close together are written together (with the next claim, or after this). */
const SETTLE_DELAY_MS = 200;

const emptyOutcomes = (): DeliveryOutcomes => ({ finished: [], retry: [], released: [], goneSubscriptions: [] });

export class PushDispatcher {
  private readonly o: PushDispatcherOptions;
  private readonly retry: RetryPolicy;
  private readonly warnOnce: OncePerKey;
  private started = false;
  private stopping = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  // fan-out
  /** Rooms to fan out, with how often each was skipped as busy. */
  private readonly dirty = new Map<string, number>();
  private fanOutTimer: NodeJS.Timeout | undefined;
  private fanOutRun: Promise<void> | undefined;

  // delivery
  private readonly queue: ClaimedDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private moreDue = false;
  private startScheduled = false;
  /** Outcomes not written yet. */
  private pending = emptyOutcomes();
  private syncRun: Promise<void> | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  /** After a store failure, no new claim before this (Date.now()); the poll tries again. */
  private storeBackoffUntil = 0;

  private readonly metrics: {
    sends: Counter<'outcome'>;
    queued: Counter;
    duration: Histogram;
  };

  constructor(private readonly deps: PushDispatcherDeps) {
    this.o = { ...DEFAULT_PUSH_OPTIONS, ...deps.options };
    this.retry = {
      maxAttempts: this.o.maxAttempts,
      baseDelayMs: this.o.retryBaseMs,
      maxDelayMs: this.o.retryMaxMs,
      maxAgeMs: this.o.ttlSeconds * 1000,
      random: this.o.random,
    };
    this.warnOnce = new OncePerKey(deps.clock, 60_000);
    const registers = [deps.registry];
    const self = this;
    this.metrics = {
      sends: new Counter({
        name: 'carillon_push_sends_total',
        help: 'Web Push deliveries by outcome: delivered (2xx), retry (429, 5xx, network), gone (404/410: subscription removed), dropped (refused, expired or out of attempts)',
        labelNames: ['outcome'] as const,
        registers,
      }),
      queued: new Counter({ name: 'carillon_push_deliveries_queued_total', help: 'Push deliveries added to the outbox', registers }),
      duration: new Histogram({
        name: 'carillon_push_send_duration_seconds',
        help: 'Time for a push service to answer one push',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
    };
    new Gauge({
      name: 'carillon_push_in_flight',
      help: 'Pushes being sent by this node',
      registers,
      collect() {
        this.set(self.inFlight.size);
      },
    });
    new Gauge({
      name: 'carillon_push_outbox_deliveries',
      help: 'Push deliveries waiting in the outbox (all nodes), due or scheduled for a retry',
      registers,
      async collect() {
        try {
          this.set(await deps.store.countDeliveries());
        } catch {
          /* the store is away: keep the last value */
        }
      },
    });
    for (const outcome of ['delivered', 'retry', 'gone', 'dropped']) this.metrics.sends.labels(outcome).inc(0);
  }

  /** A message was stored in this room (on any node). */
  notify(roomId: string): void {
    if (!this.started || this.stopping) return;
    if (!this.dirty.has(roomId)) this.dirty.set(roomId, 0);
    this.scheduleFanOut(this.o.fanOutDelayMs);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.every(this.o.pollIntervalMs, () => this.wake());
    this.every(this.o.scanIntervalMs, () => void this.scan());
    // Catch up at once after a restart: rooms behind their cursor, deliveries due.
    void this.scan();
    this.wake();
  }

  /** Looks for due deliveries now (new ones were queued, or a retry's time may have come). */
  wake(): void {
    this.moreDue = true;
    this.pump();
  }

  /**
   * Stops claiming; claimed deliveries not yet sent go back to the outbox at once; in-flight sends
   * get `shutdownGraceMs` to finish (one still running after that comes back after its lease).
   */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.fanOutTimer) clearTimeout(this.fanOutTimer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    await this.fanOutRun;
    await this.syncRun;
    this.pending.released.push(...this.queue.splice(0).map((d) => d.id));
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise<void>((r) => (timer = setTimeout(r, this.o.shutdownGraceMs)))]);
      clearTimeout(timer);
    }
    await this.syncRun;
    if (!isEmptyOutcomes(this.pending)) await this.sync(false);
    this.deps.transport.close();
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private warn(key: string, obj: object, msg: string): void {
    if (this.warnOnce.allow(key)) this.deps.logger.warn(obj, msg);
  }

  // ---- fan-out ----

  private async scan(): Promise<void> {
    if (this.stopping) return;
    try {
      for (const id of await this.deps.store.roomsBehind(this.o.maxRoomsPerFanOut * 4)) if (!this.dirty.has(id)) this.dirty.set(id, 0);
      this.scheduleFanOut(0);
    } catch (err) {
      this.warn('scan', { err: errorSummary(err) }, 'push: looking for rooms with new messages failed; retrying');
    }
  }

  private scheduleFanOut(delayMs: number): void {
    if (this.fanOutTimer || this.fanOutRun || this.stopping || this.dirty.size === 0) return;
    this.fanOutTimer = setTimeout(() => {
      this.fanOutTimer = undefined;
      let failed = false;
      this.fanOutRun = this.fanOut()
        .catch((err: unknown) => {
          failed = true;
          this.warn('fan-out', { err: errorSummary(err) }, 'push: planning deliveries failed (store unavailable?); retrying');
        })
        .finally(() => {
          this.fanOutRun = undefined;
          this.scheduleFanOut(failed ? STORE_RETRY_MS : this.o.fanOutDelayMs);
        });
    }, delayMs);
    this.fanOutTimer.unref();
  }

  private async fanOut(): Promise<void> {
    const batch = [...this.dirty].slice(0, this.o.maxRoomsPerFanOut);
    for (const [id] of batch) this.dirty.delete(id);
    const now = this.deps.clock.now();
    let result;
    try {
      result = await this.deps.store.fanOut(
        batch.map(([id]) => id),
        { now, maxMessagesPerRoom: this.o.maxMessagesPerRoom, plan: (room) => this.plan(room, now) },
      );
    } catch (err) {
      // Nothing was committed: the rooms stay to do.
      for (const [id, skips] of batch) if (!this.dirty.has(id)) this.dirty.set(id, skips);
      throw err;
    }
    for (const id of result.more) this.dirty.set(id, 0);
    // Another node holds these rooms' cursors right now. It may have read the room before the
    // newest message was committed, so look again shortly (a few times, then the scan covers it).
    const skips = new Map(batch);
    for (const id of result.skipped) {
      const n = (skips.get(id) ?? 0) + 1;
      if (n > SKIPPED_RETRIES) continue;
      this.later(SKIPPED_RETRY_MS, () => {
        if (this.stopping || this.dirty.has(id)) return;
        this.dirty.set(id, n);
        this.scheduleFanOut(0);
      });
    }
    if (result.deliveries > 0) {
      this.metrics.queued.inc(result.deliveries);
      this.wake();
    }
  }

  /** The deliveries for a room's new messages (store.push.fanOut calls it while it holds the room's cursor). */
  private async plan(room: FanOutRoom, now: number): Promise<NewDelivery[]> {
    let present: ReadonlySet<string>;
    try {
      present = await this.deps.presence.presentUserIds(room.roomId);
    } catch {
      present = new Set();
    }
    const out: NewDelivery[] = [];
    for (const message of room.messages) {
      // After a long outage, old messages are not worth a notification (the push service would drop them too).
      if (now - message.createdAt > this.retry.maxAgeMs) continue;
      const pushes = planPushes(message, room.subscribed, present);
      if (pushes.length === 0) continue;
      const base = messagePayload(message, room.roomName);
      for (const p of pushes) {
        out.push({ subscriptionId: p.subscriptionId, messageId: message.id, payload: JSON.stringify({ ...base, alert: p.alert }), urgency: p.alert ? 'high' : 'normal' });
      }
    }
    return out;
  }

  // ---- delivery ----

  private pump(): void {
    if (!this.started || this.stopping) return;
    if (this.inFlight.size < this.o.concurrency && this.queue.length > 0 && !this.startScheduled) {
      // One send started per turn of the event loop: encrypting a push is ~0.3 ms of CPU, and
      // starting a whole batch at once would keep the requests that arrived meanwhile waiting.
      this.startScheduled = true;
      setImmediate(() => {
        this.startScheduled = false;
        if (this.stopping || this.inFlight.size >= this.o.concurrency) return;
        const next = this.queue.shift();
        if (next) this.startSend(next);
        this.pump();
      });
    }
    if (this.moreDue && !this.syncRun && this.queue.length === 0 && this.inFlight.size < this.o.concurrency && Date.now() >= this.storeBackoffUntil) {
      void this.sync(true);
    }
  }

  /**
   * Writes the outcomes recorded so far and, with `claim`, takes the next due deliveries, in one
   * transaction (a commit per batch of sends, not per send).
   */
  private sync(claim: boolean): Promise<void> {
    if (this.syncRun) return this.syncRun;
    if (this.settleTimer) {
      clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
    }
    const batch = this.pending;
    this.pending = emptyOutcomes();
    const take = claim && !this.stopping;
    if (take) this.moreDue = false;
    // Several batches ahead of the free slots: the next sends are ready when these finish.
    const limit = 4 * this.o.concurrency;
    let failed = false;
    this.syncRun = this.deps.store
      .settleAndClaim(batch, this.deps.clock.now(), take ? { leaseMs: this.o.leaseMs, limit } : undefined)
      .then(
        (claimed) => {
          this.queue.push(...claimed);
          if (take && claimed.length === limit) this.moreDue = true;
        },
        (err: unknown) => {
          failed = true;
          // Kept for the next try; if the store stays away past the lease, the rows are simply sent again.
          for (const k of ['finished', 'released', 'goneSubscriptions'] as const) this.pending[k].push(...batch[k]);
          this.pending.retry.push(...batch.retry);
          if (take) this.moreDue = true;
          this.storeBackoffUntil = Date.now() + STORE_RETRY_MS;
          this.warn('sync', { err: errorSummary(err) }, 'push: reading or updating the outbox failed (store unavailable?); retrying');
        },
      )
      .finally(() => {
        this.syncRun = undefined;
        if (!isEmptyOutcomes(this.pending)) this.scheduleSettle(failed ? STORE_RETRY_MS : SETTLE_DELAY_MS);
        this.pump();
      });
    return this.syncRun;
  }

  private startSend(d: ClaimedDelivery): void {
    const p = this.send(d)
      .catch((err: unknown) => this.deps.logger.error({ err }, 'push: sending failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(p);
        this.pump();
      });
    this.inFlight.add(p);
  }

  private async send(d: ClaimedDelivery): Promise<void> {
    const now = this.deps.clock.now();
    const age = now - d.createdAt;
    if (age > this.retry.maxAgeMs) return this.record(d, { action: 'dropped', reason: 'older than its TTL' });
    // Checked again at send time: PUSH_ENDPOINT_HOSTS may have shrunk since it was saved.
    if (!this.deps.policy.check(d.subscription.endpoint).ok) {
      this.deps.logger.warn({ pushService: safeOrigin(d.subscription.endpoint) }, 'push: subscription endpoint no longer allowed by PUSH_ENDPOINT_HOSTS; removed');
      return this.record(d, { action: 'gone', status: 0 });
    }
    const started = performance.now();
    const result = await this.deps.transport.send({
      endpoint: d.subscription.endpoint,
      p256dh: d.subscription.p256dh,
      auth: d.subscription.auth,
      payload: d.payload,
      urgency: d.urgency,
      ttlSeconds: Math.max(0, Math.floor((this.retry.maxAgeMs - age) / 1000)),
    });
    this.metrics.duration.observe((performance.now() - started) / 1000);
    this.record(d, decide(result, d, this.deps.clock.now(), this.retry));
  }

  private record(d: ClaimedDelivery, decision: Decision): void {
    this.metrics.sends.labels(decision.action).inc();
    const origin = safeOrigin(d.subscription.endpoint);
    switch (decision.action) {
      case 'delivered':
        this.pending.finished.push(d.id);
        break;
      case 'gone':
        this.pending.goneSubscriptions.push(d.subscription.id);
        if (decision.status !== 0) this.deps.logger.info({ pushService: origin, status: decision.status }, 'push: the push service says the subscription is gone; removed');
        break;
      case 'retry':
        this.pending.retry.push({ id: d.id, at: decision.at });
        this.warn(`retry ${origin}`, { pushService: origin, reason: decision.reason, attempts: d.attempts }, 'push: send failed; will retry');
        break;
      case 'dropped':
        this.pending.finished.push(d.id);
        this.warn(`dropped ${origin}`, { pushService: origin, reason: decision.reason, attempts: d.attempts }, 'push: delivery dropped');
        break;
    }
    // Written with the next claim, or after SETTLE_DELAY_MS when no claim comes first.
    this.scheduleSettle(SETTLE_DELAY_MS);
  }

  private scheduleSettle(delayMs: number): void {
    if (this.settleTimer || this.stopping) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      if (this.syncRun) return; // its finally schedules again
      void this.sync(false);
    }, delayMs);
    this.settleTimer.unref();
  }
}

/** The push service's origin, for logs: the full endpoint is a capability and is never logged. */
function safeOrigin(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return 'invalid';
  }
}

function errorSummary(err: unknown): { message: string; code?: string } {
  const e = err as { message?: unknown; code?: unknown };
  return { message: String(e?.message ?? err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
}
